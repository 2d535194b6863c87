//! Analysis (docs/design.md §7): turns the blocks of a trial in the results
//! file into statistics, compares every eBPF trial with its baseline over
//! its pairs (or, with `--baseline-from`, with an earlier session's blocks),
//! and judges budgets, regressions against `--compare-to`, and RSS growth
//! within the tool's episodes. It reads and writes only
//! [`crate::results`] data.

pub mod blocks;
mod judge;
mod pairs;
pub mod sessions;

pub use judge::{budget_metric, budgets_of, measure, regressions};
pub use pairs::{compare_metric, headline_half_width, scale_of};

use crate::config::Config;
use crate::results::{Analysis, Results, Status, TrialResult};
use crate::stats;
use std::collections::{BTreeMap, HashMap};

/// What analysis needs besides the results: limits from the configuration
/// and the options of the run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub strict: bool,
    pub max_cv_pct: f64,
    /// Per tool id: its budgets, scoped (resolved per trial).
    pub budgets: BTreeMap<String, crate::config::budgets::Budgets>,
    /// Per tool id: regression limit in percentage points.
    pub regression_pct: BTreeMap<String, f64>,
    /// `--allow-mismatch`: pair with a trial of another file measured under
    /// other conditions (with a note), instead of refusing.
    pub allow_mismatch: bool,
}

