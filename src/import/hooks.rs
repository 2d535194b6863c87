//! Seed 001 §4.2's layered hooks as `hooks.yaml`: init tasks become setup
//! tasks of their stage, post tasks teardown tasks, custom (monitoring)
//! tasks background tasks. Tasks that duplicate a built-in, or read a file
//! that only such a task wrote, are left out with a comment in their place.
//! Every copied task runs in bash (`shell: bash`): the seed sent its
//! commands over SSH to the login shell, and uses bash's brace expansion.

use super::hook_seed::{self, SeedTask, Targets, LISTS, STAGES};
use super::{builtin, hook_rewrite, ImportError};
use crate::config::{HookTarget, HookTask, Shell, When, EBPF_HOOK_PLACEHOLDERS};
use std::collections::HashMap;
use std::fmt::Write;

/// One entry of a layer's list: a task, or the comment left for a seed
/// task that is not copied or was changed.
enum Entry {
    Task(HookTask, Vec<String>),
    Skipped(String),
}

fn on(t: &Targets, at: &str) -> Result<HookTarget, String> {
    let names: Vec<&str> = match t {
        Targets::Unset => return Ok(HookTarget::Both),
        Targets::One(s) => vec![s.as_str()],
        Targets::Many(v) => v.iter().map(String::as_str).collect(),
    };
    if let Some(bad) = names
        .iter()
        .find(|n| !matches!(**n, "server" | "client" | "all" | "both"))
    {
        return Err(format!(
            "{at}: target `{bad}` is not server, client, both or all"
        ));
    }
    let any = |side: &str| {
        names
            .iter()
            .any(|n| matches!(*n, "all" | "both") || *n == side)
    };
    Ok(match (any("server"), any("client")) {
        (true, false) => HookTarget::Server,
        (false, true) => HookTarget::Client,
        _ => HookTarget::Both,
    })
}

/// The seed's `condition` as `when`: `ebpf_command is not None` (or
/// `ebpf_pid`, or `!= None`) runs in eBPF cycles only, `… is None` in
/// baselines only. Without one, a task that uses the running program runs
/// in eBPF cycles, any other always (the seed's `context_required` lists
/// what a stage offers, not when its tasks run).
fn when(t: &SeedTask, uses_ebpf: bool) -> Result<When, String> {
    let Some(c) = &t.condition else {
        return Ok(if uses_ebpf { When::Ebpf } else { When::Always });
    };
    let words: Vec<&str> = c.split_whitespace().collect();
    let said = match words.as_slice() {
        [n, "is", "not", "None"] | [n, "!=", "None"] => Some((*n, When::Ebpf)),
        [n, "is", "None"] | [n, "==", "None"] => Some((*n, When::Baseline)),
        _ => None,
    };
    match said {
        Some((n, w)) if EBPF_HOOK_PLACEHOLDERS.contains(&n.trim_matches(['{', '}'])) => Ok(w),
        _ => Err(format!(
            "{}: condition `{}` is not understood; ebpf-perf knows `ebpf_command is not None` \
             or `ebpf_pid is not None` (when: ebpf) and `ebpf_command is None` (when: baseline)",
            t.at,
            words.join(" ")
        )),
    }
}

