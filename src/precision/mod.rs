//! How many pairs a trial gets (docs/design.md §7): at least `min_pairs`,
//! then more until the pair-level 95 % interval of its headline cost is
//! within ± `target_ci_pct`, up to `max_pairs` and no pair that would end
//! past `max_trial_s` seconds of the trial's blocks. The rule reads only
//! the width of an interval, never where it lies: stopping once a result
//! looks significant would bias it (optional stopping). A baseline
//! measured alone (no eBPF trial to pair with) is held to the interval of
//! its own mean, at target/√2, so that two such sides would meet the
//! target.

use crate::metrics::Metric;
use serde::{Deserialize, Serialize};

/// Pairs when the spec sets none: the issue of record (docs/design.md §7)
/// asks for at least six (five degrees of freedom: t₀.₉₇₅ = 2.57, so the
/// interval is 1.31× as wide as a normal one; 3 pairs: 2.2×).
pub const DEFAULT_MIN_PAIRS: u32 = 6;
pub const DEFAULT_MAX_PAIRS: u32 = 10;

/// The plan of a test type, resolved from the spec and the command line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Runs measured and discarded at the start of every block.
    pub warmup: u32,
    /// Measured runs a block.
    pub runs: u32,
    pub min_pairs: u32,
    pub max_pairs: u32,
    /// Target half-width of the headline's 95 % interval, percent; `None`:
    /// `min_pairs` and no more.
    pub target_ci_pct: Option<f64>,
    /// No pair starts that would end after this many seconds of the
    /// trial's blocks.
    pub max_trial_s: Option<f64>,
}

impl Plan {
    /// `pairs` pairs of `runs`-run blocks, no target.
    pub fn fixed(warmup: u32, runs: u32, pairs: u32) -> Plan {
        Plan {
            warmup,
            runs,
            min_pairs: pairs,
            max_pairs: pairs,
            target_ci_pct: None,
            max_trial_s: None,
        }
    }

    /// The target a baseline measured alone holds its own mean to.
    pub fn own_target(&self) -> Option<f64> {
        self.target_ci_pct.map(|t| t / std::f64::consts::SQRT_2)
    }
}

/// Why a trial stopped adding pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// `min_pairs` ran and there is no precision target.
    Fixed,
    /// The interval reached the target.
    Target,
    /// `max_pairs` ran before the target was reached.
    #[serde(alias = "max_repeats")]
    MaxPairs,
    /// The next pair would have passed `max_trial_s`.
    TimeCap,
    /// A reason of schema 1 that no longer exists (`baseline_bound`).
    #[serde(other)]
    Other,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Fixed => "fixed count",
            Reason::Target => "target reached",
            Reason::MaxPairs => "max pairs",
            Reason::TimeCap => "time cap",
            Reason::Other => "other",
        }
    }

    /// Stopped before the target was reached.
    pub fn short(self) -> bool {
        matches!(self, Reason::MaxPairs | Reason::TimeCap)
    }
}

/// Why a trial stopped and how precise it was then (results.json).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    pub reason: Reason,
    /// Pairs (blocks, for a baseline measured alone).
    #[serde(alias = "runs")]
    pub pairs: u32,
    /// The headline metric.
    pub metric: String,
    /// Half-width of its 95 % interval then, percent: of the cost for an
    /// eBPF trial, of its own mean for a baseline measured alone.
    #[serde(alias = "overhead_pct")]
    pub half_width_pct: Option<f64>,
    pub target_pct: Option<f64>,
}

/// What the rule looks at after each pair.
#[derive(Debug, Clone, Copy)]
pub struct State {
    pub pairs: u32,
    /// The headline's half-width now, percent (none below two pairs).
    pub half_width_pct: Option<f64>,
    /// Seconds of this trial's blocks so far, and of its slowest pair.
    pub elapsed_s: f64,
    pub slowest_pair_s: f64,
    /// A baseline measured alone: held to [`Plan::own_target`].
    pub alone: bool,
}

/// `Some(why)` when the trial should stop after the pairs in `st`.
pub fn check(plan: &Plan, m: &Metric, st: &State) -> Option<Stop> {
    let stop = |reason| Stop {
        reason,
        pairs: st.pairs,
        metric: m.name.to_string(),
        half_width_pct: st.half_width_pct,
        target_pct: plan.target_ci_pct,
    };
    if st.pairs < plan.min_pairs {
        return None;
    }
    let target = if st.alone {
        plan.own_target()
    } else {
        plan.target_ci_pct
    };
    let Some(target) = target else {
        return Some(stop(Reason::Fixed));
    };
    if st.half_width_pct.is_some_and(|h| h <= target) {
        return Some(stop(Reason::Target));
    }
    if st.pairs >= plan.max_pairs {
        return Some(stop(Reason::MaxPairs));
    }
    if plan
        .max_trial_s
        .is_some_and(|cap| st.elapsed_s + st.slowest_pair_s > cap)
    {
        return Some(stop(Reason::TimeCap));
    }
    None
}

/// The half-width of an interval, percent: `(hi − lo) / 2`.
pub fn half_width(ci: Option<[f64; 2]>) -> Option<f64> {
    ci.map(|[lo, hi]| (hi - lo) / 2.0)
}

#[cfg(test)]
mod tests;
