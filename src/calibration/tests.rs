//! Calibration on hand-made blocks: the runs a target effect needs, A/A
//! comparisons between blocks, and budgets tighter than the lab can see.

use super::*;
use crate::domain::TestType;
use crate::results::Block;
use rstest::rstest;

// Source: scipy 1.10.1, `2 * ((norm.ppf(.975) + norm.ppf(.8)) * cv / e) ** 2`
// (15.70, 45.37, 22.60), rounded up.
#[rstest]
#[case(5.0, 5.0, 16)]
#[case(3.4, 2.0, 46)]
#[case(1.2, 1.0, 23)]
fn runs_needed_match_the_normal_approximation(#[case] cv: f64, #[case] e: f64, #[case] n: usize) {
    assert_eq!(runs_needed(cv, e), n);
}

fn runs(values: &[f64]) -> Vec<Run> {
    values
        .iter()
        .map(|v| Run {
            metrics: [("latency_mean_us".into(), *v)].into(),
            ..Default::default()
        })
        .collect()
}

fn baseline(blocks: &[&[f64]]) -> TrialResult {
    let mut t = TrialResult::new(
        "baseline::host::latency::tcp_rr",
        "baseline_host",
        "host",
        TestType::Latency,
        "tcp_rr",
    );
    t.runs = runs(blocks[0]);
    t.blocks = blocks[1..]
        .iter()
        .map(|b| Block {
            runs: runs(b),
            stop: None,
            remote: vec![],
            duration_s: 0.0,
            error: None,
        })
        .collect();
    t
}

#[test]
fn blocks_of_one_baseline_are_compared_with_each_other() {
    let t = baseline(&[
        &[20.0, 21.0, 19.0, 20.5, 19.5],
        &[20.2, 20.8, 19.4, 20.1, 19.9],
        &[25.0, 25.5, 24.5, 25.2, 24.8],
    ]);
    let c = &of_trial(&t).unwrap()["latency_mean_us"];
    assert_eq!((c.runs, c.aa_comparisons), (5, 2));
    // The third block moved by a quarter: one A/A comparison of two is a
    // (true) false positive of the lab.
    assert_eq!(c.aa_significant, 1);
    assert!(c.mde_pct > c.half_width_pct, "{c:?}");
    assert_eq!(c.runs_for.len(), EFFECTS.len());
    // One block is no A/A.
    assert!(of_trial(&baseline(&[&[20.0, 21.0]])).is_none());
}

#[test]
fn a_budget_below_the_detectable_effect_is_too_tight() {
    let t = baseline(&[&[20.0, 22.0, 18.0], &[21.0, 19.0, 20.0]]);
    let cal = from_results(&[Results {
        trials: vec![t],
        ..Results::new(Default::default())
    }]);
    let mde = cal.trials["baseline::host::latency::tcp_rr"]["latency_mean_us"].mde_pct;
    let budgets: indexmap::IndexMap<String, f64> = [
        ("latency_mean_increase_us".to_string(), 0.5),
        ("latency_p99_increase_pct".to_string(), 1000.0),
        ("tool_cpu_pct".to_string(), 0.001),
    ]
    .into_iter()
    .collect();
    let tight = too_tight(&cal, &budgets, &["host".to_string()]);
    // Not calibrated where the tool runs: nothing to say.
    assert!(too_tight(&cal, &budgets, &["vm".to_string()]).is_empty());
    // 0.5 µs against 20 µs is 2.5 %, below the lab's detectable effect;
    // p99 is not calibrated here, and the tool's own CPU has no baseline.
    assert_eq!(tight.len(), 1, "{tight:?}");
    assert_eq!(tight[0].budget, "latency_mean_increase_us");
    assert!((tight[0].detectable - mde * 20.0 / 100.0).abs() < 1e-9);
}