/// Why each task is left out (`None`: copied), and notes on copied ones.
/// A task that reads a `{timestamp}` file which only left-out tasks write
/// is left out too, until no more are: its file came from a task that
/// ebpf-perf replaces. One that reads a file no imported task writes gets a
/// note: it may be its own output (`-o`), or come from a task not imported.
/// Linear in the files the tasks name: each task is left out at most once.
fn left_out(tasks: &[SeedTask]) -> (Vec<Option<String>>, Vec<Option<String>>) {
    let mut why: Vec<Option<String>> = tasks
        .iter()
        .map(|t| builtin::replaced_by(&t.cmd).map(str::to_string))
        .collect();
    // Files by number; per file: its writers, how many of them are copied,
    // its readers; per task: the files it writes and reads.
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut id = |f: String| {
        *ids.entry(f.clone()).or_insert_with(|| {
            names.push(f);
            names.len() - 1
        })
    };
    let mut writes: Vec<Vec<usize>> = Vec::new();
    let mut reads: Vec<Vec<usize>> = Vec::new();
    for t in tasks {
        let (mut w, r) = hook_rewrite::timestamp_files(&t.cmd);
        w.extend(t.output.clone());
        writes.push(w.into_iter().map(&mut id).collect());
        reads.push(r.into_iter().map(&mut id).collect());
    }
    let n = names.len();
    let (mut writers, mut copied, mut readers) =
        (vec![Vec::new(); n], vec![0usize; n], vec![Vec::new(); n]);
    for (i, (w, r)) in writes.iter().zip(&reads).enumerate() {
        for &f in w {
            writers[f].push(i);
            copied[f] += usize::from(why[i].is_none());
        }
        for &f in r {
            readers[f].push(i);
        }
    }
    let mut queue: Vec<usize> = (0..n)
        .filter(|&f| copied[f] == 0 && !writers[f].is_empty())
        .collect();
    while let Some(f) = queue.pop() {
        let mut by: Vec<String> = writers[f]
            .iter()
            .take(3)
            .map(|&j| format!("`{}`", tasks[j].name))
            .collect();
        if writers[f].len() > 3 {
            by.push(format!("{} more", writers[f].len() - 3));
        }
        let reason = format!(
            "it reads {}, which only the seed's {} wrote, and that is not copied",
            names[f],
            by.join(", ")
        );
        for &i in &readers[f] {
            if why[i].is_some() {
                continue;
            }
            why[i] = Some(reason.clone());
            // What it writes has one copied writer fewer.
            for &g in &writes[i] {
                copied[g] -= 1;
                if copied[g] == 0 {
                    queue.push(g);
                }
            }
        }
    }
    let notes = (0..tasks.len())
        .map(|i| {
            let f = reads[i].iter().find(|&&f| writers[f].is_empty())?;
            why[i]
                .is_none()
                .then(|| format!("it reads {}, which no imported task writes", names[*f]))
        })
        .collect();
    (why, notes)
}

/// A copied seed task as a hooks.yaml task, with notes on what changed.
fn task(t: &SeedTask, background: bool) -> Result<(HookTask, Vec<String>), String> {
    let mut notes = Vec::new();
    let mut task = HookTask {
        name: t.name.clone(),
        on: on(&t.targets, &t.at)?,
        run: t.cmd.clone(),
        when: When::Always,
        timeout: t.timeout,
        ignore_errors: t.ignore_errors,
        output: t.output.clone(),
        background,
        shell: Shell::Bash,
    };
    task.when = when(t, task.uses_ebpf())?;
    if let Some((run, names)) = hook_rewrite::through_env(&task.run) {
        task.run = run;
        let shown: Vec<String> = names
            .iter()
            .map(|n| format!("{{{n}}} as ${}", hook_rewrite::var(n)))
            .collect();
        notes.push(format!(
            "placeholders inside quotes pass through the environment: {}",
            shown.join(", ")
        ));
    }
    // A case task that needs the running program starts once it has
    // loaded: that is a background task in ebpf-perf.
    if !background && t.list == 0 && STAGES[t.stage] == "case" && task.uses_ebpf() {
        task.background = true;
        task.timeout = None;
        notes.push("needs the running program, so it is a background task, started once the program has loaded".into());
    }
    if task.background && task.timeout.take().is_some() {
        notes.push("a background task runs until its layer ends; its timeout is dropped".into());
    }
    Ok((task, notes))
}

