//! The results file: round trip, schema check and atomic writes.

use super::*;

#[test]
fn round_trip_and_schema_check() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.json");
    let mut r = Results::new(Session {
        id: "20261122_120000".into(),
        ..Default::default()
    });
    let mut t = TrialResult::new(
        "baseline::host::latency::tcp_rr",
        "baseline_host",
        "host",
        TestType::Latency,
        "tcp_rr",
    );
    t.blocks.push(Block {
        pair: 1,
        runs: vec![Run {
            metrics: [("latency_mean_us".into(), 20.5)].into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    r.trials.push(t);
    write(&p, &r).unwrap();
    let back = read(&p).unwrap();
    assert_eq!(back.trials[0].values("latency_mean_us"), [20.5]);
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("\"schema\":3", "\"schema\":99");
    std::fs::write(&p, text).unwrap();
    let e = read(&p).unwrap_err().to_string();
    assert!(e.contains("schema 99") && e.contains("r.json"), "{e}");
    std::fs::write(&p, "{").unwrap();
    assert!(read(&p).unwrap_err().to_string().contains("not valid"));
}

#[test]
fn a_schema_one_file_loads_into_blocks() {
    // tests/data/results_lab.json: written by the run-level design.
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/results_lab.json");
    let r = read(&p).unwrap();
    assert_eq!(r.schema, 1);
    let t = r
        .trials
        .iter()
        .find(|t| !t.is_baseline() && t.ran())
        .unwrap();
    // Its runs are its first block, on its own side.
    let b = &t.blocks[0];
    assert_eq!((b.pair, b.side), (1, Side::Tool));
    assert!(!b.runs.is_empty() && !b.start.is_empty());
    assert_eq!(t.runs().count(), b.runs.len());
    // A baseline measured again kept its blocks, after the first.
    let base = r
        .trials
        .iter()
        .find(|t| t.is_baseline() && t.blocks.len() > 1);
    if let Some(base) = base {
        assert!(base.blocks.iter().all(|b| b.side == Side::Baseline));
        assert_eq!(base.blocks[1].pair, 2);
    }
}
