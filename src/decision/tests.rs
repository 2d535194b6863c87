//! Decisions on the results file of a lab run (tests/data/results_lab.json)
//! and on edits of it whose answer is known.

use super::*;
use crate::ratings::{Levels, Rating};
use crate::results::Results;
use std::path::Path;

fn lab() -> Results {
    crate::results::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/results_lab.json"))
        .expect("tests/data/results_lab.json")
}

fn pair(a: &str, b: &str) -> Vec<Vec<String>> {
    vec![vec![a.to_string(), b.to_string()]]
}

#[test]
fn every_row_is_won_only_on_a_significant_difference_or_a_better_rating() {
    let r = lab();
    let (d, notes) = decide_all(&r, &pair("case_1", "case_3"), &Thresholds::default());
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(d.len(), 1, "case_3 runs on host only");
    let d = &d[0];
    assert_eq!(
        (d.a.tool.as_str(), d.b.case.as_str(), d.env.as_str()),
        ("tool_001", "case_3", "host")
    );
    let aspects: Vec<Aspect> = d.rows.iter().map(|x| x.aspect).collect();
    assert_eq!(
        aspects,
        Aspect::ALL[..5].to_vec(),
        "both sides count events on pps trials; the recorded file has no program types, so no compatibility row"
    );
    for row in &d.rows {
        let (Some(a), Some(b)) = (row.a, row.b) else {
            panic!("{row:?}")
        };
        let diff = b.minus(&a);
        let want = match row.aspect {
            Aspect::Accuracy => Winner::NotRated,
            _ if diff.significant() => {
                if diff.value > 0.0 {
                    Winner::A
                } else {
                    Winner::B
                }
            }
            _ if diff.ci95.is_none() && row.a_rating != row.b_rating => {
                if row.a_rating < row.b_rating {
                    Winner::A
                } else {
                    Winner::B
                }
            }
            _ => Winner::Tie,
        };
        assert_eq!(row.winner, want, "{row:?}");
    }
    let perf = &d.rows[0];
    let imp = d.performance_improvement_pct.unwrap();
    assert!((imp.value - (perf.a.unwrap().value - perf.b.unwrap().value)).abs() < 1e-9);
    assert!((1..=10).contains(&d.a.reliability) && d.a.stability_score.is_some());
    assert!(
        !d.overall.is_empty() && d.recommendation.contains("host"),
        "{d:?}"
    );
}

#[test]
fn a_case_against_itself_has_no_significant_difference() {
    let r = lab();
    let (d, _) = decide_all(
        &r,
        &pair("case_2", "tool_001::case_2"),
        &Thresholds::default(),
    );
    assert_eq!(d.len(), 1);
    assert!(d[0]
        .rows
        .iter()
        .all(|x| matches!(x.winner, Winner::Tie | Winner::NotRated)));
    assert_eq!(
        (d[0].winner.as_deref(), d[0].overall.as_str()),
        (None, "no significant difference")
    );
    assert!(d[0].recommendation.starts_with("Either"));
}

/// Makes every trial of `case` cost `k` times as much tool CPU, with a
/// tight interval.
fn cpu_times(r: &mut Results, case: u32, k: f64) {
    for t in r.trials.iter_mut().filter(|t| t.case_id == Some(case)) {
        if let Some(s) = t.analysis.stats.get_mut("tool_cpu_pct") {
            s.mean *= k;
            s.ci95 = Some([s.mean * 0.99, s.mean * 1.01]);
        }
    }
}

#[test]
fn a_costlier_side_loses_its_row_and_the_other_is_recommended() {
    let mut r = lab();
    cpu_times(&mut r, 1, 1.0);
    cpu_times(&mut r, 3, 50.0);
    let (d, _) = decide_all(&r, &pair("case_1", "case_3"), &Thresholds::default());
    let cpu = d[0]
        .rows
        .iter()
        .find(|x| x.aspect == Aspect::CpuEfficiency)
        .unwrap();
    assert_eq!(cpu.winner, Winner::A, "{cpu:?}");
    assert!(
        d[0].recommendation.contains("CPU efficiency"),
        "{}",
        d[0].recommendation
    );
}