impl Settings {
    pub fn from_config(cfg: &Config, strict: bool) -> Settings {
        Settings {
            strict,
            allow_mismatch: false,
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

type PairKey = (String, crate::domain::TestType, String);

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
    let name = crate::naming::trial_name_of(None, &t.env, t.test_type, &t.variant);
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

/// What differs between the conditions of trial `now` and of `then`, a
/// trial of another results file (nothing when either recorded none).
pub fn mismatch(now: &TrialResult, then: &TrialResult) -> Vec<String> {
    match (&now.conditions, &then.conditions) {
        (Some(a), Some(b)) => a.differences(b),
        _ => Vec::new(),
    }
}

/// The note of a pairing across files under other conditions: `Err` when
/// it is refused.
pub fn check_conditions(
    now: &TrialResult,
    then: &TrialResult,
    file: &str,
    allow: bool,
) -> Result<Option<String>, String> {
    let d = mismatch(now, then);
    if d.is_empty() {
        Ok(None)
    } else if allow {
        Ok(Some(format!(
            "compared with {file} although its conditions differ (--allow-mismatch): {}",
            d.join("; ")
        )))
    } else {
        Err(format!(
            "not compared with {file}: its conditions differ ({}); measure again under the same conditions, or pass --allow-mismatch",
            d.join("; ")
        ))
    }
}

/// What analysis concludes about trial `idx` of `results`: statistics over
/// its own blocks, noise, the comparison over its pairs (or with an
/// earlier session's baseline), budgets, the leak check (when `case_last`)
/// and regressions.
pub fn analysis_of(
    results: &Results,
    index: &Index,
    idx: usize,
    settings: &Settings,
    src: &Sources<'_>,
    case_last: bool,
) -> Analysis {
    let t = &results.trials[idx];
    // Analysis starts afresh: judging a trial twice gives the same answer.
    let mut a = Analysis {
        stats: blocks::summarize(t.own_blocks()),
        ..Default::default()
    };
    a.noisy = a
        .stats
        .iter()
        .filter(|(n, s)| {
            crate::metrics::get(n).is_some_and(|m| m.shown)
                && s.n > 1
                && s.cv_pct.is_some_and(|cv| cv > settings.max_cv_pct)
        })
        .map(|(n, _)| n.clone())
        .collect();
    if t.ran() && !t.is_baseline() {
        let name = crate::naming::trial_name_of(None, &t.env, t.test_type, &t.variant);
        let c = match pairs::compare(t, &name) {
            Some(c) => Ok(c),
            None => across(results, index, t, src, settings, &mut a.notes),
        };
        match c {
            Ok(c) => {
                if let (Some(cap), Some(m)) = (t.rate_cap_bps, c.metrics.get("throughput_bps")) {
                    if m.baseline_mean >= 0.95 * cap && m.ebpf_mean >= 0.95 * cap {
                        a.notes.push(format!(
                            "both sides reach the {} rate cap: this variant cannot show a throughput cost; read an uncapped variant (target_bw 0)",
                            crate::metrics::bits(cap)
                        ));
                    }
                }
                a.comparison = Some(c);
            }
            Err(why) => a.notes.push(why),
        }
    }
    judge::judge(results, idx, a, settings, src, case_last)
}

/// An eBPF trial without pairs: against `--baseline-from`'s baseline, as
/// two sessions (see [`sessions`]); `Err` says why there is no comparison.
fn across(
    results: &Results,
    index: &Index,
    t: &TrialResult,
    src: &Sources<'_>,
    settings: &Settings,
    notes: &mut Vec<String>,
) -> Result<crate::results::Comparison, String> {
    let (b, source) = find_baseline(results, index, t, src)?;
    if source == "this run" {
        return Err(format!("no complete pair with {}: not compared", b.name));
    }
    if let Some(note) = check_conditions(t, b, &source, settings.allow_mismatch)? {
        notes.push(note);
    }
    let between = src
        .baseline_from
        .and_then(|e| sessions::between(results, &e.results));
    notes.push(match between {
        Some(w) => format!(
            "compared across sessions with {source}: intervals widened by √φ = {:.2} for the variance between sessions (φ = {:.2} over {} baseline metrics both sessions measured)",
            w.widen(),
            w.phi,
            w.n
        ),
        None => format!(
            "compared across sessions with {source}: no baseline measured in both sessions, so the variance between sessions is unknown and the comparison has no interval (its verdicts are inconclusive); measure a baseline of this environment in this run too"
        ),
    });
    Ok(sessions::compare_across(t, b, between, source))
}

/// Stores an analysis on its trial. A trial that exceeds a budget or
/// regresses (or, with `strict`, is inconclusive) becomes failed;
/// `analysis.failures` says why.
fn apply(t: &mut TrialResult, a: Analysis) -> Analysis {
    t.status = if t.ran() && a.failures.is_empty() {
        Status::Passed
    } else {
        Status::Failed
    };
    std::mem::replace(&mut t.analysis, a)
}

/// Analyzes trial `idx` of `results` in place (see [`analysis_of`]).
pub fn analyze(
    results: &mut Results,
    index: &Index,
    idx: usize,
    settings: &Settings,
    src: &Sources<'_>,
    case_last: bool,
) {
    let a = analysis_of(results, index, idx, settings, src, case_last);
    apply(&mut results.trials[idx], a);
}

pub use crate::results::FDR_LEVEL;

/// Benjamini–Hochberg per tool (docs/design.md §7): each tool's
/// comparisons of the session are one family, so that an expensive tool's
/// true discoveries do not loosen the threshold for a cheap one. Sets each
/// compared metric's q-values (of its t p, which makes the `significant`
/// label, and of its exact p) and states the counts per family and in all.
/// Call after the trials' analyses change.
pub fn control_fdr(results: &mut Results) {
    // Per tool, the (t p, exact p) of its comparisons, in trial order.
    let mut families: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for t in &results.trials {
        if let (Some(c), Some(tool)) = (&t.analysis.comparison, &t.tool_id) {
            let fam = families.entry(tool.clone()).or_default();
            for m in c.metrics.values() {
                if let Some(p) = m.p {
                    fam.push((p, m.p_exact.unwrap_or(1.0)));
                }
            }
        }
    }
    let mut q: BTreeMap<String, std::vec::IntoIter<(f64, f64)>> = families
        .iter()
        .map(|(k, ps)| {
            let t = stats::bh_q(&ps.iter().map(|x| x.0).collect::<Vec<_>>());
            let exact = stats::bh_q(&ps.iter().map(|x| x.1).collect::<Vec<_>>());
            let both: Vec<(f64, f64)> = t.into_iter().zip(exact).collect();
            (k.clone(), both.into_iter())
        })
        .collect();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for t in &mut results.trials {
        let (Some(c), Some(tool)) = (&mut t.analysis.comparison, &t.tool_id) else {
            continue;
        };
        let Some(qs) = q.get_mut(tool) else { continue };
        for m in c.metrics.values_mut() {
            let (q, q_exact) = match m.p.and_then(|_| qs.next()) {
                Some((q, e)) => (Some(q), Some(e)),
                None => (None, None),
            };
            (m.q, m.q_exact) = (q, q_exact);
            m.significant = m.q.is_some_and(|q| q <= FDR_LEVEL);
            let n = counts.entry(tool.clone()).or_default();
            n.0 += usize::from(m.significant);
            n.1 += usize::from(m.significant && !m.rests_on_shape());
        }
    }
    let fams: Vec<crate::results::Fdr> = families
        .iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(tool, p)| {
            let (significant, significant_exact) = counts.get(tool).copied().unwrap_or_default();
            crate::results::Fdr {
                tool: Some(tool.clone()),
                comparisons: p.len(),
                significant,
                significant_exact,
                level: FDR_LEVEL,
            }
        })
        .collect();
    results.session.fdr = (!fams.is_empty()).then(|| crate::results::Fdr {
        tool: None,
        comparisons: fams.iter().map(|f| f.comparisons).sum(),
        significant: fams.iter().map(|f| f.significant).sum(),
        significant_exact: fams.iter().map(|f| f.significant_exact).sum(),
        level: FDR_LEVEL,
    });
    results.session.fdr_families = fams;
}

/// Analyzes every trial of a results file, on every core: baselines first,
/// as they are compared with; the last trial of each cycle gets the leak
/// check.
pub fn analyze_all(results: &mut Results, settings: &Settings, src: &Sources<'_>) {
    use rayon::prelude::*;
    let index = Index::of(results);
    let n = results.trials.len();
    for pass_baselines in [true, false] {
        let r = &*results;
        let done: Vec<(usize, Analysis)> = (0..n)
            .into_par_iter()
            .filter(|&i| r.trials[i].is_baseline() == pass_baselines)
            .map(|i| {
                let last = i + 1 == n || r.trials[i + 1].cycle != r.trials[i].cycle;
                (i, analysis_of(r, &index, i, settings, src, last))
            })
            .collect();
        // The replaced analyses are dropped on the pool too.
        let old: Vec<Analysis> = done
            .into_iter()
            .map(|(i, a)| apply(&mut results.trials[i], a))
            .collect();
        drop(old);
    }
    control_fdr(results);
}

#[cfg(test)]
mod tests;
