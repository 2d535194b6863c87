//! Analysis (DESIGN 7.1): turns the runs of a trial in the results file into
//! statistics, pairs every eBPF trial with its baseline (same environment,
//! test type and variant; from this run or from `--baseline-from`), and
//! judges budgets, regressions against `--compare-to`, and RSS growth over
//! the case. It reads and writes only [`crate::results`] data.

mod judge;
mod lines;
pub mod stats;

pub use judge::{budget_metric, budgets_of};
pub use lines::{failure_message, system_out};

use crate::config::Config;
use crate::results::{Comparison, MetricComparison, Results, Status, TrialResult};
use indexmap::IndexMap;
use std::collections::{BTreeMap, HashMap};

/// Whether more of a metric costs the traffic (latency) or less does (throughput).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worse {
    Higher,
    Lower,
}

/// Metrics compared with the baseline, in display order.
pub const COMPARED: &[(&str, Worse)] = &[
    ("throughput_bps", Worse::Lower),
    ("pps", Worse::Lower),
    ("transactions_per_s", Worse::Lower),
    ("latency_mean_us", Worse::Higher),
    ("latency_p50_us", Worse::Higher),
    ("latency_p99_us", Worse::Higher),
    ("host_cpu_busy_pct", Worse::Higher),
];

/// The tool's own cost: no baseline, judged as measured.
pub const OWN_COST: &[&str] = &[
    "tool_cpu_pct",
    "tool_rss_mb",
    "tool_log_bytes_per_s",
    "bpf_events_per_s",
    "bpf_ns_per_event",
    "bpf_cpu_pct",
];

/// What analysis needs besides the results: limits from the configuration
/// and the options of the run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub strict: bool,
    pub max_cv_pct: f64,
    /// Per tool id: budget name -> limit.
    pub budgets: BTreeMap<String, IndexMap<String, f64>>,
    /// Per tool id: regression limit in percentage points.
    pub regression_pct: BTreeMap<String, f64>,
}

impl Settings {
    pub fn from_config(cfg: &Config, strict: bool) -> Settings {
        Settings {
            strict,
            max_cv_pct: cfg.perf.max_cv_pct(),
            budgets: cfg
                .tools
                .iter()
                .map(|(id, t)| (id.clone(), t.budgets.clone()))
                .collect(),
            regression_pct: cfg
                .tools
                .iter()
                .map(|(id, t)| {
                    (
                        id.clone(),
                        t.regression_pct
                            .unwrap_or(crate::config::DEFAULT_REGRESSION_PCT),
                    )
                })
                .collect(),
        }
    }
}

type PairKey = (String, String, String);

/// Where a results file's trials are: baselines by pairing key, all by name.
#[derive(Debug, Default, Clone)]
pub struct Index {
    baselines: HashMap<PairKey, usize>,
    names: HashMap<String, usize>,
}

impl Index {
    pub fn of(results: &Results) -> Index {
        let mut i = Index::default();
        for idx in 0..results.trials.len() {
            i.add(results, idx);
        }
        i
    }

    /// Indexes trial `idx` (call as trials are appended).
    pub fn add(&mut self, results: &Results, idx: usize) {
        let t = &results.trials[idx];
        if t.is_baseline() {
            self.baselines.insert(t.pair_key(), idx);
        }
        self.names.insert(t.name.clone(), idx);
    }

    fn baseline<'a>(&self, r: &'a Results, t: &TrialResult) -> Option<&'a TrialResult> {
        self.baselines.get(&t.pair_key()).map(|&i| &r.trials[i])
    }

    pub fn named<'a>(&self, r: &'a Results, name: &str) -> Option<&'a TrialResult> {
        self.names.get(name).map(|&i| &r.trials[i])
    }
}

/// An earlier results file, its path as given, and its index.
pub struct Earlier {
    pub results: Results,
    pub path: String,
    pub index: Index,
}

impl Earlier {
    pub fn new(results: Results, path: String) -> Earlier {
        let index = Index::of(&results);
        Earlier {
            results,
            path,
            index,
        }
    }

    fn describe(&self) -> String {
        format!("{} (session {})", self.path, self.results.session.id)
    }
}

/// The other results files a run may consult.
#[derive(Default, Clone, Copy)]
pub struct Sources<'a> {
    pub baseline_from: Option<&'a Earlier>,
    pub compare_to: Option<&'a Earlier>,
}

