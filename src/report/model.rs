//! What a report says, computed once from a results file: the session, the
//! verdict table, per-case charts' data, side-by-side pairs and the
//! regression view. The HTML page and the Markdown summary both render this
//! one model, so they cannot disagree.

use crate::analysis::measure;
use crate::metrics::{self, BUDGETS};
use crate::readout as lines;
use crate::results::{Results, Status, TrialResult};
use crate::stats::{Estimate, Verdict};
use std::collections::BTreeMap;

/// The verdict table's columns: one per budget family, in `BUDGETS` order.
pub fn families() -> impl Iterator<Item = &'static str> {
    BUDGETS.iter().map(|b| b.name)
}

/// A budget family's short column header.
pub fn family_title(name: &str) -> &'static str {
    metrics::budget(name).map_or("?", |b| b.title)
}

/// How a row or cell reads at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mark {
    /// Measured, no budget for it.
    Measured,
    Within,
    Inconclusive,
    Exceeded,
    /// The run itself failed: no numbers to judge.
    Broken,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Measured => "measured",
            Mark::Within => "within",
            Mark::Inconclusive => "inconclusive",
            Mark::Exceeded => "exceeded",
            Mark::Broken => "failed",
        }
    }

    fn of(v: Verdict) -> Mark {
        match v {
            Verdict::Within => Mark::Within,
            Verdict::Inconclusive => Mark::Inconclusive,
            Verdict::Exceeded => Mark::Exceeded,
        }
    }
}

/// One cell: the worst trial of the row for this family.
#[derive(Debug, Clone)]
pub struct Cell {
    pub value: Estimate,
    pub budget: Option<f64>,
    pub mark: Mark,
    /// `test_type/variant` of the trial it came from.
    pub from: String,
}

impl Cell {
    /// `12.3 [10.1, 14.5]`.
    pub fn text(&self) -> String {
        format!(
            "{} {}",
            lines::num(self.value.value),
            lines::interval(&self.value, "")
        )
    }
}

/// One row of the verdict table: a tool's case on one environment.
#[derive(Debug, Clone)]
pub struct Row {
    pub tool: String,
    pub case: String,
    pub case_name: String,
    pub env: String,
    pub cycle: String,
    /// Indices of the row's trials in the results file.
    pub trials: Vec<usize>,
    pub cells: Vec<Option<Cell>>,
    pub mark: Mark,
    pub failures: Vec<String>,
}

impl Row {
    /// How far over its budget the row's worst cell is (1 = at the budget).
    pub fn severity(&self) -> f64 {
        self.cells
            .iter()
            .flatten()
            .filter_map(|c| Some(c.value.value / c.budget.filter(|b| *b > 0.0)?))
            .fold(0.0, f64::max)
    }
}

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
    /// Worst growth first; `None` without `--compare-to`.
    pub changes: Option<(String, Vec<Change>)>,
}

fn case_label(t: &TrialResult) -> String {
    t.case_id.map(|id| format!("case_{id}")).unwrap_or_default()
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

/// The cell of one family over a row's trials: the largest cost.
fn cell(r: &Results, trials: &[usize], family: &str) -> Option<Cell> {
    trials
        .iter()
        .filter_map(|&i| {
            let t = &r.trials[i];
            let value = measure(family, &t.analysis)?;
            let b = t.analysis.budgets.iter().find(|b| b.name == family);
            Some(Cell {
                value,
                budget: b.map(|b| b.limit),
                mark: b.map_or(Mark::Measured, |b| Mark::of(b.verdict)),
                from: format!("{}/{}", t.test_type, t.variant),
            })
        })
        .max_by(|x, y| {
            (x.mark, x.value.value)
                .partial_cmp(&(y.mark, y.value.value))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
}

fn rows(r: &Results) -> Vec<Row> {
    let mut by: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, t) in r.trials.iter().enumerate() {
        if let Some(tool) = &t.tool_id {
            by.entry((tool.clone(), case_label(t), t.env.clone()))
                .or_default()
                .push(i);
        }
    }
    let mut rows: Vec<Row> = by
        .into_iter()
        .map(|((tool, case, env), trials)| {
            let first = &r.trials[trials[0]];
            let cells: Vec<Option<Cell>> = families().map(|f| cell(r, &trials, f)).collect();
            let broken = trials.iter().any(|&i| !r.trials[i].ran());
            let mark = if broken {
                Mark::Broken
            } else {
                cells
                    .iter()
                    .flatten()
                    .map(|c| c.mark)
                    .max()
                    .unwrap_or(Mark::Measured)
            };
            let failures = trials
                .iter()
                .map(|&i| &r.trials[i])
                .filter(|t| t.status == Status::Failed)
                .map(|t| format!("{}: {}", t.name, lines::failure_message(t)))
                .collect();
            Row {
                case_name: first.case_name.clone().unwrap_or_default(),
                cycle: first.cycle.clone(),
                tool,
                case,
                env,
                trials,
                cells,
                mark,
                failures,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (b.mark, b.severity())
            .partial_cmp(&(a.mark, a.severity()))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    rows
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

fn pairs(rows: &[Row], r: &Results, asked: &[Vec<String>]) -> (Vec<Pair>, Vec<String>) {
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

fn changes(r: &Results, earlier: &Results) -> Vec<Change> {
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

/// Builds the model. `compare` names groups of cases to put side by side
/// (the tools file's `comparisons:` and `--compare`); `earlier` is the
/// `--compare-to` file with its path.
pub fn build(r: &Results, compare: &[Vec<String>], earlier: Option<(&str, &Results)>) -> Model {
    let rows = rows(r);
    let (pairs, pair_notes) = pairs(&rows, r, compare);
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
        changes: earlier
            .map(|(path, e)| (format!("{path} (session {})", e.session.id), changes(r, e))),
        rows,
    }
}
