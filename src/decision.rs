//! Decisions (seed 003's decision matrix and seed 002's recommendations),
//! after the analysis, fed by the results file: for each pair of a
//! `comparisons:` group, each aspect rated on both sides with its winner and
//! an overall verdict; and per tool, the budgets it comes closest to and the
//! case that costs most. A row is won only on a significant difference (or,
//! without intervals, a better rating): a decision never invents a winner.

use crate::analysis::measure;
use crate::metrics;
use crate::ratings::{Aspect, Rating, Thresholds};
use crate::readout as lines;
use crate::results::{Decision, DecisionRow, DecisionSide as Side, Results, TrialResult, Winner};
use crate::stats::Estimate;
use std::collections::{BTreeMap, HashMap};

mod compat;
mod per_case;
pub use per_case::{per_case, CaseRating};

/// The relative costs the performance aspect takes the worst of.
const PERFORMANCE: [&str; 3] = [
    "throughput_loss_pct",
    "pps_loss_pct",
    "latency_p99_increase_pct",
];

/// An aspect's value and rating.
type Rated = (Option<Estimate>, Option<Rating>);

/// A case's trials on one environment, by `(tool, case_N, env)`, in the
/// results file's order.
type Groups = BTreeMap<(String, String, String), Vec<usize>>;

/// The `(tool, case)` each name a comparison may use means: `tool::case_N`,
/// `case_N` (of the first tool that has it), or a tool (its first case).
type Names = HashMap<String, (String, String)>;

/// Decisions one results file may ask for; a comparisons list from outside
/// could ask for millions (every pair of a long group).
pub const MAX_DECISIONS: usize = 1000;
/// Notes about comparisons one results file gets (the rest are counted).
pub const MAX_NOTES: usize = 100;

fn groups(r: &Results) -> (Groups, Names) {
    let mut g: Groups = BTreeMap::new();
    let mut names = Names::new();
    for (i, t) in r.trials.iter().enumerate() {
        let (Some(tool), Some(id)) = (&t.tool_id, t.case_id) else {
            continue;
        };
        let case = format!("case_{id}");
        let key = (tool.clone(), case.clone());
        for name in [format!("{tool}::{case}"), case.clone(), tool.clone()] {
            names.entry(name).or_insert_with(|| key.clone());
        }
        g.entry((tool.clone(), case, t.env.clone()))
            .or_default()
            .push(i);
    }
    (g, names)
}

/// The decision matrices of every pair of every group, and a note for each
/// name or pair that this results file cannot decide. Linear in the names
/// asked for, plus the pairs decided (at most [`MAX_DECISIONS`]).
pub fn decide_all(
    r: &Results,
    asked: &[Vec<String>],
    th: &Thresholds,
) -> (Vec<Decision>, Vec<String>) {
    let (g, names) = groups(r);
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let (mut budget, mut left_out) = (MAX_DECISIONS, 0usize);
    for group in asked {
        let mut known = Vec::new();
        for a in group {
            match names.get(a) {
                Some(k) => known.push((a, k)),
                None => notes.push(format!("{a}: not in this results file")),
            }
        }
        let n = known.len();
        let mut done = 0;
        'pairs: for (i, (a, ka)) in known.iter().enumerate() {
            for (b, kb) in &known[i + 1..] {
                if budget == 0 {
                    break 'pairs;
                }
                budget -= 1;
                done += 1;
                let before = out.len();
                for ((tool, case, env), ta) in
                    g.range((ka.0.clone(), ka.1.clone(), String::new())..)
                {
                    if (tool, case) != (&ka.0, &ka.1) {
                        break;
                    }
                    if let Some(tb) = g.get(&(kb.0.clone(), kb.1.clone(), env.clone())) {
                        out.push(decide(r, th, (a, ka, ta), (b, kb, tb), env));
                    }
                }
                if out.len() == before {
                    notes.push(format!(
                        "{a} and {b}: not both in this results file on one environment"
                    ));
                }
            }
        }
        left_out += n * n.saturating_sub(1) / 2 - done;
    }
    if left_out > 0 {
        notes.push(format!(
            "{left_out} more pairs of the comparisons were not decided: {MAX_DECISIONS} pairs is the most one results file gets"
        ));
    }
    if notes.len() > MAX_NOTES {
        let more = notes.len() - MAX_NOTES;
        notes.truncate(MAX_NOTES);
        notes.push(format!("and {more} more like these"));
    }
    (out, notes)
}

