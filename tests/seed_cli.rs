//! Seed 000's command lines as its README prints them (issue 32, item 4),
//! given to this harness: `run_automation.py --tools
//! system_network_perfomance_metrics --environments host` selects, and
//! `--dry-run --workflow-output F` says in one line what replaces it.

mod common;

use common::{listed, perf, stderr};

const SEED: &str = "config/examples/seed-lab";

/// `--config-dir SEED --list` and `args`.
fn list(args: &[&str]) -> std::process::Output {
    perf(&[&["--config-dir", SEED, "--list"][..], args].concat())
}

fn env_of(name: &str) -> &str {
    let parts: Vec<&str> = name.split("::").collect();
    if parts[0] == "baseline" {
        parts[1]
    } else {
        parts[2]
    }
}

#[test]
fn the_seeds_tools_and_environments_select_as_they_say() {
    let seed = [
        "--tools",
        "system_network_perfomance_metrics",
        "--environments",
        "host",
    ];
    let o = list(&seed);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = listed(&o);
    // What they mean, said with this harness's own options.
    let ours = listed(&list(&["--tool", "tool_001", "--env", "host"]));
    assert_eq!(got, ours);
    // tool_001's id is system_network_perfomance_metrics; every eBPF trial
    // listed is tool_001's on host, and all of those are listed.
    let all = listed(&list(&[]));
    let want: Vec<&String> = all
        .iter()
        .filter(|n| n.starts_with("tool_001::") && env_of(n) == "host")
        .collect();
    let ebpf: Vec<&String> = got
        .iter()
        .filter(|n| !n.starts_with("baseline::"))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(ebpf, want);
    assert!(got.iter().all(|n| env_of(n) == "host"), "{got:?}");
}

#[test]
fn lists_of_tools_and_environments_are_comma_separated() {
    let got = listed(&list(&[
        "--tools",
        "tool_001,tool_003",
        "--environments=host,vm",
    ]));
    let ours = listed(&list(&["--tool", "tool_001", "--tool", "tool_003"]));
    assert_eq!(got, ours);
    assert!(got.iter().any(|n| n.starts_with("tool_003::")));
}

#[test]
fn an_unknown_environment_names_the_ones_there_are() {
    let o = list(&["--environments", "kvm"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("--env kvm: no environment has that name in"),
        "{e}"
    );
    assert!(e.contains("the environments are: host, vm"), "{e}");
}

#[test]
fn dry_run_and_workflow_output_say_what_replaces_them() {
    for args in [
        &["--dry-run"][..],
        &["--workflow-output", "test_workflow.json"],
    ] {
        let o = perf(&[&["--config-dir", SEED][..], args].concat());
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("is a flag of seed 000's run_automation.py; here"),
            "{e}"
        );
        assert!(
            e.contains("`ebpf-perf workflow --config-dir DIR -o FILE`"),
            "{e}"
        );
        // One line, without the options' help that other mistakes get.
        assert_eq!(e.trim().lines().count(), 1, "{e}");
    }
}
