//! Checks of hooks.yaml.

use super::*;

/// How a command kills by name, if it does: `pkill`, `killall`, or `kill`
/// fed by `pgrep`/`pidof`.
pub fn kills_by_name(cmd: &str) -> Option<&'static str> {
    let words: Vec<&str> = cmd
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.contains(&w);
    if has("pkill") {
        Some("pkill")
    } else if has("killall") {
        Some("killall")
    } else if has("kill") && has("pgrep") {
        Some("kill with pgrep")
    } else if has("kill") && has("pidof") {
        Some("kill with pidof")
    } else {
        None
    }
}

pub(super) fn check_hooks(
    ck: &mut Checker,
    (src, f): &(Source, HooksFile),
    envs: &EnvFile,
    lab: bool,
) -> Hooks {
    let vars = common_vars(envs.test_environments.values());
    let h = &f.hooks;
    for (layer, lh) in [
        ("global", &h.global),
        ("tool", &h.tool),
        ("case", &h.case),
        ("test", &h.test),
    ] {
        let names = hook_placeholders(layer);
        let known = |n: &str| names.contains(&n) || (layer != "global" && vars.contains(n));
        for (phase, tasks) in [("setup", &lh.setup), ("teardown", &lh.teardown)] {
            let mut seen = HashSet::new();
            for (i, task) in tasks.iter().enumerate() {
                let idx = format!("[{i}]");
                let at = |k: &'static str| ["hooks", layer, phase, idx.as_str(), k];
                let base = at("name");
                if task.name.trim().is_empty() {
                    ck.at(src, &base, "is empty; expected a task name");
                } else if !seen.insert(task.name.as_str()) {
                    ck.at(
                        src,
                        &base,
                        format!(
                            "{:?} is used twice in {layer}.{phase}; results are saved by name",
                            task.name
                        ),
                    );
                }
                ck.template(src, &at("run"), &task.run, &known);
                if let Some(out) = &task.output {
                    if out.trim().is_empty() {
                        ck.at(src, &at("output"), "is empty; expected a remote file path");
                    } else {
                        ck.template(src, &at("output"), out, &known);
                    }
                }
                for (key, message) in placement_problems(layer, phase, task) {
                    ck.at(src, &at(key), message);
                }
                if let Some(how) = kills_by_name(&task.run) {
                    if lab {
                        ck.at(
                            src,
                            &at("run"),
                            format!(
                                "kills processes by name ({how}): refused for the lab, whose hosts share \
                                 this machine's process table, so a name matches processes that are not \
                                 ours; ebpf-perf stops what it starts by PID: drop the line, or stop your \
                                 own process by the PID you recorded"
                            ),
                        );
                    } else {
                        ck.warn(
                            src,
                            &at("run"),
                            format!(
                                "kills processes by name ({how}): on a shared host this also ends other \
                                 people's processes; ebpf-perf stops what it starts by PID"
                            ),
                        );
                    }
                }
                if task.timeout == Some(0) {
                    ck.at(
                        src,
                        &at("timeout"),
                        "0 is not a timeout; expected seconds >= 1",
                    );
                }
                if layer == "case" && task.when == When::Baseline {
                    ck.warn(
                        src,
                        &at("when"),
                        "a baseline paired with eBPF trials is measured inside each eBPF case, its tool \
                         stopped, so this case task runs only for a baseline measured alone (no eBPF \
                         trial of its environment selected, --calibrate); a test task with \
                         `when: baseline` runs before every baseline block",
                    );
                }
                if layer == "global" && task.when != When::Always {
                    ck.at(
                        src,
                        &at("when"),
                        "global tasks run once per session; `when` applies to case and test tasks",
                    );
                }
            }
        }
    }
    h.clone()
}

/// What is wrong with where a task stands, as (key, message) pairs.
/// A background task runs from the end of its layer's setup to the start of
/// its teardown: it belongs under setup, and it has no timeout.
/// `{ebpf_pid}`/`{ebpf_command}` exist only while an eBPF cycle's program runs.
fn placement_problems(layer: &str, phase: &str, task: &HookTask) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if task.background && phase == "teardown" {
        out.push((
            "background",
            format!(
                "a background task starts after the {layer} layer's setup and is stopped before its \
                 teardown; list it under {layer}.setup"
            ),
        ));
    }
    if task.background && task.timeout.is_some() {
        out.push((
            "timeout",
            "a background task runs until its layer ends and is then stopped by PID; drop the timeout"
                .into(),
        ));
    }
    if !task.uses_ebpf() || layer == "global" || layer == "tool" {
        return out;
    }
    if task.when != When::Ebpf {
        out.push((
            "run",
            "uses {ebpf_pid} or {ebpf_command}, which only eBPF cycles have; add `when: ebpf`"
                .into(),
        ));
    }
    if layer == "case" && phase == "setup" && !task.background {
        out.push((
            "run",
            "uses {ebpf_pid} or {ebpf_command}, but case setup tasks run before the eBPF program \
             starts; make it `background: true` (started once the program runs) or a test task"
                .into(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    #[rstest]
    #[case("pkill -f iperf3", Some("pkill"))]
    #[case("sudo killall -9 netserver", Some("killall"))]
    #[case("kill $(pgrep -f 'python.*ebpf')", Some("kill with pgrep"))]
    #[case("pidof bpftrace | xargs kill", Some("kill with pidof"))]
    #[case("kill -TERM \"$(cat {result_dir}/collector.pid)\"", None)]
    #[case("echo skill; ls killed/", None)]
    #[case("pgrep -a bpftrace", None)]
    fn kills_by_name(#[case] cmd: &str, #[case] want: Option<&str>) {
        assert_eq!(super::kills_by_name(cmd), want);
    }
}
