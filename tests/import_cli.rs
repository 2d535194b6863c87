//! `ebpf-perf import` on variants of the seeds' files (tests/data/seed/,
//! written from descriptions of the seeds; tests/import_hooks_cli.rs reads
//! seed 001's hook blocks verbatim):
//! the result validates and lists the matrix the seed files describe, seed
//! tasks that duplicate built-ins are comments, and nothing is overwritten
//! without --force or written at all from a wrong input.

mod common;

use common::{ebpf_perf, listed, perf, stderr};
use ebpf_perf::config;

const HOOKS: &str = "tests/data/seed/001-hooks-variant.yaml";
const FROM: &str = "tests/data/seed/002";

fn import(out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    ebpf_perf(&args)
}

#[test]
fn the_seed_files_become_a_valid_configuration_with_the_seeds_matrix() {
    let d = tempfile::tempdir().unwrap();
    let o = import(d.path(), &["--from", FROM, "--hooks", HOOKS]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut written: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "ebpf-tools-config.yaml",
            "hooks.yaml",
            "performance-test-spec.yaml",
            "ssh-config.yaml",
            "test-env-config.yaml"
        ]
    );
    let cfg = config::load(d.path()).unwrap_or_else(|e| panic!("{e}"));
    // The seed's matrix: one environment; throughput 1 bandwidth × 2
    // protocols single-stream + 1 stream count × 2 protocols multi-stream,
    // latency TCP_RR and UDP_RR: 6 tests, 3 per protocol. tool_001's two
    // seed cases over protocols [tcp, udp] and directions [rx, tx] (case 2
    // gives tx itself): 4 + 2 = 6 cases, each paired with the 3 tests of its
    // protocol (seed 002's TestCaseGenerator); tool_002's 1 case (no
    // protocol) of the 4 throughput tests; and the baseline's 6:
    // 18 + 4 + 6 = 28.
    let names = listed(&perf(&[
        "--config-dir",
        d.path().to_str().unwrap(),
        "--list",
    ]));
    assert_eq!(names.len(), 28, "{names:#?}");
    for n in names.iter().filter(|n| n.starts_with("tool_001::")) {
        let case = &cfg.tools["tool_001"]
            .cases
            .iter()
            .find(|c| n.contains(&format!("::case_{}::", c.id)))
            .unwrap();
        let p = case.parameters["protocol"].text();
        let other = if p == "tcp" { "udp" } else { "tcp" };
        assert!(n.contains(&p) && !n.contains(other), "{n}: case of {p}");
    }
    let flow = &cfg.tools["tool_001"];
    assert_eq!(flow.cases.len(), 6);
    let protocols: Vec<(String, String)> = flow
        .cases
        .iter()
        .map(|c| {
            (
                c.parameters["protocol"].text(),
                c.parameters["direction"].text(),
            )
        })
        .collect();
    for want in [("tcp", "rx"), ("tcp", "tx"), ("udp", "rx"), ("udp", "tx")] {
        assert!(
            protocols.contains(&(want.0.into(), want.1.into())),
            "{protocols:?}"
        );
    }
    // `path` named the file and `executable` its interpreter.
    assert!(
        flow.cases[0].command.starts_with(
            "python3 /opt/ebpf-tools/flow_latency.py --interface {interface} --protocol"
        ),
        "{}",
        flow.cases[0].command
    );
    assert!(cfg.tools["tool_002"].cases[0]
        .command
        .starts_with("bpftrace /opt/ebpf-tools/skb_drops.bt"));
    // durations: [30] is every test's duration.
    let perf = std::fs::read_to_string(d.path().join("performance-test-spec.yaml")).unwrap();
    let set = perf.lines().filter(|l| l.trim() == "duration: 30").count();
    assert_eq!(set, 3, "{perf}");
    // monitoring-config.yaml is each tool's resource_monitoring.
    assert_eq!(flow.monitoring.memory_types, [config::MemoryType::Rss]);
    // The ssh hosts' seed key names.
    assert_eq!(
        cfg.ssh_hosts["server-01"].identity_file.as_deref(),
        Some("~/.ssh/id_ed25519")
    );
}

#[test]
fn seed_tasks_that_ebpf_perf_does_itself_become_comments_in_their_place() {
    // Into the default lab configuration: only hooks.yaml is written.
    let cfg_dir = common::copy_dir(&common::repo().join("config"));
    let before = std::fs::read_dir(cfg_dir.path()).unwrap().count();
    let o = import(cfg_dir.path(), &["--hooks", HOOKS]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("5 seed hook tasks copied, 5 left out"),
        "{}",
        stderr(&o)
    );
    let after = std::fs::read_dir(cfg_dir.path()).unwrap().count();
    assert_eq!(after, before + 1, "hooks.yaml and nothing else");
    let text = std::fs::read_to_string(cfg_dir.path().join("hooks.yaml")).unwrap();
    for (task, why) in [
        ("start_iperf_server", "starts and stops the servers"),
        ("start_ebpf_program", "starts each case's eBPF program"),
        ("top_monitor", "monitor agent"),
        ("stop_ebpf_program", "by PID"),
        ("cleanup_servers", "a kill by name"),
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("`{task}`")))
            .unwrap_or_else(|| panic!("{task} has no comment:\n{text}"));
        assert!(
            line.trim_start().starts_with("# seed ")
                && line.contains("not copied")
                && line.contains(why),
            "{line}"
        );
    }
    // No line that runs kills by name or starts a server.
    for l in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        assert!(
            !l.contains("pkill") && !l.contains("iperf3 -s") && !l.contains("top -b"),
            "{l}"
        );
    }
    // It validates with the lab configuration (a kill by name would not).
    let cfg = config::load(cfg_dir.path()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let h = &cfg.hooks;
    assert_eq!(h.global.setup[0].name, "check_system_requirements");
    assert_eq!(
        h.tool.setup[0].output.as_deref(),
        Some("ethtool_{timestamp}.txt")
    );
    let perf_stat = h
        .case
        .setup
        .iter()
        .find(|t| t.name == "perf_stat_ebpf")
        .unwrap();
    assert!(perf_stat.background && perf_stat.when == config::When::Ebpf);
    assert_eq!(perf_stat.on, config::HookTarget::Server);
    // An init task that needs the running program starts once it has loaded.
    let snap = h
        .case
        .setup
        .iter()
        .find(|t| t.name == "snapshot_ebpf_status")
        .unwrap();
    assert!(snap.background);
    assert_eq!(h.case.teardown[0].name, "collect_dmesg");
    assert_eq!(h.case.teardown[0].on, config::HookTarget::Both);
}

