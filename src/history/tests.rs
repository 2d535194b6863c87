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
    // Given out of order: the history orders them by start. The page holds
    // every series of the lab's file, so the shift must stand out among
    // all of them (Benjamini–Hochberg across series): 24 sessions.
    let files: Vec<(String, Results)> = (0..24)
        .rev()
        .map(|k| session(&base, k, if k < 12 { 5.0 } else { 15.0 }, None))
        .collect();
    let h = build(files, Order::Time, None, &changepoint::Settings::default());
    assert_eq!(h.sessions[0].path, "s0.json");
    let s = series(&h, TRIAL, "throughput_loss_pct");
    assert_eq!(s.points.iter().flatten().count(), 24);
    assert_eq!(s.shifts.len(), 1, "{:?}", s.shifts);
    let sh = &s.shifts[0];
    assert_eq!(sh.at, 12);
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
        md.contains("| tool_001::case_1::host::throughput::multi_4_tcp | Throughput loss % | `at 20261121_000012: 5.01 → 15.01"),
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
    // Five sessions are too few for any change to be significant: said so,
    // counting each series' own points.
    assert!(
        h.notes
            .iter()
            .any(|n| n.starts_with("0 of ") && n.contains("were tested")),
        "{:?}",
        h.notes
    );
    assert!(
        h.notes
            .iter()
            .any(|n| n.contains("series have fewer than 8 sessions of their own")),
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

/// `n` sessions in which every series of the lab's file is noise (its
/// values redrawn per session, seeded): nothing changed anywhere.
fn noisy_flat(base: &Results, n: usize, seed: u64) -> Vec<(String, Results)> {
    let mut g = crate::stats::SplitMix(seed);
    (0..n)
        .map(|k| {
            let (path, mut r) = session(base, k, 5.0, None);
            for t in &mut r.trials {
                let Some(c) = t.analysis.comparison.as_mut() else {
                    continue;
                };
                for m in c.metrics.values_mut() {
                    let u = (g.next() >> 11) as f64 / (1u64 << 53) as f64;
                    m.rel_pct = Some(Estimate {
                        value: -5.0 + 4.0 * (u - 0.5),
                        ci95: None,
                    });
                }
            }
            (path, r)
        })
        .collect()
}

#[test]
fn a_page_where_nothing_changed_flags_nothing() {
    let base = lab();
    // 20 pages of 16 sessions, every series noise: BH across the page's
    // series keeps the chance of any flag on a page near 5 %.
    let pages = (0..20)
        .filter(|&seed| {
            let h = build(
                noisy_flat(&base, 16, 1000 + seed),
                Order::Time,
                None,
                &changepoint::Settings::default(),
            );
            h.series.iter().any(|s| !s.shifts.is_empty())
        })
        .count();
    assert!(pages <= 3, "{pages} of 20 flat pages flagged a change");
}

#[test]
fn a_series_is_tested_on_its_own_points_not_the_files() {
    let base = lab();
    // 12 files, but TRIAL is measured in only 6 of them.
    let files: Vec<(String, Results)> = (0..12)
        .map(|k| {
            let (p, mut r) = session(&base, k, if k < 9 { 5.0 } else { 50.0 }, None);
            if k % 2 == 0 {
                r.trials.retain(|t| t.name != TRIAL);
            }
            (p, r)
        })
        .collect();
    let h = build(files, Order::Time, None, &changepoint::Settings::default());
    let s = series(&h, TRIAL, "throughput_loss_pct");
    assert_eq!(s.points.iter().flatten().count(), 6);
    assert!(s.shifts.is_empty(), "6 points of its own: not tested");
}

// Issue 31 (7): a commit from a results file is text from outside: cut by
// characters, its controls shown.
#[test]
fn a_non_ascii_commit_is_cut_by_characters_and_shown_inert() {
    assert_eq!(short("ééééééééééééé"), "éééééééééé");
    assert_eq!(
        short("\u{1b}]0;PWNED\u{7}-dirty"),
        "\\x1b]0;PWNED\\x07-dirty"
    );
}
