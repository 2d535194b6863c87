//! Bracketing on hand-made runs: which blocks are around a trial, and when
//! a move between them is drift.

use super::*;
use crate::domain::TestType;
use crate::results::Block;

/// A run at second `s` of the session (one second long) with one metric.
fn run(s: u32, metric: &str, v: f64) -> Run {
    Run {
        start: format!("2026-11-29 21:00:{s:02}.000000000"),
        end: format!("2026-11-29 21:00:{:02}.000000000", s + 1),
        metrics: [(metric.into(), v)].into(),
        tool_series: Default::default(),
        dirs: vec![],
        quiet: vec![],
    }
}

fn block(runs: Vec<Run>) -> Block {
    Block {
        runs,
        stop: None,
        remote: vec![],
        duration_s: 0.0,
        error: None,
    }
}

fn trial(runs: Vec<Run>) -> TrialResult {
    let mut t = TrialResult::new("t", "c", "host", TestType::Latency, "tcp_rr");
    t.runs = runs;
    t
}

const M: &str = "latency_mean_us";

/// A baseline at seconds 0-2, again at 20-22 and at 40-42.
fn baseline(levels: [f64; 3]) -> TrialResult {
    let at = |s: u32, l: f64| vec![run(s, M, l), run(s + 1, M, l + 0.1), run(s + 2, M, l - 0.1)];
    let mut b = trial(at(0, levels[0]));
    b.blocks = vec![block(at(20, levels[1])), block(at(40, levels[2]))];
    b
}

#[test]
fn a_trial_is_compared_with_the_blocks_just_before_and_after_it() {
    let b = baseline([20.0, 21.0, 22.0]);
    let t = trial(vec![run(25, M, 30.0), run(26, M, 30.0)]);
    let a = around(&b, &t);
    assert_eq!(a.before[0].start, b.blocks[0].runs[0].start);
    assert_eq!(a.after.unwrap()[0].start, b.blocks[1].runs[0].start);
    assert_eq!(a.runs().len(), 6);
    // After the last block: only the one before it.
    let late = trial(vec![run(50, M, 30.0)]);
    let a = around(&b, &late);
    assert_eq!(a.before[0].start, b.blocks[1].runs[0].start);
    assert!(a.after.is_none());
}

#[test]
fn a_baseline_from_before_the_session_still_serves() {
    // A trial that began before any block ended (as against a baseline
    // from --baseline-from, or the first block itself): the first block serves.
    let b = baseline([20.0, 21.0, 22.0]);
    let early = trial(vec![run(0, M, 30.0)]);
    let a = around(&b, &early);
    assert_eq!(a.before[0].start, b.runs[0].start);
}

#[test]
fn a_move_beyond_the_limit_is_drift_and_noise_is_not() {
    // 20 µs, then 23 µs: +15 %, beyond doubt, past a 10 % limit.
    let b = baseline([20.0, 23.0, 23.0]);
    let t = trial(vec![run(10, M, 30.0)]);
    let d = drift(&around(&b, &t), 10.0);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].metric, M);
    assert!((d[0].change_pct.value - 15.0).abs() < 1e-9);
    // The same move within a 20 % limit: no drift.
    assert!(drift(&around(&b, &t), 20.0).is_empty());
    // A large but noisy move: its interval holds zero, so no drift.
    let mut noisy = trial(vec![run(0, M, 10.0), run(1, M, 30.0), run(2, M, 20.0)]);
    noisy.blocks = vec![block(vec![
        run(20, M, 12.0),
        run(21, M, 40.0),
        run(22, M, 26.0),
    ])];
    assert!(drift(&around(&noisy, &t), 10.0).is_empty());
}
