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
    t.runs.push(Run {
        metrics: [("latency_mean_us".into(), 20.5)].into(),
        ..Default::default()
    });
    r.trials.push(t);
    write(&p, &r).unwrap();
    let back = read(&p).unwrap();
    assert_eq!(back.trials[0].values("latency_mean_us"), [20.5]);
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("\"schema\":1", "\"schema\":99");
    std::fs::write(&p, text).unwrap();
    let e = read(&p).unwrap_err().to_string();
    assert!(e.contains("schema 99") && e.contains("r.json"), "{e}");
    std::fs::write(&p, "{").unwrap();
    assert!(read(&p).unwrap_err().to_string().contains("not valid"));
}