#[test]
fn differing_ratings_with_overlapping_intervals_are_a_tie() {
    // Memory 15 MB ± 5 against 17 MB ± 5: EXCELLENT against GOOD, but the
    // difference is within its interval: no winner is invented.
    let th = Thresholds::default();
    let e = |v: f64| {
        Some(Estimate {
            value: v,
            ci95: Some([v - 5.0, v + 5.0]),
        })
    };
    let with = |a: Aspect, v: Option<Estimate>| (v, th.of(a).zip(v).map(|(l, v)| l.rate(v.value)));
    let row = |a: Aspect, x, y| row(a, with(a, x), with(a, y));
    let x = row(Aspect::Memory, e(15.0), e(17.0));
    assert_eq!(
        (x.a_rating, x.b_rating),
        (Some(Rating::Excellent), Some(Rating::Good))
    );
    assert_eq!(x.winner, Winner::Tie);
    let p = |v: f64| {
        Some(Estimate {
            value: v,
            ci95: None,
        })
    };
    assert_eq!(row(Aspect::Stability, p(1.0), p(7.0)).winner, Winner::A);
    assert_eq!(row(Aspect::Stability, p(3.0), p(4.0)).winner, Winner::Tie);
    assert_eq!(
        row(Aspect::Stability, p(3.0), None).winner,
        Winner::NotRated
    );
}

#[test]
fn configured_thresholds_change_the_ratings() {
    let r = lab();
    let strict = Thresholds {
        memory_mb: Levels::new(0.0, 0.0, 0.0),
        ..Thresholds::default()
    };
    let (d, _) = decide_all(&r, &pair("case_1", "case_3"), &strict);
    let mem = d[0]
        .rows
        .iter()
        .find(|x| x.aspect == Aspect::Memory)
        .unwrap();
    assert_eq!(
        (mem.a_rating, mem.b_rating),
        (Some(Rating::Poor), Some(Rating::Poor))
    );
}

#[test]
fn noisy_headlines_lower_reliability() {
    let mut r = lab();
    let (d, _) = decide_all(&r, &pair("case_1", "case_3"), &Thresholds::default());
    let before = d[0].a.reliability;
    for t in r.trials.iter_mut().filter(|t| t.case_id == Some(1)) {
        t.analysis
            .noisy
            .push(crate::metrics::headline(t.test_type).name.into());
    }
    let (d, _) = decide_all(&r, &pair("case_1", "case_3"), &Thresholds::default());
    // The lab file has some noisy headlines already; all noisy is the floor.
    assert!(before > 1, "{before}");
    assert_eq!(d[0].a.reliability, 1);
}

#[test]
fn names_and_pairs_not_in_the_file_are_named_once() {
    let r = lab();
    let (d, notes) = decide_all(
        &r,
        &[vec!["case_1".into(), "case_4".into(), "case_9".into()]],
        &Thresholds::default(),
    );
    assert!(d.is_empty(), "case_4 runs on vm only, case_9 nowhere");
    // case_9 once, not once per pair it is in.
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!(notes[0], "case_9: not in this results file");
    assert!(notes[1].contains("case_1 and case_4") && notes[1].contains("one environment"));
}

#[test]
fn recommendations_name_the_closest_budgets_and_the_costliest_case() {
    let r = lab();
    let adv = recommendations(&r);
    let tools: Vec<&str> = adv.iter().map(|a| a.tool.as_str()).collect();
    let mut want: Vec<&str> = r
        .trials
        .iter()
        .filter_map(|t| t.tool_id.as_deref())
        .collect();
    want.dedup();
    assert_eq!(tools, want);
    for a in &adv {
        assert!(!a.closest.is_empty() && a.closest.len() <= CLOSEST);
        let shares: Vec<f64> = a.closest.iter().map(|(_, v, l, _)| v / l).collect();
        // Lower bounds aside, closest first.
        assert!(shares.windows(2).all(|w| w[0] >= w[1]), "{shares:?}");
        // The costliest case is the worst performance cost of the tool's trials.
        let (case, v, trial) = a.costliest.clone().unwrap();
        let t = r.trial(&trial).unwrap();
        assert_eq!(format!("case_{}", t.case_id.unwrap()), case);
        let max = r
            .trials
            .iter()
            .filter(|t| t.tool_id.as_deref() == Some(&a.tool))
            .filter_map(|t| worst(&[t], &PERFORMANCE))
            .map(|e| e.value)
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(v, max);
        assert!(
            a.text.contains(&case) && a.text.contains("closest to"),
            "{}",
            a.text
        );
    }
}

