//! Side by side and over time: two cases compared per budget family (with
//! the interval of their difference and seed 003's decision matrix), and each
//! trial's cost now against an earlier session (`--compare-to`).

use super::table::{families, Row};
use crate::analysis::measure;
use crate::readout as lines;
use crate::results::{Results, TrialResult};
use crate::stats::Estimate;
use std::collections::BTreeMap;

/// Two cases side by side (seed 003: kprobe against tracepoint).
#[derive(Debug, Clone)]
pub struct Pair {
    pub a: String,
    pub b: String,
    pub env: String,
    /// Per family: a's value, b's value, b - a with interval.
    pub metrics: Vec<PairMetric>,
    /// Seed 003's decision matrix of the pair.
    pub decision: crate::results::Decision,
}

#[derive(Debug, Clone)]
pub struct PairMetric {
    pub family: &'static str,
    pub a: Estimate,
    pub b: Estimate,
    pub diff: Estimate,
}

impl PairMetric {
    /// Which side is cheaper, and whether the difference is significant.
    pub fn cheaper(&self) -> (&'static str, bool) {
        let side = match self.diff.value {
            d if d > 0.0 => "a",
            d if d < 0.0 => "b",
            _ => "neither",
        };
        (side, self.diff.significant())
    }
}

impl Pair {
    /// A decision row's side: `12.3 [10.1, 14.5] GOOD`, or `n/a`.
    pub fn side_text(
        a: crate::ratings::Aspect,
        e: Option<Estimate>,
        r: Option<crate::ratings::Rating>,
    ) -> String {
        let v = match e {
            // A rating without a value: the tool did not start.
            None if r.is_some() => "did not start".to_string(),
            None => return "n/a".into(),
            Some(e) => match (a.show(e.value), e.ci95) {
                (Some(shown), _) => shown,
                (None, Some(_)) => format!("{} {}", lines::num(e.value), lines::interval(&e, "")),
                // A derived point (stability, accuracy) has no interval to show.
                (None, None) => lines::num(e.value),
            },
        };
        match r {
            Some(r) => format!("{} {}", v.trim_end(), r.as_str()),
            None => v.trim_end().to_string(),
        }
    }

    /// Who won a decision row, by name.
    pub fn winner_text(&self, w: crate::results::Winner) -> &str {
        use crate::results::Winner;
        match w {
            Winner::A => &self.a,
            Winner::B => &self.b,
            Winner::Tie => "tie",
            Winner::NotRated => "not rated",
        }
    }

    /// Scores line: stability, reliability and the improvement.
    pub fn scores_text(&self) -> String {
        let d = &self.decision;
        let side = |s: &crate::results::DecisionSide| {
            format!(
                "{}: stability score {}, reliability {}/10",
                s.name,
                s.stability_score
                    .map_or("n/a".into(), |x| format!("{}/10", lines::num(x))),
                s.reliability
            )
        };
        let imp = d.performance_improvement_pct.map_or("n/a".into(), |e| {
            format!("{} {}", lines::signed(e.value), lines::interval(&e, ""))
        });
        format!(
            "{}; {}; performance improvement of {} over {}: {imp} points",
            side(&d.a),
            side(&d.b),
            self.b,
            self.a
        )
    }
}

/// The report's class of a rating (the verdict colours).
/// A case's scores: `stability score 9.5/10, reliability 10/10`.
pub fn case_scores(c: &crate::decision::CaseRating) -> String {
    format!(
        "stability score {}, reliability {}/10",
        c.stability_score
            .map_or("n/a".into(), |x| format!("{}/10", lines::num(x))),
        c.reliability
    )
}

pub fn rating_class(r: Option<crate::ratings::Rating>) -> &'static str {
    use crate::ratings::Rating;
    match r {
        Some(Rating::Excellent | Rating::Good) => "within",
        Some(Rating::Fair) => "inconclusive",
        Some(Rating::Poor) => "exceeded",
        None => "measured",
    }
}

/// A trial's cost then and now (`--compare-to`).
#[derive(Debug, Clone)]
pub struct Change {
    pub trial: String,
    pub family: &'static str,
    pub then: f64,
    pub now: Estimate,
    pub growth: Estimate,
}

/// Each pair of the groups, decided (see [`crate::decision`]), with its
/// families' values side by side; notes name the pairs the file lacks.
pub fn pairs(rows: &[Row], r: &Results, asked: &[Vec<String>]) -> (Vec<Pair>, Vec<String>) {
    let (decisions, notes) = crate::decision::decide_all(r, asked, &r.session.ratings);
    let find = |tool: &str, case: &str, env: &str| {
        rows.iter()
            .find(|x| x.tool == tool && x.case == case && x.env == env)
    };
    let out = decisions
        .into_iter()
        .filter_map(|d| {
            let ra = find(&d.a.tool, &d.a.case, &d.env)?;
            let rb = find(&d.b.tool, &d.b.case, &d.env)?;
            let metrics = families()
                .zip(ra.cells.iter().zip(&rb.cells))
                .filter_map(|(family, (ca, cb))| {
                    let (ca, cb) = (ca.as_ref()?, cb.as_ref()?);
                    Some(PairMetric {
                        family,
                        a: ca.value,
                        b: cb.value,
                        diff: cb.value.minus(&ca.value),
                    })
                })
                .collect();
            Some(Pair {
                a: d.a.name.clone(),
                b: d.b.name.clone(),
                env: d.env.clone(),
                metrics,
                decision: d,
            })
        })
        .collect();
    (out, notes)
}

pub fn changes(r: &Results, earlier: &Results) -> Vec<Change> {
    let then: BTreeMap<&str, &TrialResult> = earlier
        .trials
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    let mut out = Vec::new();
    for t in r.trials.iter().filter(|t| !t.is_baseline()) {
        let Some(p) = then.get(t.name.as_str()) else {
            continue;
        };
        for family in families() {
            let (Some(now), Some(was)) =
                (measure(family, &t.analysis), measure(family, &p.analysis))
            else {
                continue;
            };
            out.push(Change {
                trial: t.name.clone(),
                family,
                then: was.value,
                now,
                growth: now.minus(&was),
            });
        }
    }
    out.sort_by(|a, b| b.growth.value.total_cmp(&a.growth.value));
    out
}
