//! The decision matrix of a comparison pair, as stored in the results file
//! (seed 003's table): one row per aspect with each side's value and
//! rating and the row's winner, each side's scores, and the overall
//! verdict with a one-line recommendation. `crate::decision` computes it.

use crate::ratings::{Aspect, Rating};
use crate::stats::Estimate;
use serde::{Deserialize, Serialize};

/// Two cases side by side on one environment, decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub a: Side,
    pub b: Side,
    pub env: String,
    pub rows: Vec<Row>,
    /// How much less of the baseline b's performance cost takes than a's
    /// (a's cost minus b's, percentage points of the baseline; positive: b
    /// is better), with its interval.
    pub performance_improvement_pct: Option<Estimate>,
    /// The side better in more rows (its name as asked), if there is one.
    pub winner: Option<String>,
    /// `case_3 better in 3 of 4`, `mixed: …`, or `no significant difference`.
    pub overall: String,
    pub recommendation: String,
}

/// One side of a pair: the case as asked and what was found for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// As named in `comparisons:` (`case_3`, `tool_002`, `tool_002::case_3`).
    pub name: String,
    pub tool: String,
    pub case: String,
    /// 10 minus a tenth of the largest CV (percent) of a trial's headline
    /// metric, at least 0: 10 is perfectly repeatable (seed 003's scale,
    /// "Stability Score: 8.5"; 0–100 before schema 3).
    pub stability_score: Option<f64>,
    /// 1 to 10: `1 + 9 × ran × steady`, where `ran` is the share of the
    /// side's trials that ran and `steady` the share of those whose headline
    /// metric is neither noisy (CV over the limit) nor drifted.
    pub reliability: u8,
    pub trials: usize,
}

/// One aspect of the pair.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub aspect: Aspect,
    pub a: Option<Estimate>,
    pub b: Option<Estimate>,
    pub a_rating: Option<Rating>,
    pub b_rating: Option<Rating>,
    pub winner: Winner,
}

/// Who wins a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Winner {
    A,
    B,
    /// Neither: same rating and no significant difference.
    Tie,
    /// Not decided: a side has no value, or the aspect is not rated.
    NotRated,
}