/// The decisions of the session's own `comparisons`, with its thresholds
/// (what the results file stores).
pub fn of_session(r: &Results) -> Vec<Decision> {
    decide_all(r, &r.session.comparisons, &r.session.ratings).0
}

type SideIn<'a> = (&'a str, &'a (String, String), &'a [usize]);

fn trials<'a>(r: &'a Results, idx: &[usize]) -> Vec<&'a TrialResult> {
    idx.iter().map(|&i| &r.trials[i]).collect()
}

/// The worst (largest) estimate of a budget family over the trials.
fn worst(ts: &[&TrialResult], families: &[&str]) -> Option<Estimate> {
    ts.iter()
        .flat_map(|t| families.iter().filter_map(|f| measure(f, &t.analysis)))
        .max_by(|x, y| x.value.total_cmp(&y.value))
}

/// The largest CV (percent) of a trial's headline metric.
fn largest_cv(ts: &[&TrialResult]) -> Option<f64> {
    ts.iter()
        .filter_map(|t| {
            t.analysis
                .stats
                .get(metrics::headline(t.test_type).name)?
                .cv_pct
        })
        .max_by(f64::total_cmp)
}

/// BPF program runs per packet, on the trial that sees the fewest.
fn events_per_packet(ts: &[&TrialResult]) -> Option<f64> {
    ts.iter()
        .filter_map(|t| {
            let s = &t.analysis.stats;
            let (ev, pps) = (s.get("bpf_events_per_s")?.mean, s.get(metrics::PPS)?.mean);
            (pps > 0.0).then(|| ev / pps)
        })
        .min_by(f64::total_cmp)
}

fn value_of(a: Aspect, ts: &[&TrialResult]) -> Option<Estimate> {
    let point = |v: Option<f64>| v.map(|value| Estimate { value, ci95: None });
    match a {
        Aspect::Performance => worst(ts, &PERFORMANCE),
        Aspect::Stability => point(largest_cv(ts)),
        Aspect::Memory => worst(ts, &["tool_rss_mb"]),
        Aspect::CpuEfficiency => worst(ts, &["tool_cpu_pct"]),
        Aspect::Accuracy => point(events_per_packet(ts)),
        Aspect::Compatibility => compat::value(ts),
    }
}

/// An aspect's value over the trials and its rating (none for an aspect
/// that is shown, not rated); a tool that did not start is POOR at
/// compatibility whatever it loaded elsewhere.
fn rated(a: Aspect, th: &Thresholds, r: &Results, ts: &[&TrialResult]) -> Rated {
    let v = value_of(a, ts);
    let levels = th.of(a);
    if a == Aspect::Compatibility && levels.is_some() && compat::did_not_start(r, ts) {
        return (v, Some(Rating::Poor));
    }
    (v, levels.zip(v).map(|(l, v)| l.rate(v.value)))
}

/// A side's scores (see [`Side`] for the definitions).
fn side(name: &str, key: &(String, String), ts: &[&TrialResult]) -> Side {
    let ran: Vec<&&TrialResult> = ts.iter().filter(|t| t.ran()).collect();
    let steady = ran
        .iter()
        .filter(|t| {
            let h = metrics::headline(t.test_type).name;
            !t.analysis.noisy.iter().any(|n| n == h)
        })
        .count();
    let share = |k: usize, n: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    let score = 1.0 + 9.0 * share(ran.len(), ts.len()) * share(steady, ran.len());
    Side {
        name: name.to_string(),
        tool: key.0.clone(),
        case: key.1.clone(),
        stability_score: largest_cv(ts).map(|cv| (10.0 - cv / 10.0).max(0.0)),
        reliability: score.round().clamp(1.0, 10.0) as u8,
        trials: ts.len(),
    }
}

