//! What the selected trials run on each host: each test's server command
//! (and sar for pps) on its server, its client command on its client, and
//! each eBPF case's command where the case runs. A run checks each host for
//! these; `hosts check` for everything the configuration could run there.

use crate::config::Config;
use crate::matrix::Matrix;
use std::collections::{BTreeMap, BTreeSet};

/// Tools every host needs for the performance tests.
pub const REQUIRED_TOOLS: &[&str] = &["iperf3", "netperf", "netserver", "sar", "bpftrace"];

/// The program a command template runs: its first word after any `VAR=value`
/// assignments, unless that word is a placeholder.
fn program_of(template: &str) -> Option<&str> {
    template
        .split_whitespace()
        .find(|w| !w.contains('='))
        .filter(|w| !w.contains('{'))
}

/// The hosts an eBPF case with `target` runs on, in an environment with
/// these server and client hosts.
fn case_hosts<'a>(
    target: crate::config::Target,
    server: &'a str,
    client: &'a str,
) -> impl Iterator<Item = &'a str> {
    use crate::config::Target;
    let on_server = matches!(target, Target::Server | Target::Both);
    let on_client = matches!(target, Target::Client | Target::Both);
    on_server
        .then_some(server)
        .into_iter()
        .chain(on_client.then_some(client))
}

/// Per host, the programs the selected trials run there: each test's server
/// command (and sar for pps) on its server, its client command on its
/// client, and each selected case's eBPF command where it runs.
pub fn needed_tools(
    cfg: &Config,
    matrix: &Matrix,
    selected: &[usize],
) -> BTreeMap<String, BTreeSet<String>> {
    let mut need: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut add = |host: &str, template: &str| {
        if let Some(p) = program_of(template) {
            need.entry(host.to_string())
                .or_default()
                .insert(p.to_string());
        }
    };
    for &t in selected {
        let trial = &matrix.trials[t];
        let cycle = matrix.cycle_of(trial);
        let Some(env) = cfg.environments.get(&cycle.env) else {
            continue;
        };
        let (server, client) = (env.server.ssh_ref.as_str(), env.client.ssh_ref.as_str());
        if let Some(plan) = crate::perf::plan(&cfg.perf, &trial.variant) {
            add(server, &plan.server_cmd);
            add(client, &plan.client_cmd);
            if let (crate::domain::Variant::Pps { .. }, Some(sar)) = (&trial.variant, &plan.sar_cmd)
            {
                add(server, sar);
            }
        }
        if let Some(c) = &cycle.case {
            for host in case_hosts(c.case.target, server, client) {
                add(host, &c.case.command);
            }
        }
        for shell in hook_shells(cfg) {
            add(server, shell);
            add(client, shell);
        }
    }
    need
}

/// The shells beyond `sh` that hook tasks run in (`shell: bash`).
fn hook_shells(cfg: &Config) -> BTreeSet<&'static str> {
    let h = &cfg.hooks;
    [&h.global, &h.tool, &h.case, &h.test]
        .into_iter()
        .flat_map(|l| l.setup.iter().chain(&l.teardown))
        .filter_map(|t| t.shell.program())
        .collect()
}

/// The program of every eBPF command that runs on `host`, in any pool.
fn ebpf_programs(cfg: &Config, host: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tool in cfg.tools.values() {
        for env_name in &tool.environments {
            let Some(env) = cfg.environments.get(env_name) else {
                continue;
            };
            for (case, (server, client)) in tool
                .cases
                .iter()
                .flat_map(|c| env.pairs().into_iter().map(move |p| (c, p)))
            {
                let runs_here =
                    case_hosts(case.target, &server.ssh_ref, &client.ssh_ref).any(|h| h == host);
                if let Some(p) = program_of(&case.command).filter(|_| runs_here) {
                    if !out.iter().any(|o| o == p) {
                        out.push(p.to_string());
                    }
                }
            }
        }
    }
    out
}

/// Everything the configuration could run on `host`.
pub fn all_tools(cfg: &Config, host: &str) -> Vec<String> {
    let mut tools: Vec<String> = REQUIRED_TOOLS.iter().map(|s| s.to_string()).collect();
    tools.extend(ebpf_programs(cfg, host));
    tools.extend(hook_shells(cfg).into_iter().map(String::from));
    tools
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_config() -> (Config, Matrix) {
        let cfg = crate::config::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config"
        )))
        .unwrap();
        let m = crate::matrix::build(&cfg);
        (cfg, m)
    }

    fn need(terms: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
        need_on(None, terms)
    }

    /// [`need`] with the environments on `pool`.
    fn need_on(pool: Option<usize>, terms: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
        let (mut cfg, m) = default_config();
        if let Some(p) = pool {
            cfg.use_pool(p);
        }
        let f = crate::filter::Filter {
            terms: terms.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let sel: Vec<usize> = (0..m.trials.len())
            .filter(|&i| f.matches(&m.trials[i].name))
            .collect();
        needed_tools(&cfg, &m, &sel)
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_host_needs_what_its_role_in_the_selection_runs() {
        let n = need(&["baseline", "host", "latency"]);
        assert_eq!(n["host-server"], set(&["netserver"]));
        assert_eq!(n["host-client"], set(&["netperf"]));
        assert!(!n.contains_key("vm-server"), "{n:?}");
        let n = need(&["baseline", "host", "pps"]);
        assert_eq!(n["host-server"], set(&["iperf3", "sar"]));
        assert_eq!(n["host-client"], set(&["iperf3"]));
        // An eBPF case adds its program where it runs.
        let n = need(&["case_3", "latency"]);
        assert!(n["host-server"].contains("bpftrace"), "{n:?}");
    }

    #[test]
    fn pool_two_hosts_need_what_pool_one_hosts_need() {
        let n = need_on(Some(2), &["case_3", "latency"]);
        assert_eq!(
            n.keys().collect::<Vec<_>>(),
            ["host-client-2", "host-server-2"],
            "{n:?}"
        );
        assert!(n["host-server-2"].contains("bpftrace"), "{n:?}");
        // `hosts check` knows what any pool's host could run.
        let (cfg, _) = default_config();
        assert_eq!(
            all_tools(&cfg, "host-server-2"),
            all_tools(&cfg, "host-server")
        );
    }

    #[test]
    fn a_hook_task_in_bash_needs_bash_on_both_hosts() {
        let (mut cfg, m) = default_config();
        let sel: Vec<usize> = (0..m.trials.len()).collect();
        assert!(!needed_tools(&cfg, &m, &sel)["host-server"].contains("bash"));
        cfg.hooks.tool.teardown.push(crate::config::HookTask {
            name: "braces".into(),
            on: crate::config::HookTarget::Server,
            run: "mkdir -p {workdir}/{a,b}".into(),
            when: crate::config::When::Always,
            timeout: None,
            ignore_errors: false,
            output: None,
            background: false,
            shell: crate::config::Shell::Bash,
        });
        let n = needed_tools(&cfg, &m, &sel);
        assert!(n["host-server"].contains("bash") && n["vm-client"].contains("bash"));
        assert!(all_tools(&cfg, "host-client").contains(&"bash".to_string()));
    }

    #[test]
    fn the_program_of_a_template_skips_assignments_and_placeholders() {
        assert_eq!(program_of("LC_ALL=C sar -n DEV 1 {duration}"), Some("sar"));
        assert_eq!(program_of("{tool} --dev eth0"), None);
        assert_eq!(program_of("iperf3 -s -p {port}"), Some("iperf3"));
    }
}
