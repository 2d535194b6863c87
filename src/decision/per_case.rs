//! Ratings per case (seed 003 rates each implementation, not only the
//! pairs it compares): every case on every environment it ran in, each
//! rated aspect's value and rating, with its stability score and
//! reliability as a side of a pair would have them.

use super::{groups, rated, side, trials};
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
    /// The session's hosts that could not run what the tool loaded here
    /// (see [`super::compat::lacking`]).
    pub lacking: Vec<String>,
}

/// Every case of the results file on every environment, by tool, case
/// and environment name.
pub fn per_case(r: &Results, th: &Thresholds) -> Vec<CaseRating> {
    let (g, _) = groups(r);
    let offers = super::compat::offers(r);
    g.iter()
        .map(|((tool, case, env), idx)| {
            let ts = trials(r, idx);
            let s = side(case, &(tool.clone(), case.clone()), &ts);
            let aspects = Aspect::ALL
                .iter()
                .filter(|&&a| th.of(a).is_some())
                .map(|&a| {
                    let (v, rating) = rated(a, th, r, &ts);
                    (a, v, rating)
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
                lacking: super::compat::lacking(&offers, &ts),
            }
        })
        .collect()
}
