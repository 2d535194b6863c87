//! How sensitive these hosts are (docs/design.md §7), from a baseline's
//! blocks: consecutive blocks of one baseline are an A/A pair, whose every
//! true difference is zero. Per baseline and compared metric:
//!
//! - φ, the over-dispersion of those A/A differences: the mean of d²/SE²,
//!   d the difference of the two blocks' means (log ratio; points for a
//!   percentage) and SE what their runs' spread alone predicts. φ ≈ 1: the
//!   runs are the whole noise; φ ≫ 1: something that changes between
//!   blocks (placement, frequency, a neighbour) dominates, and only more
//!   pairs, not more runs, narrow an interval. It needs two or more runs a
//!   block (`--calibrate N` measures three).
//! - the pair-level SD of an A/A difference, and from it the minimum
//!   detectable effect of a trial of 6 and of 10 pairs (95 % confidence,
//!   80 % power: (t.975 + t.80)·sd/√k with k − 1 df);
//! - the pairs a 1, 2, 5 and 10 % effect needs with one run a block;
//! - the floor: what 10 pairs cannot see however many runs a block has,
//!   because the block-to-block variance stays (σ_b² = Var(d)/2 minus what
//!   the runs explain). A budget below it cannot be judged on these hosts.

use crate::metrics::{self, Bound};
use crate::results::{Results, TrialResult};
use crate::stats;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The calibration file's schema version.
pub const SCHEMA: u32 = 2;
/// Effects (percent) for which the pairs needed are given.
pub const EFFECTS: [f64; 4] = [1.0, 2.0, 5.0, 10.0];
/// The pairs the MDEs are given for: the default least and most.
pub const PAIRS: [u32; 2] = [
    crate::precision::DEFAULT_MIN_PAIRS,
    crate::precision::DEFAULT_MAX_PAIRS,
];
/// The most pairs [`pairs_needed`] looks at.
const MOST_PAIRS: u32 = 1000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Calibration {
    pub schema: u32,
    /// The results files it was made from (session ids).
    pub sessions: Vec<String>,
    /// Per baseline trial name, per compared metric.
    pub trials: BTreeMap<String, BTreeMap<String, MetricCal>>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricCal {
    pub mean: f64,
    /// Run-to-run coefficient of variation within blocks, median (percent).
    pub cv_pct: Option<f64>,
    /// Blocks, and runs a block (median).
    pub blocks: usize,
    pub runs: usize,
    /// A/A pairs (consecutive blocks), and how many of their differences
    /// lay beyond what the runs' spread allows (|d| > 1.96·SE).
    pub aa_pairs: usize,
    pub aa_beyond: Option<usize>,
    /// Over-dispersion of the A/A differences (see the module's head).
    pub phi: Option<f64>,
    /// SD of an A/A pair's difference, percent (points for a percentage).
    pub pair_sd_pct: f64,
    /// Minimum detectable effect with 6 pairs (percent).
    pub mde_pct: f64,
    /// ... with 10 pairs.
    pub mde_max_pct: f64,
    /// What 10 pairs cannot see however many runs a block has (percent).
    pub floor_pct: Option<f64>,
    /// Pairs that each of [`EFFECTS`] needs with these blocks (`None`: more
    /// than 1000).
    pub pairs_for: Vec<(f64, Option<u32>)>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    (n > 0).then(|| {
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    })
}

fn t_at(q: f64, df: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    StudentsT::new(0.0, 1.0, df)
        .map(|t| t.inverse_cdf(q))
        .unwrap_or(f64::NAN)
}

/// The minimum detectable effect of `k` pairs whose differences have SD
/// `sd`: (t.975 + t.80)·sd/√k, k − 1 degrees of freedom.
pub fn mde(sd: f64, k: u32) -> f64 {
    let df = f64::from(k.max(2) - 1);
    (t_at(0.975, df) + t_at(0.8, df)) * sd / f64::from(k).sqrt()
}

/// The least pairs whose MDE is at most `effect` (none within 1000).
pub fn pairs_needed(sd: f64, effect: f64) -> Option<u32> {
    (2..=MOST_PAIRS).find(|&k| mde(sd, k) <= effect)
}

/// A block's mean and the variance of that mean on the metric's scale
/// (log, or points for a percentage), from its runs.
fn block_point(values: &[f64], log: bool) -> Option<(f64, Option<f64>)> {
    let s = stats::summarize(values)?;
    if log && s.mean <= 0.0 {
        return None;
    }
    let var = (s.n >= 2).then(|| {
        let v = s.stddev.powi(2) / s.n as f64;
        if log {
            v / s.mean.powi(2)
        } else {
            v
        }
    });
    Some((if log { s.mean.ln() } else { s.mean }, var))
}

/// One baseline's calibration, per compared metric (`None` with fewer than
/// two blocks).
pub fn of_trial(t: &TrialResult) -> Option<BTreeMap<String, MetricCal>> {
    let blocks: Vec<&crate::results::Block> = t.own_blocks().filter(|b| b.ran()).collect();
    if blocks.len() < 2 {
        return None;
    }
    let mut out = BTreeMap::new();
    for m in metrics::compared() {
        let log = crate::analysis::scale_of(m) == stats::paired::Scale::Ratio;
        let values: Vec<Vec<f64>> = blocks
            .iter()
            .map(|b| {
                b.runs
                    .iter()
                    .filter_map(|r| r.metrics.get(m.name).copied())
                    .collect()
            })
            .collect();
        let points: Vec<(f64, Option<f64>)> =
            values.iter().filter_map(|v| block_point(v, log)).collect();
        if points.len() < 2 {
            continue;
        }
        let d: Vec<(f64, Option<f64>)> = points
            .windows(2)
            .map(|w| (w[1].0 - w[0].0, w[0].1.zip(w[1].1).map(|(a, b)| a + b)))
            .collect();
        let scale = if log { 100.0 } else { 1.0 };
        let var_d = d.iter().map(|(x, _)| x * x).sum::<f64>() / d.len() as f64;
        let pair_sd = var_d.sqrt() * scale;
        let z2: Option<Vec<f64>> = d
            .iter()
            .map(|(x, se2)| se2.filter(|v| *v > 0.0).map(|v| x * x / v))
            .collect();
        let within = median(points.iter().filter_map(|p| p.1).collect());
        let floor = within.map(|w| {
            // Block-to-block variance beyond the runs', per block mean.
            let sigma_b2 = (var_d / 2.0 - w).max(0.0);
            mde((2.0 * sigma_b2).sqrt() * scale, PAIRS[1])
        });
        let all: Vec<f64> = values.iter().flatten().copied().collect();
        let mean = all.iter().sum::<f64>() / all.len().max(1) as f64;
        out.insert(
            m.name.to_string(),
            MetricCal {
                mean,
                cv_pct: median(
                    values
                        .iter()
                        .filter_map(|v| stats::summarize(v)?.cv_pct)
                        .collect(),
                ),
                blocks: points.len(),
                runs: median(values.iter().map(|v| v.len() as f64).collect()).unwrap_or(0.0)
                    as usize,
                aa_pairs: d.len(),
                aa_beyond: z2.as_ref().map(|z| {
                    z.iter()
                        .filter(|x| **x > 1.959963984540054f64.powi(2))
                        .count()
                }),
                phi: z2.map(|z| z.iter().sum::<f64>() / z.len() as f64),
                pair_sd_pct: pair_sd,
                mde_pct: mde(pair_sd, PAIRS[0]),
                mde_max_pct: mde(pair_sd, PAIRS[1]),
                floor_pct: floor,
                pairs_for: EFFECTS
                    .iter()
                    .map(|&e| (e, pairs_needed(pair_sd, e)))
                    .collect(),
            },
        );
    }
    (!out.is_empty()).then_some(out)
}

/// The calibration of results files: every baseline measured in blocks.
pub fn from_results(files: &[Results]) -> Calibration {
    let mut trials = BTreeMap::new();
    for r in files {
        for t in r.trials.iter().filter(|t| t.is_baseline()) {
            if let Some(c) = of_trial(t) {
                trials.insert(t.name.clone(), c);
            }
        }
    }
    Calibration {
        schema: SCHEMA,
        sessions: files.iter().map(|r| r.session.id.clone()).collect(),
        trials,
    }
}

/// The smallest effect these hosts can see on `metric` in trials of test
/// type `test_type` in environments `envs` (the largest MDE over those
/// calibrated baselines, so that a budget clear of it is clear in all of
/// them), with the mean.
fn mde_of(cal: &Calibration, envs: &[String], test_type: &str, metric: &str) -> Option<(f64, f64)> {
    cal.trials
        .iter()
        .filter(|(name, _)| {
            let mut parts = name.split("::").skip(1);
            let env = parts.next().unwrap_or_default();
            envs.iter().any(|e| e == env) && parts.next() == Some(test_type)
        })
        .filter_map(|(_, m)| m.get(metric).map(|c| (c.mde_pct, c.mean)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// What the hosts can detect of the quantity budget `budget` bounds, in
/// the budget's unit, on the trials compared with baseline `baseline`
/// (`None`: not calibrated there, or a budget without a baseline).
pub fn detectable(cal: &Calibration, baseline: &str, budget: &str) -> Option<f64> {
    let b = metrics::budget(budget)?;
    let metric = b.bound.compared_metric()?;
    let c = cal.trials.get(baseline)?.get(metric)?;
    Some(in_budget_unit(c.mde_pct, c.mean, b.bound, metric))
}

/// An MDE (percent of the mean; points for a percentage metric) in the
/// unit of a budget on `metric`.
fn in_budget_unit(mde: f64, mean: f64, bound: Bound, metric: &str) -> f64 {
    let points = metrics::get(metric).is_some_and(|m| m.unit == metrics::Unit::Percent);
    match (bound, points) {
        (Bound::AbsIncrease(_), false) => mde * mean.abs() / 100.0,
        (Bound::AbsIncrease(_), true) => mde,
        (_, true) if mean != 0.0 => 100.0 * mde / mean.abs(),
        _ => mde,
    }
}

/// Per eBPF trial and budget verdict of `r` that `cal` knows, the verdict's
/// limit next to what the hosts can detect: `trial: budget NAME LIMIT, the
/// hosts detect ≥ X` and whether the limit is below it.
pub fn beside_verdicts(cal: &Calibration, r: &Results) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for t in r.trials.iter().filter(|t| !t.is_baseline()) {
        let base = crate::naming::trial_name_of(None, &t.env, t.test_type, &t.variant);
        for v in &t.analysis.budgets {
            let Some(d) = detectable(cal, &base, &v.name) else {
                continue;
            };
            let tight = v.limit < d;
            out.push((
                format!(
                    "{}: budget {} {} ({}): these hosts detect ≥ {:.2}{}",
                    t.name,
                    v.name,
                    v.limit,
                    v.verdict.as_str(),
                    d,
                    if tight {
                        ", so the budget is tighter than they can see"
                    } else {
                        ""
                    }
                ),
                tight,
            ));
        }
    }
    out
}

/// A budget tighter than what the lab can see: its name, limit, and the
/// detectable effect in the budget's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct TooTight {
    pub budget: String,
    pub limit: f64,
    pub detectable: f64,
    pub unit: &'static str,
}

/// Budgets (name → limit) of a tool that runs in environments `envs`
/// whose limit is below the minimum detectable effect of their metric
/// there: a cost at the limit would pass as within or inconclusive more
/// often than not.
pub fn too_tight(
    cal: &Calibration,
    budgets: &indexmap::IndexMap<String, f64>,
    envs: &[String],
) -> Vec<TooTight> {
    let mut out = Vec::new();
    for (name, &limit) in budgets {
        let Some(b) = metrics::budget(name) else {
            continue;
        };
        let Some(metric) = b.bound.compared_metric() else {
            continue;
        };
        let Some(tt) = metrics::get(metric).and_then(test_type_of) else {
            continue;
        };
        let Some((mde, mean)) = mde_of(cal, envs, tt, metric) else {
            continue;
        };
        let detectable = in_budget_unit(mde, mean, b.bound, metric);
        if limit < detectable {
            out.push(TooTight {
                budget: name.clone(),
                limit,
                detectable,
                unit: b.unit,
            });
        }
    }
    out
}

/// The test type whose trials measure a compared metric (host CPU: all of
/// them; taken as latency, where it is steadiest).
fn test_type_of(m: &metrics::Metric) -> Option<&'static str> {
    Some(match m.name {
        metrics::THROUGHPUT_BPS => "throughput",
        metrics::PPS => "pps",
        _ => "latency",
    })
}

/// The calibration as a table for people.
pub fn table(cal: &Calibration) -> String {
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.2}"));
    let mut s = format!(
        "{:<44} {:<20} {:>6} {:>6} {:>6} {:>7} {:>8} {:>8} {:>8}  pairs for 1/2/5/10 %\n",
        "baseline", "metric", "blocks", "cv %", "φ", "sd %", "mde@6", "mde@10", "floor"
    );
    for (trial, ms) in &cal.trials {
        for (m, c) in ms {
            let pairs: Vec<String> = c
                .pairs_for
                .iter()
                .map(|(_, n)| n.map_or(">1000".into(), |n| n.to_string()))
                .collect();
            s.push_str(&format!(
                "{:<44} {:<20} {:>6} {:>6} {:>6} {:>7.2} {:>8.2} {:>8.2} {:>8}  {}\n",
                crate::untrusted::visible(trial),
                m,
                c.blocks,
                opt(c.cv_pct),
                opt(c.phi),
                c.pair_sd_pct,
                c.mde_pct,
                c.mde_max_pct,
                opt(c.floor_pct),
                pairs.join("/")
            ));
        }
    }
    let floors: Vec<String> = cal
        .trials
        .iter()
        .flat_map(|(t, ms)| ms.iter().map(move |(m, c)| (t, m, c)))
        .filter(|(_, _, c)| c.floor_pct.is_some_and(|f| f > 1.0))
        .map(|(t, m, c)| {
            format!(
                "{} {m} ({:.1} %)",
                crate::untrusted::visible(t),
                c.floor_pct.unwrap_or(0.0)
            )
        })
        .collect();
    if !floors.is_empty() {
        s.push_str(&format!(
            "These hosts cannot see a 1 % cost of {} with 10 pairs at any number of runs a block: the blocks differ by more than their runs explain.\n",
            floors.join(", ")
        ));
    }
    s
}