// Issue 31 (9): a comparisons list from outside asks for every pair of a
// long group. Unknown names give a note each (capped), not one per pair;
// known names give at most MAX_DECISIONS decisions, and the rest a count.
#[test]
fn a_long_comparisons_group_is_bounded() {
    let r = lab();
    let unknown: Vec<String> = (0..6000).map(|i| format!("nope_{i}")).collect();
    let (d, notes) = decide_all(&r, &[unknown], &Thresholds::default());
    assert!(d.is_empty());
    assert_eq!(notes.len(), MAX_NOTES + 1, "{:?}", &notes[..3]);
    assert_eq!(
        notes[MAX_NOTES],
        format!("and {} more like these", 6000 - MAX_NOTES)
    );

    // Known names, repeated: 2,000 of them are 1,999,000 pairs.
    let known: Vec<String> = (0..2000)
        .map(|i| ["case_1", "case_3"][i % 2].into())
        .collect();
    let (d, notes) = decide_all(&r, &[known], &Thresholds::default());
    assert!(d.len() <= MAX_DECISIONS * 2, "{}", d.len());
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with(&format!("{} more pairs", 1_999_000 - MAX_DECISIONS))),
        "{:?}",
        notes.last()
    );
}

#[test]
fn the_stability_score_is_on_seed_003s_scale_and_older_files_are_rescaled() {
    let mut r = lab();
    let (d, _) = decide_all(&r, &pair("case_1", "case_3"), &Thresholds::default());
    let score = d[0].a.stability_score.unwrap();
    assert!((0.0..=10.0).contains(&score), "{score}");
    // 10 minus a tenth of the largest headline CV.
    let key = (
        "tool_001".to_string(),
        "case_1".to_string(),
        "host".to_string(),
    );
    let ts = trials(&r, &groups(&r).0[&key]);
    let cv = largest_cv(&ts).unwrap();
    assert!(
        (score - (10.0 - cv / 10.0).max(0.0)).abs() < 1e-9,
        "{score} {cv}"
    );
    // A schema-2 file scored 0–100: it loads on this scale.
    r.schema = crate::results::SCHEMA;
    r.decisions = d;
    r.decisions[0].a.stability_score = Some(85.0);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.json");
    crate::results::write(&p, &r).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains("\"schema\":3"));
    std::fs::write(&p, text.replacen("\"schema\":3", "\"schema\":2", 1)).unwrap();
    let back = crate::results::read(&p).unwrap();
    assert_eq!(back.decisions[0].a.stability_score, Some(8.5));
}

/// Makes every run of `case` hold BPF programs of `types` on one host.
fn loads(r: &mut Results, case: u32, types: &[&str]) {
    for t in r.trials.iter_mut().filter(|t| t.case_id == Some(case)) {
        for run in t.blocks.iter_mut().flat_map(|b| &mut b.runs) {
            let s = run.tool_series.entry("host-server".into()).or_default();
            s.prog_types = types.iter().map(|x| x.to_string()).collect();
        }
    }
}

fn compat_row(d: &crate::results::Decision) -> &crate::results::DecisionRow {
    d.rows
        .iter()
        .find(|x| x.aspect == Aspect::Compatibility)
        .expect("a compatibility row")
}

