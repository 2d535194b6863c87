//! `ebpf-perf calibrate`, `validate --calibration` and `report
//! --calibration` as users run them, on a results file whose baseline was
//! measured in three blocks.

mod common;
use common::ebpf_perf;
use ebpf_perf::domain::TestType;
use ebpf_perf::results::{self, Block, Results, Run, TrialResult};

fn runs(values: &[f64]) -> Vec<Run> {
    values
        .iter()
        .map(|v| Run {
            metrics: [("latency_mean_us".into(), *v)].into(),
            ..Default::default()
        })
        .collect()
}

/// A host TCP_RR baseline whose blocks swing between 11 and 40 µs (each
/// block steady in itself): the hosts cannot see a 20 µs cost on it.
fn noisy_results(path: &std::path::Path) {
    let mut t = TrialResult::new(
        "baseline::host::latency::tcp_rr",
        "baseline_host",
        "host",
        TestType::Latency,
        "tcp_rr",
    );
    t.blocks = [[10.0, 11.0, 12.0], [40.0, 41.0, 39.0], [20.0, 21.0, 19.0]]
        .iter()
        .enumerate()
        .map(|(i, b)| Block {
            pair: i as u32 + 1,
            runs: runs(b),
            duration_s: 3.0,
            ..Default::default()
        })
        .collect();
    let mut r = Results::new(Default::default());
    r.trials.push(t);
    results::write(path, &r).unwrap();
}

/// `ebpf-perf calibrate --results RES --out OUT`.
fn calibrate(res: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    ebpf_perf(&[
        "calibrate",
        "--results",
        res.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn calibrate_writes_a_file_that_validate_uses_to_flag_tight_budgets() {
    let dir = tempfile::tempdir().unwrap();
    let res = dir.path().join("results.json");
    let cal = dir.path().join("cal.json");
    noisy_results(&res);
    let o = calibrate(&res, &cal);
    let out = common::stdout(&o);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(
        out.lines()
            .any(|l| l.starts_with("baseline::host::latency::tcp_rr")
                && l.contains("latency_mean_us")),
        "{out}"
    );
    let c = ebpf_perf::calibration::read(&cal).unwrap();
    let m = &c.trials["baseline::host::latency::tcp_rr"]["latency_mean_us"];
    assert_eq!((m.blocks, m.runs, m.aa_pairs), (3, 3, 2));

    // The default config's counters allow 20 µs of mean latency: tighter
    // than these hosts can see. The printf tool only runs on host too, with
    // 100 µs: not flagged.
    let o = ebpf_perf(&["validate", "--calibration", cal.to_str().unwrap()]);
    let err = common::stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning: tool_001: budget latency_mean_increase_us 20 on host is tighter than these hosts can see"),
        "{err}"
    );
    assert!(
        !err.contains("tool_002: budget latency_mean_increase_us"),
        "{err}"
    );
    // tool_003 runs on vm only, which this file did not calibrate.
    assert!(!err.contains("tool_003"), "{err}");

    // The report names the calibration in its Precision section.
    let o = ebpf_perf(&[
        "report",
        "--results",
        res.to_str().unwrap(),
        "--calibration",
        cal.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        md.contains("### Precision") && md.contains("Calibration "),
        "{md}"
    );

    // Nothing measured in blocks: calibrate says what to do.
    let plain = dir.path().join("plain.json");
    results::write(&plain, &Results::new(Default::default())).unwrap();
    let o = calibrate(&plain, &cal);
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).contains("--calibrate 6"),
        "{}",
        common::stderr(&o)
    );
}

// Issue 31 (14): `--out` is replaced by a rename, never written through a
// symlink someone put there.
#[test]
fn calibrate_out_does_not_write_through_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let res = dir.path().join("results.json");
    noisy_results(&res);
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    let cal = dir.path().join("cal.json");
    std::os::unix::fs::symlink(&victim, &cal).unwrap();
    let o = calibrate(&res, &cal);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert!(!std::fs::symlink_metadata(&cal).unwrap().is_symlink());
    ebpf_perf::calibration::read(&cal).unwrap();
}
