//! How many runs a trial makes: a fixed count, or as many as it takes for
//! its headline metric's interval to reach a target precision (with a floor,
//! a ceiling and a wall-time cap). The stopping rule looks only at the width
//! of intervals, never at their position: stopping once a result looks
//! significant would bias it (docs/design.md §7).

use crate::metrics::Metric;
use crate::stats::{self, Summary};
use serde::{Deserialize, Serialize};

/// The run plan of a test type, resolved from the spec and the command line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub warmup: u32,
    pub min: u32,
    pub max: u32,
    /// Target half-width of the overhead's 95 % interval, percent of the
    /// baseline; `None`: a fixed count (`min == max`).
    pub target_ci_pct: Option<f64>,
    /// No run starts that would end after this many seconds of runs.
    pub max_trial_s: Option<f64>,
}

impl Plan {
    pub fn fixed(warmup: u32, repeats: u32) -> Plan {
        Plan {
            warmup,
            min: repeats,
            max: repeats,
            target_ci_pct: None,
            max_trial_s: None,
        }
    }

    /// The target a side's own interval is held to: target/√2, so that two
    /// sides that each meet it give an overhead that meets the target.
    pub fn own_target(&self) -> Option<f64> {
        self.target_ci_pct.map(|t| t / std::f64::consts::SQRT_2)
    }
}

/// Why a trial stopped adding runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The configured count ran (no precision target).
    Fixed,
    /// The interval reached the target.
    Target,
    /// The trial's own share of the overhead's interval reached target/√2,
    /// and the rest of the width is the baseline's: more runs of this
    /// trial would not narrow it.
    BaselineBound,
    /// `max_repeats` ran before the target was reached.
    MaxRepeats,
    /// The next run would have passed `max_trial_s`.
    TimeCap,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Fixed => "fixed count",
            Reason::Target => "target reached",
            Reason::BaselineBound => "own share reached, the baseline sets the rest",
            Reason::MaxRepeats => "max repeats",
            Reason::TimeCap => "time cap",
        }
    }
}

/// Why a trial stopped and how precise it was then (results.json).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    pub reason: Reason,
    pub runs: u32,
    /// The headline metric.
    pub metric: String,
    /// Half-width of its own 95 % interval, percent of its mean.
    pub own_pct: Option<f64>,
    /// Half-width of the overhead's 95 % interval, percent of the baseline
    /// (eBPF trials with a baseline).
    pub overhead_pct: Option<f64>,
    pub target_pct: Option<f64>,
}

/// What the rule looks at after each measured run.
pub struct State<'a> {
    /// The headline metric's values so far.
    pub own: &'a [f64],
    /// The baseline's summary of the same metric (eBPF trials).
    pub baseline: Option<&'a Summary>,
    /// Seconds of measured runs so far, and of the slowest one.
    pub elapsed_s: f64,
    pub slowest_s: f64,
}

/// Half-widths in percent for a metric's values: its own (of its mean),
/// the overhead's (of the baseline's mean), and its own share of the
/// overhead's (its own half-width over the baseline's mean).
pub fn half_widths(
    m: &Metric,
    own: &[f64],
    baseline: Option<&Summary>,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    let Some(s) = stats::summarize(own).map(|s| {
        let step = m.resolution.step_at(s.mean);
        s.with_step(step)
    }) else {
        return (None, None, None);
    };
    let own_pct = s
        .ci95
        .filter(|_| s.mean != 0.0)
        .map(|[lo, hi]| 50.0 * (hi - lo) / s.mean.abs());
    let overhead = baseline.and_then(|b| {
        let [lo, hi] = stats::difference(b, &s).rel_pct?.ci95?;
        Some((hi - lo) / 2.0)
    });
    let share = baseline
        .filter(|b| b.mean != 0.0)
        .and_then(|b| Some(own_pct? * (s.mean / b.mean).abs()));
    (own_pct, overhead, share)
}

/// `Some(why)` when the trial should stop after the runs in `st`.
pub fn check(plan: &Plan, m: &Metric, st: &State<'_>) -> Option<Stop> {
    let n = st.own.len() as u32;
    let (own_pct, overhead_pct, share) = half_widths(m, st.own, st.baseline);
    let stop = |reason| Stop {
        reason,
        runs: n,
        metric: m.name.to_string(),
        own_pct,
        overhead_pct,
        target_pct: plan.target_ci_pct,
    };
    if n < plan.min {
        return None;
    }
    let Some(target) = plan.target_ci_pct else {
        return Some(stop(Reason::Fixed));
    };
    // An eBPF trial with a baseline is held to the overhead's interval; a
    // baseline (or a trial without one) to its own share of the target.
    let reached = match (overhead_pct, own_pct) {
        (Some(o), _) => o <= target,
        (None, Some(own)) => plan.own_target().is_some_and(|t| own <= t),
        (None, None) => false,
    };
    if reached {
        return Some(stop(Reason::Target));
    }
    if share.is_some_and(|x| plan.own_target().is_some_and(|t| x <= t)) {
        return Some(stop(Reason::BaselineBound));
    }
    if n >= plan.max {
        return Some(stop(Reason::MaxRepeats));
    }
    if plan
        .max_trial_s
        .is_some_and(|cap| st.elapsed_s + st.slowest_s > cap)
    {
        return Some(stop(Reason::TimeCap));
    }
    None
}

#[cfg(test)]
mod tests;
