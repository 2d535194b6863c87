//! The stopping rule on hand-made runs: fixed counts, the floor and the
//! ceiling, the target of a side's own interval and of the overhead, the
//! time cap, and that the rule never looks at where an interval lies.

use super::*;
use crate::metrics::{self, LATENCY_MEAN_US, THROUGHPUT_BPS};
use rstest::rstest;

fn target(t: f64, min: u32, max: u32, cap: Option<f64>) -> Plan {
    Plan {
        warmup: 0,
        min,
        max,
        target_ci_pct: Some(t),
        max_trial_s: cap,
    }
}

fn state<'a>(own: &'a [f64], baseline: Option<&'a Summary>) -> State<'a> {
    State {
        own,
        baseline,
        elapsed_s: 2.0 * own.len() as f64,
        slowest_s: 2.0,
    }
}

fn mean_latency() -> &'static Metric {
    metrics::get(LATENCY_MEAN_US).unwrap()
}

#[test]
fn a_fixed_count_stops_at_its_count() {
    let m = mean_latency();
    let plan = Plan::fixed(0, 3);
    assert_eq!(check(&plan, m, &state(&[20.0, 21.0], None)), None);
    let s = check(&plan, m, &state(&[20.0, 21.0, 40.0], None)).unwrap();
    assert_eq!((s.reason, s.runs), (Reason::Fixed, 3));
}

// Own half-widths of these runs: 3 identical-ish runs (±0.6 %), a noisy
// set (±25 %); the own target is target/√2.
#[rstest]
#[case(&[20.0, 20.1, 20.05], 4.0, Some(Reason::Target))]
#[case(&[20.0, 26.0, 15.0], 4.0, None)]
#[case(&[20.0, 26.0, 15.0, 21.0, 19.0, 24.0, 16.0, 22.0, 18.0, 20.0], 4.0, Some(Reason::MaxRepeats))]
fn a_baseline_stops_on_its_own_interval(
    #[case] own: &[f64],
    #[case] t: f64,
    #[case] want: Option<Reason>,
) {
    let got = check(&target(t, 3, 10, None), mean_latency(), &state(own, None));
    assert_eq!(got.map(|s| s.reason), want);
}

#[test]
fn below_the_floor_it_never_stops() {
    let plan = target(50.0, 3, 10, None);
    assert_eq!(
        check(&plan, mean_latency(), &state(&[20.0, 20.0], None)),
        None
    );
}

#[test]
fn an_ebpf_trial_is_held_to_the_overhead_interval() {
    let m = mean_latency();
    // A precise baseline and a precise eBPF side: the overhead is precise.
    let base = stats::summarize(&[20.0, 20.2, 19.9, 20.1]).unwrap();
    let s = check(
        &target(4.0, 3, 10, None),
        m,
        &state(&[22.0, 22.1, 21.9], Some(&base)),
    )
    .unwrap();
    assert_eq!(s.reason, Reason::Target);
    assert!(s.overhead_pct.unwrap() <= 4.0, "{s:?}");
    // A noisy baseline: once this trial's own share is met, more of its
    // runs cannot narrow the overhead; it stops and says the baseline sets
    // the width.
    let noisy = stats::summarize(&[20.0, 26.0, 15.0]).unwrap();
    let s = check(
        &target(4.0, 3, 10, None),
        m,
        &state(&[22.0, 22.1, 21.9], Some(&noisy)),
    )
    .unwrap();
    assert_eq!(s.reason, Reason::BaselineBound);
    assert!(s.overhead_pct.unwrap() > 4.0, "{s:?}");
    // ... but not before: a noisy trial against a noisy baseline goes on.
    assert_eq!(
        check(
            &target(4.0, 3, 10, None),
            m,
            &state(&[20.0, 26.0, 15.0], Some(&noisy))
        ),
        None
    );
}

// Shifting every run by the same amount moves the interval, not its width:
// the rule gives the same answer whether the overhead looks significant or not.
#[rstest]
#[case(0.0)]
#[case(5.0)]
#[case(-3.0)]
fn where_the_interval_lies_does_not_matter(#[case] shift: f64) {
    let m = metrics::get(THROUGHPUT_BPS).unwrap();
    let base = stats::summarize(&[100.0, 101.0, 99.0, 100.5]).unwrap();
    let own: Vec<f64> = [100.0, 102.0, 98.0].iter().map(|v| v + shift).collect();
    let got = check(&target(2.0, 3, 10, None), m, &state(&own, Some(&base)));
    assert_eq!(got, None, "shift {shift}");
}

#[test]
fn the_time_cap_stops_before_a_run_that_would_pass_it() {
    let m = mean_latency();
    let noisy = [20.0, 26.0, 15.0, 22.0];
    let plan = target(1.0, 3, 10, Some(9.0));
    // 4 runs of 2 s: 8 s done, the next would end at 10 s > 9 s.
    assert_eq!(
        check(&plan, m, &state(&noisy, None)).unwrap().reason,
        Reason::TimeCap
    );
    let plan = target(1.0, 3, 10, Some(11.0));
    assert_eq!(check(&plan, m, &state(&noisy, None)), None);
}
