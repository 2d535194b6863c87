//! Calibration on hand-made blocks: the MDE and the pairs a target effect
//! needs against scipy, the over-dispersion of A/A pairs, the floor, and
//! budgets tighter than the lab can see.

use super::*;
use crate::domain::TestType;
use crate::results::{Block, Run};
use rstest::rstest;

// Source: scipy 1.17.1,
// `(t.ppf(.975, k-1) + t.ppf(.8, k-1)) * sd / sqrt(k)`.
#[rstest]
#[case(10.0, 6, 14.248378161859803)]
#[case(10.0, 10, 9.947137350096735)]
#[case(2.0, 20, 1.321057603973274)]
fn mde_matches_the_t_quantiles(#[case] sd: f64, #[case] k: u32, #[case] want: f64) {
    assert!((mde(sd, k) - want).abs() < 1e-6, "{} != {want}", mde(sd, k));
}

#[test]
fn pairs_needed_is_the_least_k_whose_mde_reaches_the_effect() {
    let k = pairs_needed(10.0, 10.0).unwrap();
    assert!(mde(10.0, k) <= 10.0 && mde(10.0, k - 1) > 10.0, "{k}");
    assert_eq!(pairs_needed(100.0, 0.1), None);
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
    t.blocks = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| Block {
            pair: i as u32 + 1,
            runs: runs(b),
            ..Default::default()
        })
        .collect();
    t
}

#[test]
fn blocks_that_move_more_than_their_runs_allow_are_over_dispersed_and_set_a_floor() {
    // Tight runs, blocks that jump: φ far above 1, a floor above 1 %.
    let jumpy = baseline(&[
        &[20.0, 20.1, 19.9],
        &[24.0, 24.1, 23.9],
        &[19.0, 19.1, 18.9],
        &[25.0, 25.1, 24.9],
    ]);
    let c = &of_trial(&jumpy).unwrap()["latency_mean_us"];
    assert_eq!(
        (c.blocks, c.runs, c.aa_pairs, c.aa_beyond),
        (4, 3, 3, Some(3))
    );
    assert!(c.phi.unwrap() > 100.0, "{c:?}");
    assert!(c.floor_pct.unwrap() > 1.0, "{c:?}");
    assert!(c.mde_pct > c.mde_max_pct);
    assert!(table(&from_results(&[Results {
        trials: vec![jumpy],
        ..Results::new(Default::default())
    }]))
    .contains("cannot see a 1 % cost"));
    // Blocks that agree within their runs: φ near 1, no floor to speak of.
    let calm = baseline(&[
        &[20.0, 21.0, 19.0],
        &[20.5, 19.5, 20.0],
        &[19.8, 20.8, 20.2],
    ]);
    let c = &of_trial(&calm).unwrap()["latency_mean_us"];
    assert!(c.phi.unwrap() < 3.0, "{c:?}");
    assert!(c.floor_pct.unwrap() < 1.0, "{c:?}");
    // One run a block: no φ (the runs' own spread is unknown), still an MDE.
    let one = baseline(&[&[20.0], &[21.0], &[19.5]]);
    let c = &of_trial(&one).unwrap()["latency_mean_us"];
    assert_eq!((c.phi, c.floor_pct), (None, None));
    assert!(c.mde_pct > 0.0);
    // One block is no A/A.
    assert!(of_trial(&baseline(&[&[20.0, 21.0]])).is_none());
}

#[test]
fn a_budget_below_the_detectable_effect_is_too_tight() {
    let t = baseline(&[
        &[20.0, 22.0, 18.0],
        &[21.0, 19.0, 20.0],
        &[20.5, 19.0, 21.0],
    ]);
    let cal = from_results(&[Results {
        trials: vec![t],
        ..Results::new(Default::default())
    }]);
    let c = &cal.trials["baseline::host::latency::tcp_rr"]["latency_mean_us"];
    let budgets: indexmap::IndexMap<String, f64> = [
        ("latency_mean_increase_us".to_string(), 0.1),
        ("latency_p99_increase_pct".to_string(), 1000.0),
        ("tool_cpu_pct".to_string(), 0.001),
    ]
    .into_iter()
    .collect();
    let tight = too_tight(&cal, &budgets, &["host".to_string()]);
    // Not calibrated where the tool runs: nothing to say.
    assert!(too_tight(&cal, &budgets, &["vm".to_string()]).is_empty());
    // 0.1 µs against 20 µs is 0.5 %, below the lab's detectable effect;
    // p99 is not calibrated here, and the tool's own CPU has no baseline.
    assert_eq!(tight.len(), 1, "{tight:?}");
    assert_eq!(tight[0].budget, "latency_mean_increase_us");
    assert!((tight[0].detectable - c.mde_pct * c.mean / 100.0).abs() < 1e-9);
}
