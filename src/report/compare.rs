//! Side by side and over time: two cases compared per budget family (with
//! the interval of their difference and seed 003's ratings), and each
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
    pub ratings: Vec<(String, &'static str, &'static str, String)>,
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

/// A trial's cost then and now (`--compare-to`).
#[derive(Debug, Clone)]
pub struct Change {
    pub trial: String,
    pub family: &'static str,
    pub then: f64,
    pub now: Estimate,
    pub growth: Estimate,
}

/// `b - a` with the half-widths combined in quadrature.
fn diff(a: &Estimate, b: &Estimate) -> Estimate {
    let g = b.value - a.value;
    let h = a
        .ci95
        .zip(b.ci95)
        .map(|([al, ah], [bl, bh])| (((ah - al) / 2.0).powi(2) + ((bh - bl) / 2.0).powi(2)).sqrt());
    Estimate {
        value: g,
        ci95: h.map(|h| [g - h, g + h]),
    }
}

/// Ratings with their thresholds (seed 003): `(what, rating, class, rule)`.
fn ratings(r: &Results, row: &Row) -> Vec<(String, &'static str, &'static str, String)> {
    let rate = |v: Option<f64>, good: f64, fair: f64| match v {
        None => ("n/a", "measured"),
        Some(x) if x < good => ("good", "within"),
        Some(x) if x < fair => ("fair", "inconclusive"),
        Some(_) => ("poor", "exceeded"),
    };
    let get = |f: &str| {
        families()
            .position(|x| x == f)
            .and_then(|i| row.cells[i].as_ref())
            .map(|c| c.value.value)
    };
    // Stability: the largest CV of a trial's headline metric.
    let cv = row
        .trials
        .iter()
        .map(|&i| &r.trials[i])
        .filter_map(|t| {
            t.analysis
                .stats
                .get(crate::metrics::headline(t.test_type).name)?
                .cv_pct
        })
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    let mut out = Vec::new();
    for (what, v, good, fair, unit) in [
        ("CPU", get("tool_cpu_pct"), 5.0, 25.0, "% of a CPU"),
        ("Memory", get("tool_rss_mb"), 64.0, 256.0, "MB RSS"),
        ("Stability", cv, 5.0, 10.0, "% CV of the headline metric"),
        (
            "Leak",
            get("rss_growth_kb_per_min"),
            64.0,
            1024.0,
            "kB/min RSS growth",
        ),
    ] {
        let (rating, class) = rate(v, good, fair);
        out.push((
            format!("{what}: {}", v.map_or("n/a".into(), lines::num)),
            rating,
            class,
            format!("good < {good} {unit} ≤ fair < {fair} ≤ poor"),
        ));
    }
    out
}

/// Does a comparison's name (`case_N`, `tool_id::case_N`, or a tool id for
/// its case) name this row?
fn names(spec: &str, row: &Row) -> bool {
    spec == row.case || spec == row.tool || spec == format!("{}::{}", row.tool, row.case)
}

pub fn pairs(rows: &[Row], r: &Results, asked: &[Vec<String>]) -> (Vec<Pair>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for group in asked {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                let envs: Vec<&str> = rows
                    .iter()
                    .filter(|x| names(a, x))
                    .map(|x| x.env.as_str())
                    .filter(|e| rows.iter().any(|y| names(b, y) && y.env == *e))
                    .collect();
                if envs.is_empty() {
                    notes.push(format!(
                        "{a} and {b}: not both in this results file on one environment"
                    ));
                }
                for env in envs {
                    let find = |c: &str| rows.iter().find(|x| names(c, x) && x.env == env);
                    let (Some(ra), Some(rb)) = (find(a), find(b)) else {
                        continue;
                    };
                    let metrics = families()
                        .zip(ra.cells.iter().zip(&rb.cells))
                        .filter_map(|(family, (ca, cb))| {
                            let (ca, cb) = (ca.as_ref()?, cb.as_ref()?);
                            Some(PairMetric {
                                family,
                                a: ca.value,
                                b: cb.value,
                                diff: diff(&ca.value, &cb.value),
                            })
                        })
                        .collect();
                    out.push(Pair {
                        a: a.clone(),
                        b: b.clone(),
                        env: env.to_string(),
                        metrics,
                        ratings: ratings(r, ra)
                            .into_iter()
                            .zip(ratings(r, rb))
                            .flat_map(|(x, y)| [x, y])
                            .collect(),
                    });
                }
            }
        }
    }
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
                growth: diff(&was, &now),
            });
        }
    }
    out.sort_by(|a, b| b.growth.value.total_cmp(&a.growth.value));
    out
}
