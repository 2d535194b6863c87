//! What a report says, computed once from a results file: the session, the
//! verdict table, per-case charts' data, side-by-side pairs and the
//! regression view. The HTML page and the Markdown summary both render this
//! one model, so they cannot disagree.

use crate::results::{Results, Status};
use crate::stats::Verdict;

pub use super::compare::{Change, Pair, PairMetric};
pub use super::table::{families, family_title, Cell, Mark, Row};
use super::{compare, table};

#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub trials: usize,
    pub baselines: usize,
    pub passed: usize,
    pub failed: usize,
    pub broken: usize,
    pub exceeded: usize,
    pub inconclusive: usize,
}

/// A host's facts, as the page shows them.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub kernel: String,
    pub cpus: String,
    pub cpu_model: String,
    /// `name (driver): offloads that are on`.
    pub nics: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Model {
    pub session_id: String,
    pub started: String,
    pub finished: String,
    pub interrupted: bool,
    pub config_dir: String,
    pub selection: String,
    pub generator: String,
    pub hosts: Vec<Host>,
    pub counts: Counts,
    /// Worst first.
    pub rows: Vec<Row>,
    pub pairs: Vec<Pair>,
    /// Pairs that were asked for but are not in the file, and why.
    pub pair_notes: Vec<String>,
    /// Per tool: the budgets it comes closest to and its costliest case.
    pub advice: Vec<crate::decision::Advice>,
    /// Every case on every environment, rated (seed 003's ratings).
    pub case_ratings: Vec<crate::decision::CaseRating>,
    /// Worst growth first; `None` without `--compare-to`.
    pub changes: Option<(String, Vec<Change>)>,
    /// Per latency trial, how its runs split between one CPU and two
    /// ([`super::placement`]).
    pub placement: Vec<String>,
    /// How precise the session was: comparisons and significance, why
    /// trials stopped, drift and baseline blocks (see [`precision`]).
    pub precision: Vec<String>,
}

/// The session's precision, as sentences: how many comparisons and how
/// many significant at the false discovery rate (per tool), how the trials
/// were measured (pairs, the seed of their order), why they stopped, and
/// what toggling the tool cost.
pub fn precision(r: &Results) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(f) = &r.session.fdr {
        let fams: Vec<String> = r
            .session
            .fdr_families
            .iter()
            .map(|x| {
                format!(
                    "{} {} of {}",
                    x.tool.as_deref().unwrap_or("?"),
                    x.significant,
                    x.comparisons
                )
            })
            .collect();
        out.push(format!(
            "{} comparisons with a baseline; {} significant at a {} % false discovery rate (Benjamini–Hochberg q-values, each tool a family{}).",
            f.comparisons,
            f.significant,
            100.0 * f.level,
            if fams.is_empty() {
                String::new()
            } else {
                format!(": {}", fams.join(", "))
            }
        ));
        if f.significant > f.significant_exact {
            out.push(format!(
                "{} of the {} significant comparisons are significant by the exact sign-flip p's q-values too, which assume nothing but the coin that ordered each pair; the other {} rest on the t test's reading of a few pairs' shape (docs/experiment.md, \"Two q-values\").",
                f.significant_exact,
                f.significant,
                f.significant - f.significant_exact
            ));
        }
    }
    if let Some(seed) = r.session.seed {
        out.push(format!(
            "Every eBPF trial was measured in pairs of blocks, a baseline block and a tool block in random order (seed {seed}; `--seed {seed}` replays the orders)."
        ));
    }
    let mut reasons: std::collections::BTreeMap<&str, usize> = Default::default();
    for t in &r.trials {
        if let Some(s) = &t.stop {
            *reasons.entry(s.reason.as_str()).or_default() += 1;
        }
    }
    if !reasons.is_empty() {
        let list: Vec<String> = reasons.iter().map(|(k, v)| format!("{v} {k}")).collect();
        out.push(format!("Trials stopped adding pairs: {}.", list.join(", ")));
    }
    for t in &r.trials {
        if let Some(s) = t.stop.as_ref().filter(|s| s.reason.short()) {
            out.push(format!(
                "{}: {} pairs, {}.",
                t.name,
                s.pairs,
                crate::readout::stop(s)
            ));
        }
    }
    let starts: Vec<f64> = r
        .session
        .episodes
        .iter()
        .filter_map(|e| e.start_s)
        .collect();
    if !starts.is_empty() {
        let mut sorted = starts.clone();
        sorted.sort_by(f64::total_cmp);
        let stops: Vec<f64> = r.session.episodes.iter().map(|e| e.stop_s).collect();
        out.push(format!(
            "{} tool episodes: start (to attached) median {:.0} ms, max {:.0} ms; stop mean {:.0} ms.",
            starts.len(),
            1e3 * sorted[sorted.len() / 2],
            1e3 * sorted[sorted.len() - 1],
            1e3 * stops.iter().sum::<f64>() / stops.len().max(1) as f64
        ));
    }
    out
}

