//! Verdicts: budgets (docs/design.md §7) on the pair-level intervals, RSS
//! growth within the tool's episodes (leak), and regressions of the cost
//! since an earlier session, with the variance between sessions.

use super::{Settings, Sources};
use crate::metrics::{self, Better, Bound, Unit};
use crate::results::{
    Analysis, BudgetVerdict, Comparison, Leak, Regression, Results, Side, TrialResult,
};
use crate::stats::{self, Estimate, Verdict};
use indexmap::IndexMap;
use std::collections::BTreeMap;

/// The budgets that apply to a trial, by name: its tool's, for its
/// environment and test type (none for baselines).
pub fn budgets_of(s: &Settings, t: &TrialResult) -> IndexMap<String, f64> {
    t.tool_id
        .as_deref()
        .and_then(|id| s.budgets.get(id))
        .map(|b| b.resolve(&t.env, t.test_type))
        .unwrap_or_default()
}

fn rel(c: &Comparison, metric: &str) -> Option<Estimate> {
    c.metrics.get(metric)?.rel_pct
}

fn abs(c: &Comparison, metric: &str) -> Option<Estimate> {
    Some(c.metrics.get(metric)?.abs)
}

fn own(a: &Analysis, metric: &str) -> Option<Estimate> {
    let s = a.stats.get(metric)?;
    Some(Estimate {
        value: s.mean,
        ci95: s.ci95,
    })
}

/// The compared metric a budget is measured on (`None`: the tool's own
/// cost or the leak fit, which have no baseline).
pub fn budget_metric(name: &str) -> Option<&'static str> {
    metrics::budget(name)?.bound.compared_metric()
}

/// What a budget bounds, measured on this trial; `None` when the trial does
/// not measure it.
pub fn measure(name: &str, a: &Analysis) -> Option<Estimate> {
    let c = a.comparison.as_ref();
    match metrics::budget(name)?.bound {
        Bound::Loss(m) => Some(-rel(c?, m)?),
        Bound::RelIncrease(m) => rel(c?, m),
        Bound::AbsIncrease(m) => abs(c?, m),
        Bound::Own(m) | Bound::OwnMin(m) => own(a, m),
        Bound::Leak => a.leak.as_ref().map(|l| l.kb_per_min),
    }
}

type Points = Vec<(f64, f64)>;

/// RSS growth of the tool within its episodes: every episode starts the
/// tool afresh, so the growth is the slope common to all of them (a line
/// per episode and host, one slope: the within-episode least squares) over
/// every RSS sample of the tool blocks of the case's trials; the host with
/// the steepest growth is reported.
fn leak(results: &Results, idx: usize) -> Option<Leak> {
    let t = &results.trials[idx];
    // Per host, per episode (a pair of the case): the samples.
    let mut per: BTreeMap<&str, BTreeMap<u32, Points>> = BTreeMap::new();
    for tr in results.trials.iter().filter(|x| x.cycle == t.cycle) {
        for b in tr.blocks.iter().filter(|b| b.side == Side::Tool) {
            for run in b.warmups.iter().chain(&b.runs) {
                for (h, s) in &run.tool_series {
                    let pts = per.entry(h).or_default().entry(b.pair).or_default();
                    pts.extend(
                        s.t.iter()
                            .zip(&s.rss_kb)
                            .filter_map(|(x, y)| Some((*x / 60.0, (*y)?))),
                    );
                }
            }
        }
    }
    per.into_iter()
        .filter_map(|(h, episodes)| {
            let groups: Vec<Vec<(f64, f64)>> = episodes
                .into_values()
                .map(|mut pts| {
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    pts.dedup_by(|a, b| a.0 == b.0);
                    pts
                })
                .collect();
            let samples = groups.iter().map(Vec::len).sum();
            let minutes = groups
                .iter()
                .filter_map(|g| Some(g.last()?.0 - g.first()?.0))
                .sum();
            Some(Leak {
                host: h.to_string(),
                kb_per_min: stats::slope_within(&groups)?,
                samples,
                minutes,
            })
        })
        .max_by(|a, b| a.kb_per_min.value.total_cmp(&b.kb_per_min.value))
}

/// The cost of a compared metric in percent of the baseline (loss or increase).
fn cost_pct(c: &Comparison, metric: &str, better: Better) -> Option<Estimate> {
    let r = rel(c, metric)?;
    Some(match better {
        Better::Lower => r,
        Better::Higher => -r,
    })
}