/// The row of one aspect: lower is better for every rated aspect. A
/// significant difference wins; without intervals (or without a value on
/// one side), the better rating; otherwise a tie.
fn row(aspect: Aspect, (a, ra): Rated, (b, rb): Rated) -> DecisionRow {
    let by = |first: bool| if first { Winner::A } else { Winner::B };
    let winner = match (ra, rb) {
        (Some(ra), Some(rb)) => match a.zip(b).map(|(x, y)| y.minus(&x)) {
            Some(d) if d.significant() => by(d.value > 0.0),
            Some(d) if d.ci95.is_some() => Winner::Tie,
            _ if ra != rb => by(ra < rb),
            _ => Winner::Tie,
        },
        _ => Winner::NotRated,
    };
    DecisionRow {
        aspect,
        a,
        b,
        a_rating: ra,
        b_rating: rb,
        winner,
    }
}

fn decide(r: &Results, th: &Thresholds, a: SideIn, b: SideIn, env: &str) -> Decision {
    let (ta, tb) = (trials(r, a.2), trials(r, b.2));
    let rows: Vec<DecisionRow> = Aspect::ALL
        .iter()
        .map(|&x| row(x, rated(x, th, r, &ta), rated(x, th, r, &tb)))
        .filter(|x| x.a.is_some() || x.b.is_some() || x.a_rating.or(x.b_rating).is_some())
        .collect();
    let perf = rows.iter().find(|x| x.aspect == Aspect::Performance);
    let improvement = perf.and_then(|p| Some(p.a?.minus(&p.b?)));
    let (sa, sb) = (side(a.0, a.1, &ta), side(b.0, b.1, &tb));
    let (winner, overall, recommendation) = verdict(&sa, &sb, &rows, env);
    Decision {
        a: sa,
        b: sb,
        env: env.to_string(),
        rows,
        performance_improvement_pct: improvement,
        winner,
        overall,
        recommendation,
    }
}

fn aspects(rows: &[DecisionRow], w: Winner) -> String {
    let v: Vec<&str> = rows
        .iter()
        .filter(|x| x.winner == w)
        .map(|x| x.aspect.title())
        .collect();
    match v.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => v.join(""),
    }
}

/// The overall winner, the verdict line and the recommendation.
fn verdict(
    a: &Side,
    b: &Side,
    rows: &[DecisionRow],
    env: &str,
) -> (Option<String>, String, String) {
    let decided = rows.iter().filter(|x| x.winner != Winner::NotRated).count();
    let wins = |w| rows.iter().filter(|x| x.winner == w).count();
    let (wa, wb) = (wins(Winner::A), wins(Winner::B));
    let (an, bn) = (&a.name, &b.name);
    if decided == 0 {
        return (
            None,
            "not decided: no aspect measured on both sides".into(),
            format!("Re-run both on {env}: neither side has a rated aspect with a value."),
        );
    }
    if wa == 0 && wb == 0 {
        return (
            None,
            "no significant difference".into(),
            format!(
                "Either: in {decided} rated aspects on {env} neither differs beyond its interval or rating; choose on features."
            ),
        );
    }
    if wa == wb {
        return (
            None,
            format!("mixed: {an} better in {wa}, {bn} in {wb} of {decided}"),
            format!(
                "Choose by what matters more: {an} is better in {}, {bn} in {}.",
                aspects(rows, Winner::A),
                aspects(rows, Winner::B)
            ),
        );
    }
    let (w, l, k, other, ww, wl) = if wa > wb {
        (an, bn, wa, wb, Winner::A, Winner::B)
    } else {
        (bn, an, wb, wa, Winner::B, Winner::A)
    };
    let overall = if other == 0 {
        format!("{w} better in {k} of {decided}")
    } else {
        format!("{w} better in {k} of {decided}, {l} in {other}")
    };
    let rec = if other == 0 {
        format!(
            "Prefer {w} on {env}: better in {}, worse in none.",
            aspects(rows, ww)
        )
    } else {
        format!(
            "Prefer {w} on {env} (better in {}) unless {} matters more, where {l} is better.",
            aspects(rows, ww),
            aspects(rows, wl)
        )
    };
    (Some(w.clone()), overall, rec)
}

