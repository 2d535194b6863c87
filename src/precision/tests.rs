//! The stopping rule on hand-made states: fixed counts, the floor and the
//! ceiling, the target of a pair-level interval and of a baseline measured
//! alone, the time cap, and that the rule never looks at where an interval
//! lies (it is given only widths).

use super::*;
use crate::metrics::{self, LATENCY_MEAN_US};
use rstest::rstest;

fn plan(target: Option<f64>, min: u32, max: u32, cap: Option<f64>) -> Plan {
    Plan {
        warmup: 0,
        runs: 1,
        min_pairs: min,
        max_pairs: max,
        target_ci_pct: target,
        max_trial_s: cap,
    }
}

fn state(pairs: u32, half: Option<f64>) -> State {
    State {
        pairs,
        half_width_pct: half,
        elapsed_s: 2.2 * f64::from(pairs),
        slowest_pair_s: 2.2,
        alone: false,
    }
}

fn mean_latency() -> &'static Metric {
    metrics::get(LATENCY_MEAN_US).unwrap()
}

#[rstest]
#[case(plan(None, 6, 6, None), state(5, Some(1.0)), None)]
#[case(plan(None, 6, 6, None), state(6, Some(50.0)), Some(Reason::Fixed))]
#[case(plan(Some(10.0), 6, 10, None), state(5, Some(1.0)), None)]
#[case(
    plan(Some(10.0), 6, 10, None),
    state(6, Some(9.9)),
    Some(Reason::Target)
)]
#[case(plan(Some(10.0), 6, 10, None), state(6, Some(10.1)), None)]
#[case(plan(Some(10.0), 6, 10, None), state(6, None), None)]
#[case(
    plan(Some(10.0), 6, 10, None),
    state(10, Some(15.0)),
    Some(Reason::MaxPairs)
)]
// 7 pairs of 2.2 s: 15.4 s; one more would end at 17.6 s.
#[case(
    plan(Some(10.0), 6, 10, Some(17.0)),
    state(7, Some(15.0)),
    Some(Reason::TimeCap)
)]
#[case(plan(Some(10.0), 6, 10, Some(18.0)), state(7, Some(15.0)), None)]
// The floor holds against the time cap.
#[case(plan(Some(10.0), 6, 10, Some(1.0)), state(5, Some(15.0)), None)]
fn the_rule_stops_on_width_count_and_time(
    #[case] p: Plan,
    #[case] st: State,
    #[case] want: Option<Reason>,
) {
    let got = check(&p, mean_latency(), &st);
    assert_eq!(got.as_ref().map(|s| s.reason), want, "{got:?}");
    if let Some(s) = got {
        assert_eq!((s.pairs, s.half_width_pct), (st.pairs, st.half_width_pct));
    }
}

#[test]
fn a_baseline_measured_alone_holds_its_own_mean_to_target_over_root_two() {
    let p = plan(Some(10.0), 6, 10, None);
    let alone = |h| State {
        alone: true,
        ..state(6, Some(h))
    };
    assert_eq!(check(&p, mean_latency(), &alone(7.5)), None);
    assert_eq!(
        check(&p, mean_latency(), &alone(7.0)).map(|s| s.reason),
        Some(Reason::Target)
    );
}

#[test]
fn schema_one_reasons_still_read() {
    let s: Stop = serde_json::from_str(
        r#"{"reason": "baseline_bound", "runs": 7, "metric": "latency_mean_us", "overhead_pct": 8.3}"#,
    )
    .unwrap();
    assert_eq!(
        (s.reason, s.pairs, s.half_width_pct),
        (Reason::Other, 7, Some(8.3))
    );
    let s: Stop =
        serde_json::from_str(r#"{"reason": "max_repeats", "runs": 12, "metric": "m"}"#).unwrap();
    assert_eq!(s.reason, Reason::MaxPairs);
}
