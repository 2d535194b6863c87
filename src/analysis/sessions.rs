//! Across sessions (docs/design.md §7): `--compare-to` and `--baseline-from`
//! compare estimates of two sessions, and a session is a unit of its own:
//! whatever is the same for a whole session (a boot, a kernel's mood, the
//! lab's provisioning) differs between them and is in no within-session
//! interval. The variance between sessions is measured on the baselines
//! both files hold (they carry no tool, so every difference between their
//! sessions' means is the sessions' own): φ, the mean over those baseline
//! trials and compared metrics of g²/SE², g the difference of the two
//! sessions' means and SE its within-session standard error, floored at 1.
//! Every cross-session interval is widened by √φ. Without a baseline in
//! common φ cannot be measured, and a cross-session comparison has no
//! interval: its verdicts are inconclusive, and say why.

use crate::metrics;
use crate::results::{Comparison, MetricComparison, Results, TrialResult};
use crate::stats::{self, Estimate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The variance between two sessions, measured on their common baselines.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Between {
    /// Mean of g²/SE² (floored at 1 when used).
    pub phi: f64,
    /// (Baseline trial, compared metric) values it was measured on.
    pub n: usize,
}

impl Between {
    /// The factor every cross-session half-width is multiplied by.
    pub fn widen(&self) -> f64 {
        self.phi.max(1.0).sqrt()
    }
}

/// The log of a session's mean of `metric` in baseline trial `t`, and its
/// standard error (delta method), over its blocks.
fn log_mean(t: &TrialResult, metric: &str) -> Option<(f64, f64)> {
    let s = crate::analysis::blocks::summarize(t.own_blocks());
    let s = s.get(metric)?;
    (s.n >= 2 && s.mean > 0.0).then(|| (s.mean.ln(), s.stddev / (s.n as f64).sqrt() / s.mean))
}

/// φ between `now` and `then` (see the module's head); `None` without a
/// baseline trial both measured in two or more blocks.
pub fn between(now: &Results, then: &Results) -> Option<Between> {
    let mut z2 = Vec::new();
    for a in now.trials.iter().filter(|t| t.is_baseline()) {
        let Some(b) = then.trials.iter().find(|t| t.name == a.name) else {
            continue;
        };
        for m in metrics::compared() {
            let (Some((x, sx)), Some((y, sy))) = (log_mean(a, m.name), log_mean(b, m.name)) else {
                continue;
            };
            let se2 = sx * sx + sy * sy;
            if se2 > 0.0 {
                z2.push((x - y).powi(2) / se2);
            }
        }
    }
    (!z2.is_empty()).then(|| Between {
        phi: z2.iter().sum::<f64>() / z2.len() as f64,
        n: z2.len(),
    })
}

/// Widens an estimate's interval by `k` about its value.
pub fn widened(e: Estimate, k: f64) -> Estimate {
    Estimate {
        value: e.value,
        ci95: e
            .ci95
            .map(|[lo, hi]| [e.value - k * (e.value - lo), e.value + k * (hi - e.value)]),
    }
}

/// An eBPF trial's tool blocks against an earlier session's baseline
/// blocks (`--baseline-from`): Welch over blocks (each block one stretch
/// of its session), widened by √φ; without φ, no interval at all.
pub fn compare_across(
    t: &TrialResult,
    base: &TrialResult,
    between: Option<Between>,
    source: String,
) -> Comparison {
    let (bs, ts) = (
        crate::analysis::blocks::summarize(base.own_blocks()),
        crate::analysis::blocks::summarize(t.own_blocks()),
    );
    let mut out = BTreeMap::new();
    for m in metrics::compared() {
        let (Some(b), Some(e)) = (bs.get(m.name), ts.get(m.name)) else {
            continue;
        };
        let d = stats::difference(b, e);
        let k = between.map(|w| w.widen());
        let wide = |x: Estimate| match k {
            Some(k) => widened(x, k),
            None => Estimate { ci95: None, ..x },
        };
        // No p: significance labels are for comparisons within a session.
        let (abs, rel_pct, p) = (wide(d.abs), d.rel_pct.map(wide), None);
        out.insert(
            m.name.into(),
            MetricComparison {
                pairs: 0,
                baseline_mean: b.mean,
                ebpf_mean: e.mean,
                abs,
                rel_pct,
                p,
                p_exact: None,
                z: None,
                q: None,
                significant: false,
                q_exact: None,
            },
        );
    }
    Comparison {
        baseline: base.name.clone(),
        baseline_source: source,
        metrics: out,
    }
}
