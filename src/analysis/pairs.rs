//! The comparison of an eBPF trial with its baseline over its pairs
//! (docs/design.md §7): per compared metric of the catalog, the pair-level
//! estimate of [`crate::stats::paired`] on the metric's scale (log ratios;
//! points for a percentage such as CPU busy), its interval, its t-test p
//! with the exact sign-flip p beside it, and the normal score of its t statistic.

use crate::metrics::{self, Metric, Unit};
use crate::results::{Comparison, MetricComparison, Pair, TrialResult};
use crate::stats::paired::{self, Scale};
use std::collections::BTreeMap;

/// The scale a compared metric is tested on.
pub fn scale_of(m: &Metric) -> Scale {
    if m.unit == Unit::Percent {
        Scale::Points
    } else {
        Scale::Ratio
    }
}

/// Both blocks' means of `metric` over the pairs that have it on both sides.
fn columns(pairs: &[Pair<'_>], metric: &str) -> (Vec<f64>, Vec<f64>) {
    pairs
        .iter()
        .filter_map(|p| Some((p.baseline.mean(metric)?, p.tool.mean(metric)?)))
        .unzip()
}

/// One metric over the pairs.
pub fn compare_metric(t: &TrialResult, m: &Metric) -> Option<paired::Paired> {
    let (base, tool) = columns(&t.pairs(), m.name);
    let step = metrics::step_of(m.name, base.iter().sum::<f64>() / base.len().max(1) as f64);
    paired::compare(&base, &tool, scale_of(m), step)
}

/// The trial against its baseline blocks, every compared metric; `None`
/// without a complete pair.
pub fn compare(t: &TrialResult, baseline: &str) -> Option<Comparison> {
    if t.pairs().is_empty() {
        return None;
    }
    let mut out = BTreeMap::new();
    for m in metrics::compared() {
        let Some(mut c) = compare_metric(t, m) else {
            continue;
        };
        if !m.tested {
            (c.p, c.p_exact, c.z) = (None, None, None);
        }
        out.insert(
            m.name.into(),
            MetricComparison {
                pairs: c.k,
                baseline_mean: c.base_mean,
                ebpf_mean: c.tool_mean,
                abs: c.abs,
                rel_pct: c.rel_pct,
                p: c.p,
                p_exact: c.p_exact,
                z: c.z,
                q: None,
                significant: false,
                q_exact: None,
            },
        );
    }
    Some(Comparison {
        baseline: baseline.to_string(),
        baseline_source: "this run, in pairs".into(),
        metrics: out,
    })
}

/// The half-width (percent) of the headline's cost over the pairs so far:
/// what the stopping rule reads.
pub fn headline_half_width(t: &TrialResult, headline: &Metric) -> Option<f64> {
    let c = compare_metric(t, headline)?;
    let [lo, hi] = c.rel_pct?.ci95?;
    Some((hi - lo) / 2.0)
}