fn fact(v: &serde_json::Value, key: &str) -> String {
    match v.get(key) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(x) if !x.is_null() => x.to_string(),
        _ => "?".into(),
    }
}

fn hosts(r: &Results) -> Vec<Host> {
    r.session
        .hosts
        .iter()
        .map(|(name, f)| Host {
            name: name.clone(),
            kernel: fact(f, "kernel"),
            cpus: fact(f, "cpus"),
            cpu_model: fact(f, "cpu_model"),
            nics: f
                .get("nics")
                .and_then(|n| n.as_object())
                .map(|nics| {
                    nics.iter()
                        .map(|(nic, v)| {
                            let driver = v
                                .pointer("/driver_info/driver")
                                .and_then(|d| d.as_str())
                                .unwrap_or("?");
                            let on: Vec<&str> = v
                                .get("offloads")
                                .and_then(|o| o.as_object())
                                .map(|o| {
                                    o.iter()
                                        .filter(|(_, s)| s.as_str() == Some("on"))
                                        .map(|(k, _)| k.as_str())
                                        .collect()
                                })
                                .unwrap_or_default();
                            format!("{nic} ({driver}): {}", on.join(", "))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

fn counts(r: &Results) -> Counts {
    let mut c = Counts {
        trials: r.trials.len(),
        ..Default::default()
    };
    for t in &r.trials {
        c.baselines += usize::from(t.is_baseline());
        match t.status {
            Status::Passed => c.passed += 1,
            Status::Failed => c.failed += 1,
        }
        c.broken += usize::from(!t.ran());
        let worst = t
            .analysis
            .budgets
            .iter()
            .map(|b| b.verdict)
            .max_by_key(|v| *v as u8);
        c.exceeded += usize::from(worst == Some(Verdict::Exceeded));
        c.inconclusive += usize::from(worst == Some(Verdict::Inconclusive));
    }
    c
}

/// Builds the model. `compare` names groups of cases to put side by side
/// (the tools file's `comparisons:` and `--compare`); `earlier` is the
/// `--compare-to` file with its path.
pub fn build(r: &Results, compare: &[Vec<String>], earlier: Option<(&str, &Results)>) -> Model {
    let rows = table::rows(r);
    let (pairs, pair_notes) = compare::pairs(&rows, r, compare);
    Model {
        session_id: r.session.id.clone(),
        started: r.session.started.clone(),
        finished: r
            .session
            .finished
            .clone()
            .unwrap_or_else(|| "not finished".into()),
        interrupted: r.session.interrupted,
        config_dir: r.session.config_dir.clone(),
        selection: if r.session.selection.is_empty() {
            "everything".into()
        } else {
            r.session.selection.join(" ")
        },
        generator: r.generator.clone(),
        hosts: hosts(r),
        counts: counts(r),
        pairs,
        pair_notes,
        advice: crate::decision::recommendations(r),
        case_ratings: crate::decision::per_case(r, &r.session.ratings),
        precision: precision(r),
        placement: super::placement::lines(r),
        changes: earlier.map(|(path, e)| {
            (
                format!("{path} (session {})", e.session.id),
                compare::changes(r, e),
            )
        }),
        rows,
    }
}
