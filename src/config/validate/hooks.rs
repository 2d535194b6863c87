//! Checks of hooks.yaml.

use super::*;

pub(super) fn check_hooks(
    ck: &mut Checker,
    (src, f): &(Source, HooksFile),
    envs: &EnvFile,
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
                if task.timeout == Some(0) {
                    ck.at(
                        src,
                        &at("timeout"),
                        "0 is not a timeout; expected seconds >= 1",
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
