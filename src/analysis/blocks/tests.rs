//! Block summaries: the block's mean is the unit.

use super::*;
use crate::results::Run;

fn block(values: &[f64]) -> Block {
    Block {
        runs: values
            .iter()
            .map(|v| Run {
                metrics: [("latency_mean_us".into(), *v)].into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn the_summary_is_over_block_means_not_runs() {
    // Runs 10, 12 | 20, 22 | 30: block means 11, 21, 30.
    let blocks = [block(&[10.0, 12.0]), block(&[20.0, 22.0]), block(&[30.0])];
    let s = &summarize(&blocks)["latency_mean_us"];
    assert_eq!(s.n, 3);
    assert!((s.mean - 62.0 / 3.0).abs() < 1e-12, "{s:?}");
    assert_eq!(s.median, 21.0);
}

#[test]
fn a_metric_missing_from_a_run_is_averaged_over_the_runs_that_have_it() {
    let mut b = block(&[10.0, 14.0]);
    b.runs[1].metrics.clear();
    let s = &summarize([&b])["latency_mean_us"];
    assert_eq!((s.n, s.mean), (1, 10.0));
}