/// Per compared metric: has the cost grown since `then` by more than `limit`?
/// The interval of the growth combines both intervals' half-widths in
/// quadrature, widened by `widen` (√φ, the variance between the sessions;
/// `None`: unknown, and the growth has no interval).
pub fn regressions(
    now: &Comparison,
    then: &Comparison,
    limit: f64,
    since: &str,
    widen: Option<f64>,
) -> Vec<Regression> {
    let mut out = Vec::new();
    // A metric that is itself a percentage (host CPU) changes in points,
    // which a growth of its relative cost would misstate.
    for metric in metrics::compared().filter(|m| m.unit != Unit::Percent) {
        let (m, better) = (metric.name, metric.better);
        let (Some(n), Some(p)) = (cost_pct(now, m, better), cost_pct(then, m, better)) else {
            continue;
        };
        let growth = match widen {
            Some(k) => super::sessions::widened(n.minus(&p), k),
            None => crate::stats::Estimate {
                ci95: None,
                ..n.minus(&p)
            },
        };
        out.push(Regression {
            metric: m.into(),
            then_pct: p.value,
            now_pct: n.value,
            verdict: stats::verdict(&growth, limit),
            growth_pts: growth,
            limit_pts: limit,
            since: since.to_string(),
        });
    }
    out
}

/// Judges trial `idx` of `results`, whose statistics and comparison are in
/// `a` (taken out of the trial while it is judged).
pub fn judge(
    results: &Results,
    idx: usize,
    mut a: Analysis,
    s: &Settings,
    src: &Sources<'_>,
    case_last: bool,
) -> Analysis {
    let t = &results.trials[idx];
    let mut failures = Vec::new();
    if t.is_baseline() || !t.ran() {
        return a;
    }
    if case_last {
        a.leak = leak(results, idx);
    }
    for (name, limit) in &budgets_of(s, t) {
        let (name, limit) = (name.as_str(), *limit);
        // The leak budget is judged once per case, on its last trial.
        if name == "rss_growth_kb_per_min" && !case_last {
            continue;
        }
        // A test type's headline metric is bounded in that test type only:
        // a pps test's throughput is its packet rate again, which
        // pps_loss_pct bounds.
        if let Some(m) = budget_metric(name).and_then(metrics::get) {
            if m.headline_of.is_some_and(|h| h != t.test_type) {
                continue;
            }
        }
        let Some(measured) = measure(name, &a) else {
            continue;
        };
        let verdict = if metrics::budget(name).is_some_and(|b| b.bound.is_minimum()) {
            stats::verdict_min(&measured, limit)
        } else {
            stats::verdict(&measured, limit)
        };
        let b = BudgetVerdict {
            name: name.into(),
            limit,
            measured,
            verdict,
        };
        if verdict == Verdict::Exceeded || (s.strict && verdict == Verdict::Inconclusive) {
            failures.push(crate::readout::budget_failure(&b, &a));
        }
        a.budgets.push(b);
    }
    if let (Some(e), Some(now)) = (src.compare_to, a.comparison.as_ref()) {
        let (then, path) = (&e.results, &e.path);
        let earlier = e.index.named(then, &t.name);
        let checked = earlier.map(|x| {
            super::check_conditions(
                t,
                x,
                &format!("{path} (session {})", then.session.id),
                s.allow_mismatch,
            )
        });
        let refused = matches!(checked, Some(Err(_)));
        match checked {
            Some(Err(why)) => a.notes.push(why),
            Some(Ok(note)) => a.notes.extend(note),
            None => {}
        }
        match earlier.and_then(|x| x.analysis.comparison.as_ref()) {
            _ if refused => {}
            Some(prev) => {
                let limit = t
                    .tool_id
                    .as_ref()
                    .and_then(|id| s.regression_pct.get(id))
                    .copied()
                    .unwrap_or(crate::config::DEFAULT_REGRESSION_PCT);
                let since = format!("{path} (session {})", then.session.id);
                let between = super::sessions::between(results, then);
                a.notes.push(match between {
                    Some(w) => format!(
                        "regressions against {since}: widened by √φ = {:.2} for the variance between sessions (φ {:.2} over {} baseline metrics both measured)",
                        w.widen(),
                        w.phi,
                        w.n
                    ),
                    None => format!(
                        "regressions against {since}: no baseline measured in both sessions, so the variance between sessions is unknown and growths have no interval (inconclusive)"
                    ),
                });
                a.regressions = regressions(now, prev, limit, &since, between.map(|w| w.widen()));
                for r in &a.regressions {
                    if r.verdict == Verdict::Exceeded
                        || (s.strict && r.verdict == Verdict::Inconclusive)
                    {
                        failures.push(crate::readout::regression_line(r));
                    }
                }
            }
            None => a.notes.push(format!(
                "not in {path} (or not compared there): no regression check"
            )),
        }
    }
    a.failures = failures;
    a
}
