//! Seed 002 §3.1's four files as printed (tests/data/seed/002-3.1/),
//! imported with `ebpf-perf import --from` and run on the lab: one trial of
//! the seed's tool_001, whose program (a stand-in at the seed's path, under
//! the host's workdir) receives the arguments the seed's template builds.
//!
//! The seed's hosts and test addresses are real-world ones and are never
//! contacted: before the run, and only there, the imported environments
//! point at the lab's hosts and addresses (this project's rule: traffic
//! stays inside 198.18.0.0/15). Everything else runs as imported.

mod common;

use std::path::Path;

/// The seed's tool_001 on a lab host: takes the seed's arguments, prints
/// them, and counts packets with bpftrace (so it loads a BPF program).
const STAND_IN: &str = r#"import os, sys
print("args:", " ".join(sys.argv[1:]), flush=True)
os.execvp("bpftrace", ["bpftrace", "-q", "-e", "tracepoint:net:net_dev_xmit { @n = count(); }"])
"#;
const TOOL_DIR: &str = "ebpf-tools/performance/system-network";
const TOOL_FILE: &str = "system_network_perfomance_metrics.py";

/// The imported environments on the lab's hosts and addresses.
fn on_the_lab(cfg: &Path) {
    std::fs::copy(
        common::repo().join("config/ssh-config.yaml"),
        cfg.join("ssh-config.yaml"),
    )
    .unwrap();
    let envs = cfg.join("test-env-config.yaml");
    for (seed, lab) in [
        ("system-host-server", "host-server"),
        ("system-host-client", "host-client"),
        ("\"10.132.114.11\"", "\"198.18.1.11\""),
        ("\"10.132.114.12\"", "\"198.18.1.12\""),
        ("\"172.21.153.114\"", "\"198.18.0.21\""),
        ("\"172.21.153.113\"", "\"198.18.0.22\""),
    ] {
        common::replace_in(&envs, seed, lab);
    }
}

#[test]
fn seed_002s_files_as_printed_run_on_the_lab() {
    let Some(_) = common::lab() else { return };
    let cfg = tempfile::tempdir().unwrap();
    let o = common::ebpf_perf(&[
        "import",
        "--from",
        "tests/data/seed/002-3.1",
        "--out",
        cfg.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    on_the_lab(cfg.path());
    for host in ["host-server", "host-client"] {
        let dir = common::lab_hosts().join(host).join(TOOL_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(TOOL_FILE), STAND_IN).unwrap();
    }
    let since = std::time::SystemTime::now();
    let (o, results) = common::perf_in(
        cfg.path(),
        &[
            "tool_001",
            "case_1",
            "system-network",
            "single_tcp_1G",
            "--duration",
            "1",
        ],
    );
    assert!(
        o.status.success(),
        "{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );
    let r = ebpf_perf::results::read(&results).unwrap();
    let trial = common::trial(
        &r,
        "tool_001::case_1::system-network::throughput::single_tcp_1G",
    );
    assert!(trial.error.is_none(), "{:?}", trial.error);
    assert_eq!(trial.case_id, Some(1));
    // The program got the seed's arguments: the interface and addresses
    // from the environment, protocol and direction from its case, and the
    // marked value of the one variable no seed file gives.
    let root = common::lab_results("host-server").join("ebpf");
    // Each tool episode's whole output (a trial's own slice starts after
    // the program printed its line).
    let logs: Vec<String> =
        common::files::named_since(&root, since, &|n| n.starts_with("tool_output_"))
            .into_iter()
            .filter(|p| p.parent().is_some_and(|d| d.ends_with("ebpf_monitoring")))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
    assert!(!logs.is_empty(), "no tool output under {}", root.display());
    for l in &logs {
        assert!(
            l.starts_with(
                "args: --internal-interface port-storage --phy-interface UNSET_PHY_INTERFACE \
                 --src-ip 198.18.1.12 --dst-ip 198.18.1.11 --direction rx --protocol tcp\n"
            ),
            "{l}"
        );
    }
}
