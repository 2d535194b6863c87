//! The perf trials through cargo-nextest, on the lab: each trial in its own
//! process, one at a time (the test group of `.config/nextest.toml`), with
//! nextest's JUnit from the `ci` profile.

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

#[test]
fn two_trials_run_through_nextest_each_in_its_own_process() {
    let Some(_) = common::lab() else { return };
    if !nextest() {
        return;
    }
    let cfg = common::quick_config(|_| {});
    let out = cfg.path().join("out");
    let since = std::time::SystemTime::now();
    let mut child = Command::new("cargo")
        .args(["nextest", "run", "--profile", "ci", "--test", "perf", "-E"])
        .arg("test(/^(baseline|tool_001::case_1)::host::latency::tcp_rr$/)")
        .current_dir(common::repo())
        .env("EBPF_PERF_CONFIG", cfg.path())
        .env("EBPF_PERF_RESULTS", out.join("results.json"))
        .env("EBPF_PERF_JUNIT", out.join("junit.xml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The trials take seconds; a cargo that waits on a lock must not hang the suite.
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(300) {
            child.kill().unwrap();
            panic!("cargo nextest did not finish within 300 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let o = child.wait_with_output().unwrap();
    let said = common::stdout(&o) + &common::stderr(&o);
    assert!(o.status.success(), "{said}");
    assert!(said.contains("2 tests run: 2 passed"), "{said}");
    // One process per trial: the eBPF trial's own process ran the baseline it
    // is compared with (its fixtures are its own), and wrote the last results.
    let r = ebpf_perf::results::read(&out.join("results.json")).unwrap();
    let names: Vec<(&str, bool)> = r
        .trials
        .iter()
        .map(|t| (t.name.as_str(), t.compared_only))
        .collect();
    assert_eq!(
        names,
        [
            ("baseline::host::latency::tcp_rr", true),
            ("tool_001::case_1::host::latency::tcp_rr", false)
        ]
    );
    // nextest's own JUnit has both trials.
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
    for name in [
        "baseline::host::latency::tcp_rr",
        "tool_001::case_1::host::latency::tcp_rr",
    ] {
        assert!(junit.contains(&format!("name=\"{name}\"")), "{junit}");
    }
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