/// Per tool (seed 002's `recommendations`): the budgets its trials come
/// closest to (largest share of the limit first) and the case that costs
/// most.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    pub tool: String,
    /// `(budget, worst measured value, limit, trial)`, closest first.
    pub closest: Vec<(String, f64, f64, String)>,
    /// `(case_N, its worst performance cost in percent, trial)`.
    pub costliest: Option<(String, f64, String)>,
    pub text: String,
}

/// How many budgets [`Advice`] names per tool.
pub const CLOSEST: usize = 3;

pub fn recommendations(r: &Results) -> Vec<Advice> {
    let mut by_tool: BTreeMap<&str, Vec<&TrialResult>> = BTreeMap::new();
    for t in &r.trials {
        if let Some(tool) = &t.tool_id {
            by_tool.entry(tool).or_default().push(t);
        }
    }
    by_tool
        .into_iter()
        .map(|(tool, ts)| advice(tool, &ts))
        .collect()
}

fn advice(tool: &str, ts: &[&TrialResult]) -> Advice {
    // Per budget, the trial that comes closest (value / limit).
    let mut closest: BTreeMap<&str, (f64, f64, &str)> = BTreeMap::new();
    for t in ts {
        for b in &t.analysis.budgets {
            let share = if metrics::budget(&b.name).is_some_and(|x| x.bound.is_minimum()) {
                // A lower bound is closest when the value is smallest.
                if b.measured.value > 0.0 {
                    b.limit / b.measured.value
                } else {
                    f64::INFINITY
                }
            } else if b.limit > 0.0 {
                b.measured.value / b.limit
            } else {
                f64::INFINITY
            };
            let e = closest
                .entry(&b.name)
                .or_insert((f64::NEG_INFINITY, 0.0, ""));
            if share > e.0 {
                *e = (share, b.measured.value, &t.name);
            }
        }
    }
    let mut closest: Vec<(f64, String, f64, f64, String)> = closest
        .into_iter()
        .map(|(name, (share, v, trial))| {
            let limit = ts
                .iter()
                .flat_map(|t| &t.analysis.budgets)
                .find(|b| b.name == name)
                .map_or(0.0, |b| b.limit);
            (share, name.to_string(), v, limit, trial.to_string())
        })
        .collect();
    closest.sort_by(|x, y| y.0.total_cmp(&x.0));
    closest.truncate(CLOSEST);
    let costliest = ts
        .iter()
        .filter_map(|t| {
            let w = worst(&[t], &PERFORMANCE)?;
            Some((format!("case_{}", t.case_id?), w.value, t.name.clone()))
        })
        .max_by(|x, y| x.1.total_cmp(&y.1));
    let mut text = Vec::new();
    if let Some((name, v, limit, _)) = closest.first().map(|c| (&c.1, c.2, c.3, &c.4)) {
        text.push(format!(
            "closest to {name} ({} of {})",
            lines::num(v),
            lines::num(limit)
        ));
    }
    if let Some((case, v, trial)) = &costliest {
        text.push(format!(
            "{case} costs most ({}% of the baseline in {trial})",
            lines::num(*v)
        ));
    }
    Advice {
        tool: tool.to_string(),
        closest: closest
            .into_iter()
            .map(|(_, n, v, l, t)| (n, v, l, t))
            .collect(),
        costliest,
        text: if text.is_empty() {
            format!("{tool}: no budget verdicts and no measured cost")
        } else {
            format!("{tool}: {}", text.join("; "))
        },
    }
}

#[cfg(test)]
mod tests;