/// `hooks.yaml` from seed hooks files' `(text, name)`; also the number of
/// tasks copied and left out.
pub fn convert(files: &[(String, String)]) -> Result<(String, usize, usize), ImportError> {
    let mut problems = Vec::new();
    let mut tasks = Vec::new();
    for (text, source) in files {
        tasks.extend(hook_seed::read(text, source, &mut problems)?);
    }
    tasks.sort_by_key(|t| t.list);
    let (why, file_notes) = left_out(&tasks);
    // layers[stage][0] setup, [1] teardown
    let mut layers: Vec<[Vec<Entry>; 2]> = (0..4).map(|_| [Vec::new(), Vec::new()]).collect();
    let (mut copied, mut skipped) = (0, 0);
    for ((t, why), file_note) in tasks.iter().zip(why).zip(file_notes) {
        let phase = usize::from(LISTS[t.list] == "layered_post_hooks");
        let place = format!(
            "seed {} (stage {})",
            t.at.split_once(": ").map_or(&*t.at, |(_, a)| a),
            STAGES[t.stage]
        );
        let entry = match why {
            Some(why) => {
                skipped += 1;
                Entry::Skipped(format!("{place}: not copied: {why}"))
            }
            None => match task(t, LISTS[t.list] == "layered_custom_hooks") {
                Ok((task, mut notes)) => {
                    copied += 1;
                    notes.extend(file_note);
                    Entry::Task(
                        task,
                        notes.iter().map(|n| format!("{place}: {n}")).collect(),
                    )
                }
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            },
        };
        layers[t.stage][phase].push(entry);
    }
    if !problems.is_empty() {
        return Err(ImportError::Invalid(problems));
    }
    let sources: Vec<&str> = files.iter().map(|(_, s)| s.as_str()).collect();
    Ok((write(&sources.join(", "), &layers)?, copied, skipped))
}

fn write(source: &str, layers: &[[Vec<Entry>; 2]]) -> Result<String, ImportError> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Imported by `ebpf-perf import` from {} (seed 001 §4.2 layered hooks):\n\
         # layered_init_hooks became setup tasks of their stage, layered_post_hooks\n\
         # teardown tasks, layered_custom_hooks background tasks; `condition` became\n\
         # `when`. Every task runs in bash, as the seed's did through SSH. Seed tasks\n\
         # that ebpf-perf does itself are comments in their place.\n\
         hooks:",
        crate::untrusted::yaml_comment(source)
    );
    for (stage, phases) in STAGES.iter().zip(layers) {
        if phases.iter().all(Vec::is_empty) {
            continue;
        }
        let _ = writeln!(s, "  {stage}:");
        for (phase, entries) in ["setup", "teardown"].iter().zip(phases) {
            if entries.is_empty() {
                continue;
            }
            let tasks = entries.iter().any(|e| matches!(e, Entry::Task(..)));
            let _ = writeln!(s, "    {phase}:{}", if tasks { "" } else { " []" });
            for e in entries {
                let (comments, task) = match e {
                    Entry::Skipped(c) => (std::slice::from_ref(c), None),
                    Entry::Task(t, notes) => (notes.as_slice(), Some(t)),
                };
                for c in comments {
                    let _ = writeln!(s, "      # {}", crate::untrusted::yaml_comment(c));
                }
                let Some(t) = task else { continue };
                let yaml = crate::yaml::to_string(t).map_err(|e| ImportError::Parse {
                    file: source.to_string(),
                    why: e.to_string(),
                })?;
                for (k, line) in yaml.lines().enumerate() {
                    let lead = if k == 0 { "- " } else { "  " };
                    let _ = writeln!(s, "      {lead}{line}");
                }
            }
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::convert;

    /// A chain of tasks, each reading the file the one before wrote, after
    /// one that starts the program: every one is left out, each naming its
    /// file, and the work stays linear in the chain's length.
    #[test]
    fn a_chain_of_tasks_on_a_left_out_task_is_left_out_link_by_link() {
        let n = 5000;
        let mut y =
            String::from("layered_init_hooks:\n  case_init:\n    stage: case\n    tasks:\n");
        y.push_str("      - {name: t0, cmd: \"{ebpf_command} > {result_path}/f0_{timestamp}\"}\n");
        for i in 1..n {
            y.push_str(&format!(
                "      - {{name: t{i}, cmd: \"cat {{result_path}}/f{}_{{timestamp}} > {{result_path}}/f{i}_{{timestamp}}\"}}\n",
                i - 1
            ));
        }
        y.push_str("      - {name: free, cmd: \"cat {result_path}/elsewhere_{timestamp}\"}\n");
        let (text, copied, skipped) = convert(&[(y, "chain.yaml".into())]).unwrap();
        assert_eq!((copied, skipped), (1, n));
        let last = format!("`t{}` (stage case): not copied: it reads {{result_path}}/f{}_{{timestamp}}, which only the seed's `t{}` wrote", n - 1, n - 2, n - 2);
        assert!(text.contains(&last), "{last}");
        assert!(text.contains("`free` (stage case): it reads {result_path}/elsewhere_{timestamp}, which no imported task writes"));
    }
}