/// `ebpf-perf calibrate`: the calibration of results files, printed as a
/// table and written to `out`.
pub fn command(files: &[std::path::PathBuf], out: &std::path::Path) -> Result<(), String> {
    let mut all = Vec::new();
    for f in files {
        all.push(crate::results::read(f).map_err(|e| e.to_string())?);
    }
    let cal = from_results(&all);
    if cal.trials.is_empty() {
        return Err("no baseline in these files was measured in two or more blocks; any run of eBPF trials measures its baselines in blocks (one per pair), or run `cargo test --test perf -- baseline --calibrate 6`".into());
    }
    print!("{}", table(&cal));
    write(&cal, out)?;
    eprintln!("Calibration: {}", out.display());
    Ok(())
}

/// Writes a calibration file, atomically: a symlink at `path` is replaced,
/// never written through.
pub fn write(cal: &Calibration, path: &std::path::Path) -> Result<(), String> {
    let data = serde_json::to_vec_pretty(cal).map_err(|e| e.to_string())?;
    crate::results::write_atomic(path, &data)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Reads a calibration file.
pub fn read(path: &std::path::Path) -> Result<Calibration, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let c: Calibration = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a calibration file: {e}", path.display()))?;
    if c.schema != SCHEMA {
        return Err(format!(
            "{}: calibration schema {}, this build reads {SCHEMA}",
            path.display(),
            c.schema
        ));
    }
    Ok(c)
}

#[cfg(test)]
mod tests;
