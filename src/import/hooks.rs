//! Seed 001 §4.2's layered hooks (`layered_init_hooks`,
//! `layered_post_hooks`, `layered_custom_hooks`) as `hooks.yaml`: init tasks
//! become setup tasks of their stage, post tasks teardown tasks, custom
//! tasks background tasks; tasks that duplicate a built-in are left out
//! with a comment in their place.

use super::{builtin, ImportError};
use crate::config::{HookTarget, HookTask, When};
use serde::Deserialize;
use std::fmt::Write;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedHooks {
    #[serde(default)]
    layered_init_hooks: Vec<SeedTask>,
    #[serde(default)]
    layered_post_hooks: Vec<SeedTask>,
    #[serde(default)]
    layered_custom_hooks: Vec<SeedTask>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedTask {
    name: String,
    stage: String,
    #[serde(default)]
    targets: Targets,
    cmd: String,
    output: Option<String>,
    #[serde(default)]
    context_required: Vec<String>,
    condition: Option<String>,
    timeout: Option<u32>,
    #[serde(default)]
    ignore_errors: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum Targets {
    #[default]
    Unset,
    One(String),
    Many(Vec<String>),
}

const STAGES: [&str; 4] = ["global", "tool", "case", "test"];

/// One entry of a layer's list: a task, or the comment left for a seed
/// task that is not copied or was changed.
enum Entry {
    Task(HookTask, Option<String>),
    Skipped(String),
}

fn on(t: &Targets, at: &str) -> Result<HookTarget, String> {
    let names: Vec<&str> = match t {
        Targets::Unset => return Ok(HookTarget::Both),
        Targets::One(s) => vec![s.as_str()],
        Targets::Many(v) => v.iter().map(String::as_str).collect(),
    };
    let server = names
        .iter()
        .any(|n| matches!(*n, "server" | "all" | "both"));
    let client = names
        .iter()
        .any(|n| matches!(*n, "client" | "all" | "both"));
    if let Some(bad) = names
        .iter()
        .find(|n| !matches!(**n, "server" | "client" | "all" | "both"))
    {
        return Err(format!(
            "{at}: target `{bad}` is not server, client, both or all"
        ));
    }
    Ok(match (server, client) {
        (true, false) => HookTarget::Server,
        (false, true) => HookTarget::Client,
        _ => HookTarget::Both,
    })
}

fn when(t: &SeedTask, at: &str) -> Result<When, String> {
    let needs_ebpf = t
        .context_required
        .iter()
        .any(|c| crate::config::EBPF_HOOK_PLACEHOLDERS.contains(&c.as_str()));
    let said = match t.condition.as_deref().map(|c| c.split_whitespace().collect::<Vec<_>>().join(" ")) {
        None => None,
        Some(c) if c == "ebpf_command is not None" => Some(When::Ebpf),
        Some(c) if c == "ebpf_command is None" => Some(When::Baseline),
        Some(c) => {
            return Err(format!(
                "{at}: condition `{c}` is not understood; ebpf-perf knows `ebpf_command is not None` (when: ebpf) and `ebpf_command is None` (when: baseline)"
            ))
        }
    };
    Ok(match said {
        Some(w) => w,
        None if needs_ebpf => When::Ebpf,
        None => When::Always,
    })
}

/// `hooks.yaml` from a seed hooks file's text.
pub fn convert(text: &str, source: &str) -> Result<(String, usize, usize), ImportError> {
    let seed: SeedHooks = crate::yaml::from_str(text).map_err(|e| ImportError::Parse {
        file: source.to_string(),
        why: e.to_string(),
    })?;
    // layers[stage][0] setup, [1] teardown
    let mut layers: Vec<[Vec<Entry>; 2]> = (0..4).map(|_| [Vec::new(), Vec::new()]).collect();
    let mut problems = Vec::new();
    let (mut copied, mut skipped) = (0, 0);
    for (list, tasks, phase, background) in [
        ("layered_init_hooks", &seed.layered_init_hooks, 0, false),
        ("layered_custom_hooks", &seed.layered_custom_hooks, 0, true),
        ("layered_post_hooks", &seed.layered_post_hooks, 1, false),
    ] {
        for (i, t) in tasks.iter().enumerate() {
            let at = format!("{source}: {list}[{i}] `{}`", t.name);
            let Some(stage) = STAGES.iter().position(|s| *s == t.stage) else {
                problems.push(format!(
                    "{at}: stage `{}` is not one of global, tool, case, test",
                    t.stage
                ));
                continue;
            };
            let place = format!("seed {list}[{i}] `{}` (stage {})", t.name, t.stage);
            if let Some(why) = builtin::replaced_by(&t.cmd) {
                layers[stage][phase].push(Entry::Skipped(format!("{place}: not copied: {why}")));
                skipped += 1;
                continue;
            }
            let (on, when) = match (on(&t.targets, &at), when(t, &at)) {
                (Ok(o), Ok(w)) => (o, w),
                (Err(e), _) | (_, Err(e)) => {
                    problems.push(e);
                    continue;
                }
            };
            let mut task = HookTask {
                name: t.name.clone(),
                on,
                run: t.cmd.clone(),
                when,
                timeout: t.timeout,
                ignore_errors: t.ignore_errors,
                output: t.output.clone(),
                background,
            };
            // A case task that needs the running program starts once it has
            // loaded: that is a background task in ebpf-perf.
            let mut note = None;
            if phase == 0 && !background && t.stage == "case" && task.uses_ebpf() {
                task.background = true;
                task.timeout = None;
                note = Some(format!("{place}: needs the running program, so it is a background task, started once the program has loaded"));
            }
            if task.background && task.timeout.take().is_some() {
                note = Some(format!(
                    "{place}: a background task runs until its layer ends; its timeout is dropped"
                ));
            }
            layers[stage][phase].push(Entry::Task(task, note));
            copied += 1;
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Invalid(problems));
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Imported by `ebpf-perf import` from {} (seed 001 §4.2 layered hooks):\n\
         # layered_init_hooks became setup tasks of their stage, layered_post_hooks\n\
         # teardown tasks, layered_custom_hooks background tasks; `condition` became\n\
         # `when`. Seed tasks that ebpf-perf does itself are comments in their place.\n\
         hooks:",
        crate::untrusted::yaml_comment(source)
    );
    for (stage, phases) in STAGES.iter().zip(&layers) {
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
                match e {
                    Entry::Skipped(c) => {
                        let _ = writeln!(s, "      # {}", crate::untrusted::yaml_comment(c));
                    }
                    Entry::Task(t, note) => {
                        if let Some(n) = note {
                            let _ = writeln!(s, "      # {}", crate::untrusted::yaml_comment(n));
                        }
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
        }
    }
    Ok((s, copied, skipped))
}
