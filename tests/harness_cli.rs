//! The `perf` harness as users run it: `cargo test --test perf -- ARGS`.

mod common;

use common::{listed, perf, stderr, stdout};
use rstest::rstest;

const SEED: &str = "config/examples/seed-lab";

#[test]
fn lists_the_whole_seed_matrix_without_connecting() {
    let o = perf(&["--config-dir", SEED, "--list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names = listed(&o);
    assert_eq!(names.len(), 256);
    assert_eq!(names[0], "baseline::host::throughput::single_tcp_1G");
    assert_eq!(names[255], "tool_003::case_20::vm::pps::multi_8_udp");
}

#[test]
fn lists_the_default_config() {
    let o = perf(&["--list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!listed(&o).is_empty());
    assert!(listed(&o)
        .iter()
        .all(|n| n.starts_with("baseline::") || n.starts_with("tool_")));
}

#[test]
fn case_5_host_throughput_selects_exactly_its_10_trials() {
    let o = perf(&[
        "--config-dir",
        SEED,
        "case_5",
        "host",
        "throughput",
        "--list",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names = listed(&o);
    assert_eq!(names.len(), 10, "{names:?}");
    assert!(names
        .iter()
        .all(|n| n.starts_with("tool_002::case_5::host::throughput::")));
}

#[rstest]
#[case(&["case_1"], 16)] // not case_15..case_19
#[case(&["case_15"], 16)]
#[case(&["1G"], 32)] // baseline host+vm and case 1-8 host ... single_*_1G only, not 10G
#[case(&["10G"], 32)]
#[case(&["host::latency"], 18)] // baseline host + 8 cases on host, 2 each
#[case(&["tcp"], 128)]
#[case(&["vm", "udp_rr"], 7)]
#[case(&["case_5", "--skip", "tcp"], 8)]
#[case(&["case_5", "--skip", "tcp", "--skip", "pps"], 6)]
#[case(&["--exact", "tool_002::case_5::host::throughput::multi_4_tcp"], 1)]
#[case(&["--exact", "tool_002::case_5::host::throughput::multi_4"], 0)]
#[case(&["--exact", "baseline::vm::latency::tcp_rr", "baseline::vm::latency::udp_rr"], 2)]
#[case(&["nothing_matches_this"], 0)]
fn filter_terms(#[case] args: &[&str], #[case] n: usize) {
    let mut a = vec!["--config-dir", SEED, "--list"];
    a.extend_from_slice(args);
    let o = perf(&a);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(listed(&o).len(), n, "{args:?}: {:?}", listed(&o));
}

#[test]
fn one_g_does_not_select_ten_g() {
    let o = perf(&["--config-dir", SEED, "--list", "1G"]);
    let names = listed(&o);
    assert!(names.iter().all(|n| n.ends_with("_1G")), "{names:?}");
}

#[test]
fn env_selects_config_and_option_wins() {
    let o = std::process::Command::new(common::perf_exe())
        .args(["--list", "case_20"])
        .current_dir(common::repo())
        .env("EBPF_PERF_CONFIG", SEED)
        .output()
        .unwrap();
    assert_eq!(listed(&o).len(), 16, "{}", stderr(&o));
}

#[test]
fn config_error_exits_nonzero_and_writes_junit() {
    let dir = common::copy_dir(&common::corpus_base());
    std::fs::write(
        dir.path().join("test-env-config.yaml"),
        std::fs::read_to_string(dir.path().join("test-env-config.yaml"))
            .unwrap()
            .replace("ssh_ref: \"vm-client\"", "ssh_ref: \"nowhere\""),
    )
    .unwrap();
    let junit = dir.path().join("out/junit.xml");
    let o = perf(&[
        "--config-dir",
        dir.path().to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--list",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("test-env-config.yaml:21: test_environments.vm.client.ssh_ref"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let xml = std::fs::read_to_string(&junit).expect("JUnit written on config error");
    assert!(xml.contains("<testcase name=\"config\""), "{xml}");
    assert!(xml.contains("<error"), "{xml}");
    assert!(xml.contains("nowhere"), "{xml}");
}

#[test]
fn missing_config_dir_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let junit = tmp.path().join("j.xml");
    let o = perf(&[
        "--config-dir",
        "/nonexistent/ebpf-perf",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/nonexistent/ebpf-perf: is not a directory"),
        "{}",
        stderr(&o)
    );
    assert!(junit.exists());
}

#[test]
fn a_list_only_config_is_never_connected_to() {
    // The seed lab's hosts are real machines elsewhere: running a trial of it
    // must fail at once, without a connection attempt.
    let tmp = tempfile::tempdir().unwrap();
    let junit = tmp.path().join("j.xml");
    let start = std::time::Instant::now();
    let o = perf(&[
        "--config-dir",
        SEED,
        "--junit",
        junit.to_str().unwrap(),
        "--exact",
        "baseline::vm::latency::tcp_rr",
    ]);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(!o.status.success());
    assert!(stdout(&o).contains("list_only: true"), "{}", stdout(&o));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("classname=\"ebpf_perf.baseline_vm\""), "{xml}");
    assert!(xml.contains("<failure"), "{xml}");
}

#[test]
fn option_without_value_is_a_clear_error() {
    let o = perf(&["--config-dir"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("option --config-dir needs a value"),
        "{}",
        stderr(&o)
    );
}

#[rstest]
#[case(&[], Some(4), "error: no trial matches `nothing_matches_this --skip case_1`")]
#[case(&["--no-tests", "warn"], Some(0), "warning: no trial matches")]
#[case(&["--no-tests=pass"], Some(0), "")]
#[case(&["--no-tests", "maybe"], Some(2), "--no-tests takes fail, warn or pass, not \"maybe\"")]
fn a_filter_that_selects_nothing_fails_unless_allowed(
    #[case] extra: &[&str],
    #[case] code: Option<i32>,
    #[case] says: &str,
) {
    // The seed lab is list_only: had anything tried to connect, the run
    // would fail at once instead of passing.
    let tmp = tempfile::tempdir().unwrap();
    let junit = tmp.path().join("j.xml");
    let results = tmp.path().join("r.json");
    let mut args = vec![
        "--config-dir",
        SEED,
        "--junit",
        junit.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "nothing_matches_this",
        "--skip",
        "case_1",
    ];
    args.extend_from_slice(extra);
    let o = perf(&args);
    assert_eq!(o.status.code(), code, "{}", stderr(&o));
    assert!(stderr(&o).contains(says), "{}", stderr(&o));
    if code == Some(4) {
        assert!(
            stderr(&o).contains("256 trials in config/examples/seed-lab"),
            "{}",
            stderr(&o)
        );
    }
}

/// The cycle of a trial name: all but its test type and variant.
fn cycle_of(name: &str) -> String {
    let parts: Vec<&str> = name.split("::").collect();
    parts[..parts.len() - 2].join("::")
}

#[rstest]
#[case("count", 3)]
#[case("hash", 3)]
#[case("count", 5)]
#[case("hash", 2)]
fn partitions_list_disjoint_shares_of_whole_cycles_that_make_the_selection(
    #[case] kind: &str,
    #[case] n: usize,
) {
    let all = listed(&perf(&["--config-dir", SEED, "--list", "throughput"]));
    let mut seen: std::collections::BTreeMap<String, usize> = Default::default();
    let mut cycles: std::collections::BTreeMap<String, usize> = Default::default();
    for k in 1..=n {
        let share = format!("{kind}:{k}/{n}");
        let o = perf(&[
            "--config-dir",
            SEED,
            "--list",
            "throughput",
            "--partition",
            &share,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let names = listed(&o);
        assert!(!names.is_empty(), "{share} is empty");
        for name in names {
            assert!(
                seen.insert(name.clone(), k).is_none(),
                "{name} in two shares"
            );
            let owner = *cycles.entry(cycle_of(&name)).or_insert(k);
            assert_eq!(
                owner, k,
                "cycle of {name} split between shares {owner} and {k}"
            );
        }
    }
    let union: Vec<&String> = seen.keys().collect();
    let mut want: Vec<&String> = all.iter().collect();
    want.sort();
    assert_eq!(union, want, "the shares together are the selection");
}

#[test]
fn a_bad_partition_is_a_clear_error() {
    let o = perf(&["--config-dir", SEED, "--list", "--partition", "count:4/3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--partition takes count:K/N, slice:K/N or hash:K/N with 1 <= K <= N"),
        "{}",
        stderr(&o)
    );
}

#[rstest]
#[case::beyond_the_pools(&["--pool", "3"], "--pool 3: the environments have 2 pool(s)")]
#[case::not_a_number(&["--pool", "two"], "--pool takes a pool number >= 1, not \"two\"")]
#[case::zero(&["--pool=0"], "--pool takes a pool number >= 1, not \"0\"")]
fn a_bad_pool_is_a_clear_error(#[case] args: &[&str], #[case] want: &str) {
    let o = perf(&[&["--list"], args].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(want), "{}", stderr(&o));
}

#[test]
fn a_lab_config_with_a_hook_that_kills_by_name_is_refused_before_anything_runs() {
    let cfg = common::copy_dir(&common::repo().join("config"));
    std::fs::write(
        cfg.path().join("hooks.yaml"),
        "hooks:\n  case:\n    teardown:\n      - name: seeds_cleanup\n        run: \"pkill -f iperf3 || true\"\n",
    )
    .unwrap();
    let o = perf(&["--config-dir", cfg.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("hooks.yaml:5")
            && err.contains("hooks.case.teardown[0].run")
            && err.contains("refused for the lab, whose hosts share this machine's process table"),
        "{err}"
    );
}

/// `--help` reads no configuration and writes nothing, wherever it runs.
#[test]
fn help_works_in_a_directory_without_a_config_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let o = common::perf_in_dir(dir.path(), &["--help"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("--config-dir <DIR>") && out.contains("--list"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "it wrote files"
    );
}

/// `--list` and `--ignored` leave an earlier run's files as they were
/// (byte for byte) and write none of their own.
#[test]
fn list_and_ignored_leave_earlier_files_alone() {
    let d = tempfile::tempdir().unwrap();
    let results = d.path().join("results.json");
    let junit = d.path().join("junit.xml");
    std::fs::write(&results, b"{\"earlier\": true}\n").unwrap();
    for flag in ["--list", "--ignored"] {
        let o = perf(&[
            "--config-dir",
            "config",
            "--results",
            results.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            flag,
        ]);
        assert!(o.status.success(), "{flag}: {}", stderr(&o));
        assert_eq!(
            std::fs::read(&results).unwrap(),
            b"{\"earlier\": true}\n",
            "{flag}"
        );
        assert!(!junit.exists(), "{flag} wrote JUnit");
        assert!(
            !d.path().join("report.html").exists(),
            "{flag} wrote a report"
        );
    }
}

/// `--tool` takes a tool's key or its `id:`, repeats, and composes with the
/// filter terms and `--list`; a name no tool has is a clear error.
#[rstest]
#[case(&["--tool", "tool_002"], "tool_002::", 8)]
#[case(&["--tool", "packet_printer"], "tool_002::", 8)]
#[case(&["--tool", "netdev_counters", "tcp_rr"], "tool_001::", 2)]
#[case(&["--tool", "netdev_counters", "--tool", "tool_002", "--skip", "case_2"], "tool_00", 16)]
fn tool_selects_by_key_or_id(#[case] args: &[&str], #[case] prefix: &str, #[case] n: usize) {
    let mut all = args.to_vec();
    all.push("--list");
    let o = perf(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    let names = listed(&o);
    assert_eq!(names.len(), n, "{names:?}");
    assert!(names.iter().all(|x| x.starts_with(prefix)), "{names:?}");
}

#[test]
fn an_unknown_tool_names_the_tools_there_are() {
    let o = perf(&["--tool", "nope", "--list"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("--tool nope: no tool has that key or id in config/ebpf-tools-config.yaml; the tools are: tool_001 (netdev_counters), tool_002 (packet_printer), tool_003 (vm_rx_counter)"),
        "{err}"
    );
}

/// The results file records the commit of the repository that holds the
/// configuration (`-dirty` with uncommitted changes), and `--commit`
/// overrides it.
#[test]
fn the_session_records_the_projects_commit() {
    let d = tempfile::tempdir().unwrap();
    let repo = d.path().join("project");
    let cfg = repo.join("config");
    std::fs::create_dir_all(&repo).unwrap();
    let run = |prog: &str, args: &[&str]| {
        let o = std::process::Command::new(prog)
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(o.status.success(), "{prog} {args:?}: {}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    run(
        "cp",
        &[
            "-r",
            &common::repo().join("config").display().to_string(),
            "config",
        ],
    );
    run("git", &["init", "-q"]);
    run("git", &["add", "."]);
    run(
        "git",
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "x",
        ],
    );
    let head = run("git", &["rev-parse", "HEAD"]);
    let results = d.path().join("results.json");
    let junit = d.path().join("junit.xml");
    let session_commit = |extra: &[&str]| {
        let mut args = vec![
            "--config-dir",
            cfg.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--no-tests",
            "pass",
            "--no-report",
        ];
        args.extend_from_slice(extra);
        args.push("no_such_trial");
        let o = perf(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        ebpf_perf::results::read(&results).unwrap().session.commit
    };
    assert_eq!(session_commit(&[]), Some(head.clone()));
    let f = cfg.join("ssh-config.yaml");
    let text = std::fs::read_to_string(&f).unwrap() + "# changed\n";
    std::fs::write(&f, text).unwrap();
    assert_eq!(session_commit(&[]), Some(format!("{head}-dirty")));
    assert_eq!(
        session_commit(&["--commit", "v1.2.3"]),
        Some("v1.2.3".into())
    );
}

/// An earlier results file whose trial `name` was measured 5 s longer and
/// with another client command than this configuration says.
fn earlier_with_other_conditions(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let cfg = ebpf_perf::config::load(&common::repo().join("config")).unwrap();
    let m = ebpf_perf::matrix::build(&cfg);
    let t = m.trials.iter().find(|t| t.name == name).unwrap();
    let env = &m.cycle_of(t).env;
    let mut c = ebpf_perf::run::conditions::of(&cfg, &t.variant, env, None).unwrap();
    c.duration_s += 5;
    c.commands[1].push_str(" -P 0");
    let mut r = ebpf_perf::results::Results::new(Default::default());
    let mut tr = ebpf_perf::results::TrialResult::new(
        name,
        &m.cycle_of(t).id,
        env,
        t.variant.test_type(),
        t.variant.name(),
    );
    tr.conditions = Some(c);
    r.trials.push(tr);
    let path = dir.join("earlier.json");
    ebpf_perf::results::write(&path, &r).unwrap();
    path
}

#[rstest]
#[case::baseline_from("--baseline-from", "baseline::host::latency::tcp_rr")]
#[case::compare_to("--compare-to", "tool_001::case_1::host::latency::tcp_rr")]
fn an_earlier_file_measured_under_other_conditions_is_refused_before_anything_runs(
    #[case] option: &str,
    #[case] earlier_trial: &str,
) {
    let d = tempfile::tempdir().unwrap();
    let earlier = earlier_with_other_conditions(d.path(), earlier_trial);
    let results = d.path().join("results.json");
    let o = perf(&[
        option,
        earlier.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--exact",
        "tool_001::case_1::host::latency::tcp_rr",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let cfg = ebpf_perf::config::load(&common::repo().join("config")).unwrap();
    let m = ebpf_perf::matrix::build(&cfg);
    let t = m.trials.iter().find(|t| t.name == earlier_trial).unwrap();
    let d_now = ebpf_perf::run::conditions::of(&cfg, &t.variant, "host", None)
        .unwrap()
        .duration_s;
    for want in [
        format!(
            "{option} {} was measured under other conditions",
            earlier.display()
        ),
        format!("duration {d_now} s here, {} s there (1 trial)", d_now + 5),
        "-P 0` there (1 trial)".to_string(),
        "pass --allow-mismatch".to_string(),
    ] {
        assert!(err.contains(&want), "{want:?} not in:\n{err}");
    }
    assert!(!results.exists(), "nothing ran");
}

#[test]
fn a_load_scenario_changes_the_matrix_it_lists() {
    let light = listed(&perf(&["--load", "light", "--list"]));
    let all = listed(&perf(&["--list"]));
    assert!(light.contains(&"baseline::host::throughput::single_tcp_100M".to_string()));
    assert!(light.contains(&"baseline::host::throughput::multi_1_tcp".to_string()));
    assert!(
        light
            .iter()
            .all(|n| !n.contains("multi_2_") && !n.contains("_1G")),
        "{light:#?}"
    );
    // One stream count instead of the default config's two.
    assert!(light.len() < all.len());
    let o = perf(&["--load", "extreme", "--list"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("light") && err.contains("stress"), "{err}");
}