#[test]
fn nothing_is_overwritten_without_force() {
    let d = tempfile::tempdir().unwrap();
    assert!(import(d.path(), &["--from", FROM]).status.success());
    let ssh = d.path().join("ssh-config.yaml");
    std::fs::write(&ssh, "# mine\n").unwrap();
    let o = import(d.path(), &["--from", FROM]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("ssh-config.yaml") && err.contains("already exist") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&ssh).unwrap(),
        "# mine\n",
        "nothing was written"
    );
    let o = import(d.path(), &["--from", FROM, "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&ssh)
        .unwrap()
        .contains("ssh_hosts:"));
}

#[test]
fn a_wrong_input_names_the_place_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let hooks = d.path().join("hooks-seed.yaml");
    std::fs::write(
        &hooks,
        "layered_init_hooks:\n  - {name: a, stage: case, cmd: \"true\", condition: \"tool_id == 3\"}\n  - {name: b, stage: cycle, cmd: \"true\"}\n",
    )
    .unwrap();
    let out = d.path().join("out");
    let o = import(&out, &["--hooks", hooks.to_str().unwrap(), "--from", FROM]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("layered_init_hooks[0] `a`: condition `tool_id == 3` is not understood"),
        "{err}"
    );
    assert!(
        err.contains(
            "layered_init_hooks[1] `b`: stage `cycle` is not one of global, tool, case, test"
        ),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
    let o = import(&out, &[]);
    assert!(stderr(&o).contains("give --hooks FILE"), "{}", stderr(&o));
}

// Issue 31 (2): a seed host's name reaches the notes, which are `#`
// comments; a newline or a line separator in it must not start live YAML.
#[rstest::rstest]
#[case("srv\\nlab: netns #")]
#[case("srv\\u2028lab: netns #")]
#[case("srv\\rlab: netns #")]
fn a_seed_host_name_cannot_write_live_yaml_into_a_comment(#[case] name: &str) {
    let seed = common::copy_dir(&common::repo().join(FROM));
    let hosts = seed.path().join("ssh-hosts.yaml");
    common::replace_in(&hosts, "  server-01:", &format!("  \"{name}\":"));
    let d = tempfile::tempdir().unwrap();
    let o = import(d.path(), &["--from", seed.path().to_str().unwrap()]);
    let text = std::fs::read_to_string(d.path().join("ssh-config.yaml"))
        .unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let v: serde_json::Value = ebpf_perf::yaml::from_str(&text).unwrap();
    assert!(v.get("lab").is_none(), "live key from a comment:\n{text}");
    assert!(!text.lines().any(|l| l.starts_with("lab:")), "{text}");
}

/// The seed 002 example with one more tool that names `case_file`.
fn seed_naming_case_file(case_file: &str) -> tempfile::TempDir {
    let seed = common::copy_dir(&common::repo().join(FROM));
    let tools = seed.path().join("ebpf-tools-spec.yaml");
    let mut text = std::fs::read_to_string(&tools).unwrap();
    text.push_str(&format!(
        "  tool_009:\n    testcase_file: \"{case_file}\"\n    case_ids: [1]\n    \
         applicable_environments: [\"host\"]\n    performance_test_types: [\"latency\"]\n"
    ));
    std::fs::write(&tools, text).unwrap();
    seed
}

// Issue 31 (15): a case file that is a symlink is not followed (it would
// copy what it points at into --out), and a case file cannot be named like
// a file import writes.
#[test]
fn import_follows_no_symlink_and_writes_no_case_file_over_its_own() {
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "SECRET-TOKEN").unwrap();
    let seed = seed_naming_case_file("cases.json");
    std::os::unix::fs::symlink(secret.path(), seed.path().join("cases.json")).unwrap();
    let d = tempfile::tempdir().unwrap();
    let o = import(d.path(), &["--from", seed.path().to_str().unwrap()]);
    assert!(!o.status.success(), "a symlinked case file was accepted");
    assert!(
        stderr(&o).contains("cases.json") && stderr(&o).contains("not a regular file"),
        "{}",
        stderr(&o)
    );
    for e in std::fs::read_dir(d.path()).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap_or_default();
        assert!(!text.contains("SECRET-TOKEN"));
    }

    let seed = seed_naming_case_file("ssh-config.yaml");
    std::fs::write(seed.path().join("ssh-config.yaml"), "raw seed text\n").unwrap();
    let d = tempfile::tempdir().unwrap();
    let o = import(d.path(), &["--from", seed.path().to_str().unwrap()]);
    assert!(!o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("names the case file \"ssh-config.yaml\": a case file is a .json file"),
        "{}",
        stderr(&o)
    );
    assert!(!d.path().join("ssh-config.yaml").exists());
}