#[test]
fn the_older_kernel_a_tool_runs_on_wins_compatibility() {
    // Seed 003's matrix: kprobe EXCELLENT, tracepoint GOOD, kprobe wins.
    let mut r = lab();
    loads(&mut r, 1, &["kprobe"]);
    loads(&mut r, 3, &["tracepoint", "perf_event"]);
    let (d, _) = decide_all(&r, &pair("case_1", "case_3"), &Thresholds::default());
    let row = compat_row(&d[0]);
    let kernel = |e: Option<Estimate>| crate::compat::Kernel::of_level(e.unwrap().value);
    assert_eq!(kernel(row.a), Some(crate::compat::Kernel::new(4, 1)));
    assert_eq!(kernel(row.b), Some(crate::compat::Kernel::new(4, 9)));
    assert_eq!(
        (row.a_rating, row.b_rating),
        (Some(Rating::Excellent), Some(Rating::Good))
    );
    assert_eq!(row.winner, Winner::A);
    let rated = per_case(&r, &Thresholds::default());
    let c3 = rated.iter().find(|c| c.case == "case_3").unwrap();
    assert!(c3
        .aspects
        .iter()
        .any(|(a, v, rt)| *a == Aspect::Compatibility && v.is_some() && *rt == Some(Rating::Good)));
}

#[test]
fn a_tool_that_did_not_load_is_poor_at_compatibility_and_loses_the_row() {
    let mut r = lab();
    loads(&mut r, 1, &["tracing"]);
    let cycle = r
        .trials
        .iter()
        .find(|t| t.case_id == Some(3))
        .unwrap()
        .cycle
        .clone();
    r.session.episodes.push(crate::results::Episode {
        case: cycle,
        pair: 1,
        started: String::new(),
        ready_s: None,
        start_s: None,
        stop_s: 0.0,
    });
    let (d, _) = decide_all(&r, &pair("case_1", "case_3"), &Thresholds::default());
    let row = compat_row(&d[0]);
    // fentry (tracing, 5.5) is FAIR by default, but it loaded.
    assert_eq!(
        (row.a_rating, row.b_rating),
        (Some(Rating::Fair), Some(Rating::Poor))
    );
    assert_eq!(row.b, None);
    assert_eq!(row.winner, Winner::A);
}

#[test]
fn hosts_that_could_not_run_what_a_case_loaded_are_named() {
    let mut r = lab();
    loads(&mut r, 3, &["tracepoint", "perf_event"]);
    let hosts = &mut r.session.hosts;
    hosts.clear();
    hosts.insert(
        "old".into(),
        serde_json::json!({"kernel": "4.4.0-210-generic"}),
    );
    hosts.insert(
        "no-perf".into(),
        serde_json::json!({"kernel": "6.1.0-18-amd64", "bpf_program_types": ["kprobe", "tracepoint"]}),
    );
    hosts.insert(
        "fine".into(),
        serde_json::json!({"kernel": "6.18.4", "bpf_program_types": ["perf_event", "tracepoint"]}),
    );
    // Without the probe, a new enough kernel is not held against it.
    hosts.insert("unprobed".into(), serde_json::json!({"kernel": "6.18.4"}));
    let rated = per_case(&r, &Thresholds::default());
    let c3 = rated.iter().find(|c| c.case == "case_3").unwrap();
    assert_eq!(
        c3.lacking,
        [
            "no-perf: lacks perf_event",
            "old: kernel 4.4 is older than 4.9"
        ]
    );
    let c1 = rated.iter().find(|c| c.case == "case_1").unwrap();
    assert!(c1.lacking.is_empty(), "case_1 holds no known types here");
}

#[test]
fn a_crafted_file_gets_a_bounded_list_and_its_unknown_types_are_left_out() {
    let mut r = lab();
    let junk: Vec<String> = (0..500).map(|i| format!("<x{i}>")).collect();
    let mut held = vec!["tracepoint"];
    held.extend(junk.iter().map(String::as_str));
    loads(&mut r, 3, &held);
    r.session.hosts = (0..50)
        .map(|i| {
            (
                format!("h{i:02}"),
                serde_json::json!({"bpf_program_types": junk}),
            )
        })
        .collect();
    let rated = per_case(&r, &Thresholds::default());
    let c3 = rated.iter().find(|c| c.case == "case_3").unwrap();
    assert_eq!(c3.lacking.len(), compat::MAX_LACKING + 1);
    assert_eq!(c3.lacking[0], "h00: lacks tracepoint");
    assert_eq!(c3.lacking.last().unwrap(), "and 40 more hosts");
}
