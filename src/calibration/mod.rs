//! How sensitive these hosts are, from A/A measurements: a baseline trial
//! measured in several blocks (bracketing, or `--calibrate N`) compared
//! block against block, where every true difference is zero. Per baseline
//! and compared metric: the run-to-run CV, the half-width of an A/A
//! overhead at the settings used, the minimum detectable effect (95 %
//! confidence, 80 % power), the false-positive rate observed, and the runs
//! a side that a target effect needs. Budgets tighter than what the lab can
//! see are flagged.

use crate::analysis::blocks;
use crate::metrics::{self, Bound};
use crate::results::{Results, Run, TrialResult};
use crate::stats;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The calibration file's schema version.
pub const SCHEMA: u32 = 1;
/// Effects (percent) for which the runs needed are given.
pub const EFFECTS: [f64; 4] = [1.0, 2.0, 5.0, 10.0];
/// z quantiles of the power calculation: 0.975 (two-sided 95 %) and 0.8.
const Z_975: f64 = 1.959963984540054;
const Z_80: f64 = 0.8416212335729143;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Calibration {
    pub schema: u32,
    /// The results files it was made from (session ids).
    pub sessions: Vec<String>,
    /// Per baseline trial name, per compared metric.
    pub trials: BTreeMap<String, BTreeMap<String, MetricCal>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricCal {
    pub mean: f64,
    /// Run-to-run coefficient of variation, median over blocks (percent).
    pub cv_pct: f64,
    /// Runs a block (median).
    pub runs: usize,
    /// Median half-width of an A/A overhead between blocks (percent).
    pub half_width_pct: f64,
    /// Minimum detectable effect at 95 % confidence and 80 % power with
    /// these runs (percent of the baseline).
    pub mde_pct: f64,
    /// A/A comparisons (consecutive blocks) and how many of them had an
    /// interval that excluded zero.
    pub aa_comparisons: usize,
    pub aa_significant: usize,
    /// Runs a side needed to detect each of [`EFFECTS`].
    pub runs_for: Vec<(f64, usize)>,
}

/// Runs a side to detect an effect of `effect_pct` with run CV `cv_pct`
/// (two-sample, normal approximation): n = 2·((z.975 + z.8)·cv/effect)².
pub fn runs_needed(cv_pct: f64, effect_pct: f64) -> usize {
    let n = 2.0 * ((Z_975 + Z_80) * cv_pct / effect_pct).powi(2);
    (n.ceil() as usize).max(2)
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

/// The blocks of a baseline trial, the first being its own runs.
fn blocks_of(t: &TrialResult) -> Vec<Vec<&Run>> {
    std::iter::once(&t.runs)
        .chain(t.blocks.iter().map(|b| &b.runs))
        .map(|r| r.iter().collect::<Vec<_>>())
        .filter(|r: &Vec<&Run>| r.len() >= 2)
        .collect()
}

/// One baseline's calibration, per compared metric (`None` with fewer than
/// two blocks of two runs).
pub fn of_trial(t: &TrialResult) -> Option<BTreeMap<String, MetricCal>> {
    let blocks = blocks_of(t);
    if blocks.len() < 2 {
        return None;
    }
    let stats: Vec<_> = blocks.iter().map(|b| blocks::summarize(b)).collect();
    let mut out = BTreeMap::new();
    for m in metrics::compared() {
        let s: Vec<&stats::Summary> = stats.iter().filter_map(|s| s.get(m.name)).collect();
        if s.len() < 2 {
            continue;
        }
        let (mut hw, mut sig) = (Vec::new(), 0);
        for w in s.windows(2) {
            let Some(r) = stats::difference(w[0], w[1]).rel_pct else {
                continue;
            };
            if let Some([lo, hi]) = r.ci95 {
                hw.push((hi - lo) / 2.0);
                sig += usize::from(r.significant());
            }
        }
        let Some(half) = median(hw.clone()) else {
            continue;
        };
        let cv = median(s.iter().filter_map(|x| x.cv_pct).collect()).unwrap_or(0.0);
        let runs = median(s.iter().map(|x| x.n as f64).collect()).unwrap_or(0.0) as usize;
        let df = (2 * runs).saturating_sub(2).max(1) as f64;
        // The interval's standard error is half / t.975; an effect is found
        // with 80 % power when it is (t.975 + t.80) standard errors away.
        let t975 = stats::t975(df).unwrap_or(Z_975);
        let t80 = statrs_t80(df);
        out.insert(
            m.name.to_string(),
            MetricCal {
                mean: median(s.iter().map(|x| x.mean).collect()).unwrap_or(0.0),
                cv_pct: cv,
                runs,
                half_width_pct: half,
                mde_pct: half * (t975 + t80) / t975,
                aa_comparisons: hw.len(),
                aa_significant: sig,
                runs_for: EFFECTS.iter().map(|&e| (e, runs_needed(cv, e))).collect(),
            },
        );
    }
    (!out.is_empty()).then_some(out)
}

fn statrs_t80(df: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    StudentsT::new(0.0, 1.0, df)
        .map(|t| t.inverse_cdf(0.8))
        .unwrap_or(Z_80)
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
    let c = cal.trials.get(baseline)?.get(b.bound.compared_metric()?)?;
    Some(match b.bound {
        Bound::AbsIncrease(_) => c.mde_pct * c.mean.abs() / 100.0,
        _ => c.mde_pct,
    })
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
        // An absolute budget (µs, points of CPU %) against the mean.
        let detectable = match b.bound {
            Bound::AbsIncrease(_) => mde * mean.abs() / 100.0,
            _ => mde,
        };
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
    let mut s = format!(
        "{:<44} {:<20} {:>7} {:>5} {:>9} {:>8} {:>7}  runs a side for 1/2/5/10 %\n",
        "baseline", "metric", "cv %", "runs", "±ci %", "mde %", "A/A fp"
    );
    for (trial, ms) in &cal.trials {
        for (m, c) in ms {
            let runs: Vec<String> = c.runs_for.iter().map(|(_, n)| n.to_string()).collect();
            s.push_str(&format!(
                "{:<44} {:<20} {:>7.2} {:>5} {:>9.2} {:>8.2} {:>3}/{:<3}  {}\n",
                crate::untrusted::visible(trial),
                m,
                c.cv_pct,
                c.runs,
                c.half_width_pct,
                c.mde_pct,
                c.aa_significant,
                c.aa_comparisons,
                runs.join("/")
            ));
        }
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
        return Err("no baseline in these files was measured in two or more blocks; run with bracketing (baseline_every_cases) or `cargo test --test perf -- baseline --calibrate 3`".into());
    }
    print!("{}", table(&cal));
    write(&cal, out)?;
    eprintln!("Calibration: {}", out.display());
    Ok(())
}

/// Writes a calibration file.
pub fn write(cal: &Calibration, path: &std::path::Path) -> Result<(), String> {
    let data = serde_json::to_vec_pretty(cal).map_err(|e| e.to_string())?;
    std::fs::write(path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))
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
