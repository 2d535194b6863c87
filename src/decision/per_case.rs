//! Ratings per case (seed 003 rates each implementation, not only the
//! pairs it compares): every case on every environment it ran in, each
//! rated aspect's value and rating, with its stability score and
//! reliability as a side of a pair would have them.

use super::{groups, side, trials, value_of};
use crate::ratings::{Aspect, Rating, Thresholds};
use crate::results::Results;
use crate::stats::Estimate;

/// One case on one environment, rated.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRating {
    pub tool: String,
    /// `case_N`.
    pub case: String,
    pub env: String,
    /// Each rated aspect: its value (lower is better) and rating.
    pub aspects: Vec<(Aspect, Option<Estimate>, Option<Rating>)>,
    /// 0 to 10 (see [`crate::results::DecisionSide`]).
    pub stability_score: Option<f64>,
    pub reliability: u8,
    pub trials: usize,
}

/// Every case of the results file on every environment, by tool, case
/// and environment name.
pub fn per_case(r: &Results, th: &Thresholds) -> Vec<CaseRating> {
    let (g, _) = groups(r);
    g.iter()
        .map(|((tool, case, env), idx)| {
            let ts = trials(r, idx);
            let s = side(case, &(tool.clone(), case.clone()), &ts);
            let aspects = Aspect::ALL
                .iter()
                .filter_map(|&a| {
                    let levels = th.of(a)?;
                    let v = value_of(a, &ts);
                    Some((a, v, v.map(|v| levels.rate(v.value))))
                })
                .collect();
            CaseRating {
                tool: tool.clone(),
                case: case.clone(),
                env: env.clone(),
                aspects,
                stability_score: s.stability_score,
                reliability: s.reliability,
                trials: s.trials,
            }
        })
        .collect()
}
