//! The perf trials through cargo-nextest, on the lab: each trial in its own
//! process, one at a time (the test group of `.config/nextest.toml`), the
//! lab brought up once by the setup script, the processes' results merged,
//! and nextest's JUnit from the `ci` profile.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Is cargo-nextest installed? Under CI=true it must be.
fn nextest() -> bool {
    let ok = Command::new("cargo")
        .args(["nextest", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "cargo-nextest is not installed and CI=true forbids skipping this test \
             (cargo install cargo-nextest --locked)"
        );
        eprintln!("SKIPPED: cargo-nextest is not installed");
    }
    ok
}

const TRIALS: [&str; 4] = [
    "baseline::host::latency::tcp_rr",
    "tool_001::case_1::host::latency::tcp_rr",
    "tool_001::case_2::host::latency::tcp_rr",
    "tool_002::case_3::host::latency::tcp_rr",
];

/// Four trials through nextest, each in a process of its own: the setup
/// script brings the lab up once for the run; every process writes its
/// fragment and merges the run's fragments, so the results file, our JUnit
/// and the report hold all four trials at the end.
#[test]
fn four_trials_through_nextest_are_merged_into_one_results_file() {
    let Some(_) = common::lab() else { return };
    if !nextest() {
        return;
    }
    let cfg = common::quick_config(|_| {});
    let out = cfg.path().join("out");
    let since = std::time::SystemTime::now();
    let mut child = Command::new("cargo")
        .args(["nextest", "run", "--profile", "ci", "--test", "perf"])
        .args(["--success-output", "immediate", "-E"])
        .arg("test(/^(baseline|tool_001::case_[12]|tool_002::case_3)::host::latency::tcp_rr$/)")
        .current_dir(common::repo())
        .env("EBPF_PERF_CONFIG", cfg.path())
        .env("EBPF_PERF_RESULTS", out.join("results.json"))
        .env("EBPF_PERF_JUNIT", out.join("junit.xml"))
        .env_remove("NEXTEST_RUN_ID")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The trials take seconds; a cargo that waits on a lock must not hang the suite.
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(400) {
            child.kill().unwrap();
            panic!("cargo nextest did not finish within 400 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let o = child.wait_with_output().unwrap();
    let said = common::stdout(&o) + &common::stderr(&o);
    assert!(o.status.success(), "{said}");
    assert!(said.contains("4 tests run: 4 passed"), "{said}");
    // The lab came up once, in the setup script; no trial's process did it.
    assert_eq!(
        said.matches("the lab is up (brought up once by the nextest setup script)")
            .count(),
        4,
        "{said}"
    );
    // Each process wrote its fragment; the merge holds every trial once,
    // each from the process that selected it (not a compared-only copy).
    let frags: Vec<_> = std::fs::read_dir(out.join("nextest"))
        .unwrap()
        .flat_map(|run| std::fs::read_dir(run.unwrap().path()).unwrap())
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(frags.len(), 4, "{frags:?}");
    let r = ebpf_perf::results::read(&out.join("results.json")).unwrap();
    let mut names: Vec<(&str, bool)> = r
        .trials
        .iter()
        .map(|t| (t.name.as_str(), t.compared_only))
        .collect();
    names.sort();
    assert_eq!(names, TRIALS.map(|n| (n, false)));
    assert_eq!(r.session.shards.len(), 4);
    for t in &r.trials[1..] {
        assert!(
            t.analysis.comparison.is_some(),
            "{}: {:?}",
            t.name,
            t.analysis.notes
        );
    }
    let ours = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    for name in TRIALS {
        assert!(ours.contains(&format!("name=\"{name}\"")), "{ours}");
    }
    assert!(out.join("report.html").is_file());
    // nextest's own JUnit has the four trials and the setup script, once.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    let junit_path = target.join("nextest/ci/junit.xml");
    let fresh = std::fs::metadata(&junit_path)
        .and_then(|m| m.modified())
        .is_ok_and(|m| m >= since);
    assert!(
        fresh,
        "{} was not written by this run",
        junit_path.display()
    );
    let junit = std::fs::read_to_string(&junit_path).unwrap();
    for name in TRIALS {
        assert!(junit.contains(&format!("name=\"{name}\"")), "{junit}");
    }
    assert_eq!(
        junit
            .matches("<testsuite name=\"@setup-script:ebpf-perf-lab\"")
            .count(),
        1,
        "{junit}"
    );
    // Nothing left running.
    let mut pids = Vec::new();
    common::pid_files(&common::lab_hosts(), since, &mut pids);
    assert!(!pids.is_empty());
    for p in &pids {
        assert!(
            !common::recorded_alive(p),
            "{} is still running",
            p.display()
        );
    }
}