/// The baseline trial of an eBPF trial: this run's when it passed, else the
/// `--baseline-from` file's. `Err` says why there is none.
pub fn find_baseline<'a>(
    results: &'a Results,
    index: &Index,
    t: &TrialResult,
    src: &Sources<'a>,
) -> Result<(&'a TrialResult, String), String> {
    let ours = index.baseline(results, t);
    if let Some(b) = ours.filter(|b| b.ran()) {
        return Ok((b, "this run".into()));
    }
    if let Some(e) = src.baseline_from {
        if let Some(b) = e.index.baseline(&e.results, t).filter(|b| b.ran()) {
            return Ok((b, e.describe()));
        }
    }
    let name = crate::naming::trial_name_of(None, &t.env, &t.test_type, &t.variant);
    Err(match ours {
        Some(b) => format!(
            "its baseline {} failed ({}); not compared",
            b.name,
            b.error.as_deref().unwrap_or("no runs")
        ),
        None => match src.baseline_from {
            Some(e) => format!(
                "no baseline: {name} neither ran nor is in {}; not compared",
                e.path
            ),
            None => format!("no baseline: {name} did not run; not compared"),
        },
    })
}

/// Statistics of every metric of a trial's runs.
fn summarize(t: &TrialResult) -> BTreeMap<String, stats::Summary> {
    // One pass over the runs: a column of values per metric.
    let mut cols: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in &t.runs {
        for (k, v) in &r.metrics {
            cols.entry(k.as_str())
                .or_insert_with(|| Vec::with_capacity(t.runs.len()))
                .push(*v);
        }
    }
    cols.into_iter()
        .filter_map(|(k, v)| stats::summarize_vec(v).map(|s| (k.to_string(), s)))
        .collect()
}

/// Compares every metric the baseline trial and the eBPF trial's
/// statistics share.
pub fn compare(
    base: &TrialResult,
    ebpf: &BTreeMap<String, stats::Summary>,
    source: String,
) -> Comparison {
    let mut metrics = BTreeMap::new();
    for (name, _) in COMPARED {
        let (Some(b), Some(e)) = (base.analysis.stats.get(*name), ebpf.get(*name)) else {
            continue;
        };
        let d = stats::difference(b, e);
        metrics.insert(
            name.to_string(),
            MetricComparison {
                baseline_mean: b.mean,
                ebpf_mean: e.mean,
                abs: d.abs,
                rel_pct: d.rel_pct,
            },
        );
    }
    Comparison {
        baseline: base.name.clone(),
        baseline_source: source,
        metrics,
    }
}

/// Analyzes trial `idx` of `results` in place: statistics, noise, the
/// comparison with its baseline, budgets, leak (when `case_last`), and
/// regressions. A trial that exceeds a budget or regresses (or, with
/// `strict`, is inconclusive) becomes failed; `analysis.failures` says why.
pub fn analyze(
    results: &mut Results,
    index: &Index,
    idx: usize,
    settings: &Settings,
    src: &Sources<'_>,
    case_last: bool,
) {
    // Analysis starts afresh: judging a trial twice gives the same answer.
    results.trials[idx].analysis = crate::results::Analysis {
        stats: summarize(&results.trials[idx]),
        ..Default::default()
    };
    let mut a = std::mem::take(&mut results.trials[idx].analysis);
    let t = &results.trials[idx];
    a.noisy = a
        .stats
        .iter()
        .filter(|(n, s)| {
            lines::SHOWN.contains(&n.as_str())
                && s.n > 1
                && s.cv_pct.is_some_and(|cv| cv > settings.max_cv_pct)
        })
        .map(|(n, _)| n.clone())
        .collect();
    if t.ran() && !t.is_baseline() {
        match find_baseline(results, index, t, src) {
            Ok((b, source)) => {
                let c = compare(b, &a.stats, source);
                if let (Some(cap), Some(m)) = (t.rate_cap_bps, c.metrics.get("throughput_bps")) {
                    if m.baseline_mean >= 0.95 * cap && m.ebpf_mean >= 0.95 * cap {
                        a.notes.push(format!(
                            "both sides reach the {} rate cap: this variant cannot show a throughput cost; read an uncapped variant (target_bw 0)",
                            lines::bits(cap)
                        ));
                    }
                }
                a.comparison = Some(c);
            }
            Err(why) => a.notes.push(why),
        }
    }
    let mut a = judge::judge(results, idx, a, settings, src, case_last);
    let t = &mut results.trials[idx];
    t.status = if t.ran() && a.failures.is_empty() {
        Status::Passed
    } else {
        Status::Failed
    };
    std::mem::swap(&mut t.analysis, &mut a);
}

/// Analyzes every trial of a results file (baselines first, as they are
/// compared with); the last trial of each cycle gets the leak check.
pub fn analyze_all(results: &mut Results, settings: &Settings, src: &Sources<'_>) {
    let index = Index::of(results);
    let n = results.trials.len();
    let last_of_cycle =
        |r: &Results, i: usize| i + 1 == n || r.trials[i + 1].cycle != r.trials[i].cycle;
    for pass_baselines in [true, false] {
        for i in 0..n {
            if results.trials[i].is_baseline() == pass_baselines {
                let last = last_of_cycle(results, i);
                analyze(results, &index, i, settings, src, last);
            }
        }
    }
}

#[cfg(test)]
mod tests;
