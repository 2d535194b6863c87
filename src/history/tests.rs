//! History on results files made from the lab's (tests/data/results_lab.json)
//! with a known shift in one trial's cost.

use super::*;
use crate::results::Results;

const TRIAL: &str = "tool_001::case_1::host::throughput::multi_4_tcp";

fn lab() -> Results {
    results::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/results_lab.json"))
        .expect("tests/data/results_lab.json")
}

/// Session `k` of `n`: TRIAL loses `loss` % throughput (± a little, fixed).
fn session(base: &Results, k: usize, loss: f64, commit: Option<&str>) -> (String, Results) {
    let mut r = base.clone();
    r.session.id = format!("2026112{}_0000{k:02}", k / 10);
    r.session.started = format!("2026-11-2{}T00:00:{k:02}Z", k / 10);
    r.session.commit = commit.map(str::to_string);
    let wiggle = [
        0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.1, 0.4, -0.3, 0.1, 0.2, -0.2,
    ][k % 12];
    let t = r.trials.iter_mut().find(|t| t.name == TRIAL).unwrap();
    let m = t
        .analysis
        .comparison
        .as_mut()
        .unwrap()
        .metrics
        .get_mut("throughput_bps")
        .unwrap();
    let v = -(loss + wiggle);
    m.rel_pct = Some(Estimate {
        value: v,
        ci95: Some([v - 1.0, v + 1.0]),
    });
    (format!("s{k}.json"), r)
}

fn series<'a>(h: &'a History, trial: &str, family: &str) -> &'a Series {
    h.series
        .iter()
        .find(|s| s.trial == trial && s.family == family)
        .unwrap()
}

#[test]
fn a_shift_in_one_trials_cost_is_flagged_where_it_happened() {
    let base = lab();
    // Given out of order: the history orders them by start.
    let files: Vec<(String, Results)> = (0..12)
        .rev()
        .map(|k| session(&base, k, if k < 6 { 5.0 } else { 15.0 }, None))
        .collect();
    let h = build(files, Order::Time, None, &changepoint::Settings::default());
    assert_eq!(h.sessions[0].path, "s0.json");
    let s = series(&h, TRIAL, "throughput_loss_pct");
    assert_eq!(s.points.iter().flatten().count(), 12);
    assert_eq!(s.shifts.len(), 1, "{:?}", s.shifts);
    let sh = &s.shifts[0];
    assert_eq!(sh.at, 6);
    assert!(
        (sh.before - 5.0).abs() < 0.5 && (sh.after - 15.0).abs() < 0.5,
        "{sh:?}"
    );
    // Every other series is the same in every file: no change anywhere else.
    let others: Vec<&Series> = h.series.iter().filter(|x| !x.shifts.is_empty()).collect();
    assert_eq!(
        others.len(),
        1,
        "{:?}",
        others
            .iter()
            .map(|x| (&x.trial, x.family))
            .collect::<Vec<_>>()
    );
    // Both pages name it; the HTML draws one chart per series.
    let md = render::markdown(&h);
    assert!(
        md.contains("| tool_001::case_1::host::throughput::multi_4_tcp | Throughput loss % | `at 20261120_000006: 5.00 → 15.02"),
        "{md}"
    );
    let page = render::html(&h);
    assert_eq!(
        page.matches("<svg").count(),
        h.series.len().min(render::MAX_CHARTS)
    );
    assert!(page.contains("1 with a change point"));
}

#[test]
fn sessions_follow_the_commits_history_and_unknown_commits_come_last() {
    let base = lab();
    let commits: Vec<String> = (0..4).map(|i| format!("{i}{}", "a".repeat(39))).collect();
    let files = vec![
        session(&base, 0, 5.0, Some("2aaaaaaaaa-dirty")),
        session(&base, 1, 5.0, Some(&commits[0])),
        session(&base, 2, 5.0, Some("ffffffff")),
        session(&base, 3, 5.0, Some(&commits[3][..12])),
        session(&base, 4, 5.0, Some(&commits[1])),
    ];
    let h = build(
        files,
        Order::Commit,
        Some(&commits),
        &changepoint::Settings::default(),
    );
    let order: Vec<&str> = h.sessions.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        order,
        ["s1.json", "s4.json", "s0.json", "s3.json", "s2.json"]
    );
    assert_eq!(h.sessions[2].label, "2aaaaaaaaa-dirty");
    assert_eq!(h.notes.len(), 2, "{:?}", h.notes);
    // Five sessions are too few for any change to be significant: said so.
    assert!(
        h.notes[1].starts_with("5 sessions: with fewer than 8"),
        "{:?}",
        h.notes
    );
    assert!(
        h.notes[0].starts_with("s2.json: its commit (ffffffff) is not in"),
        "{:?}",
        h.notes
    );
}

#[test]
fn too_few_files_and_a_missing_repository_are_clear_errors() {
    let e = write(
        &[PathBuf::from("a.json")],
        Path::new("/tmp"),
        Order::Time,
        Path::new("."),
    );
    assert!(matches!(e, Err(HistoryError::TooFew(1))));
    let d = tempfile::tempdir().unwrap();
    let err = commits_of(d.path()).unwrap_err().to_string();
    assert!(err.contains("--order time"), "{err}");
}
