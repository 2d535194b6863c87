//! The statistics of judging: a summary of one metric's runs (median, mean,
//! standard deviation, CV, 95 % confidence interval of the mean by Student's
//! t), the difference of two such samples (Welch's t interval; the relative
//! difference by the delta method), the verdict rule that turns an interval
//! and a limit into within / inconclusive / exceeded, and a least-squares
//! slope with its interval (RSS growth).

pub mod paired;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// SplitMix64 (Steele, Lea and Flood 2014): a small seeded generator for
/// the harness's random choices (the order inside each pair, Monte Carlo
/// sign flips), so that a seed replays them exactly.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Two-sided 95 %: the 0.975 quantile.
const LEVEL: f64 = 0.975;

/// The 0.975 quantile of Student's t with `df` degrees of freedom, exact
/// (statrs, ~2 µs a call) and remembered per thread by `df`: the summaries
/// of a file share a handful of integer degrees of freedom.
pub fn t975(df: f64) -> Option<f64> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static MEMO: RefCell<HashMap<u64, f64>> = RefCell::new(HashMap::new());
    }
    if !(df.is_finite() && df > 0.0) {
        return None;
    }
    let exact = || {
        StudentsT::new(0.0, 1.0, df)
            .ok()
            .map(|t| t.inverse_cdf(LEVEL))
    };
    MEMO.with(|m| {
        if let Some(q) = m.borrow().get(&df.to_bits()) {
            return Some(*q);
        }
        let q = exact()?;
        m.borrow_mut().insert(df.to_bits(), q);
        Some(q)
    })
}

/// One metric over the runs of a trial.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub median: f64,
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for a single run.
    pub stddev: f64,
    /// Coefficient of variation, percent of the mean; `None` for a zero mean.
    pub cv_pct: Option<f64>,
    /// 95 % confidence interval of the mean (t); `None` with fewer than 2 runs.
    /// Never narrower than ±step/2 (see [`Summary::with_step`]).
    pub ci95: Option<[f64; 2]>,
    /// The step in which the measuring tool reports the metric (netperf's
    /// percentiles, sar's two decimals); it floors the interval.
    pub step: Option<f64>,
}

impl Summary {
    /// Floors the interval at ±`step`/2: every value was rounded to a
    /// multiple of `step`, so the mean is known to no better than that, and
    /// runs that are identical after rounding do not give a zero-width
    /// interval. The step is kept for [`difference`].
    pub fn with_step(mut self, step: f64) -> Summary {
        let half = step / 2.0;
        if let Some([lo, hi]) = self.ci95 {
            if step > 0.0 && (hi - lo) / 2.0 < half {
                self.ci95 = Some([self.mean - half, self.mean + half]);
            }
            if step > 0.0 {
                self.step = Some(step);
            }
        }
        self
    }
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Summarizes `values` (finite numbers; `None` when there are none).
pub fn summarize(values: &[f64]) -> Option<Summary> {
    summarize_in(&mut values.to_vec())
}

/// [`summarize`] in place: `v` is filtered and sorted.
pub fn summarize_in(v: &mut Vec<f64>) -> Option<Summary> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    let stddev = if n > 1 {
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let ci95 = (n > 1).then(|| t975((n - 1) as f64)).flatten().map(|t| {
        let h = t * stddev / (n as f64).sqrt();
        [mean - h, mean + h]
    });
    Some(Summary {
        n,
        median: median(v),
        mean,
        stddev,
        cv_pct: (mean != 0.0).then(|| 100.0 * stddev / mean.abs()),
        ci95,
        step: None,
    })
}

/// An effect with its 95 % interval. The interval is `None` when it cannot
/// be computed (fewer than two runs on a side).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub ci95: Option<[f64; 2]>,
}

/// `-x`, with the interval mirrored.
impl std::ops::Neg for Estimate {
    type Output = Estimate;
    fn neg(self) -> Estimate {
        Estimate {
            value: -self.value,
            ci95: self.ci95.map(|[lo, hi]| [-hi, -lo]),
        }
    }
}

impl Estimate {
    /// Does the interval exclude zero? (Without an interval: no.)
    pub fn significant(&self) -> bool {
        self.ci95.is_some_and(|[lo, hi]| lo > 0.0 || hi < 0.0)
    }

    /// The interval, or the point when there is none.
    pub fn bounds(&self) -> [f64; 2] {
        self.ci95.unwrap_or([self.value, self.value])
    }

    /// `self - other` for independent estimates: the intervals' half-widths
    /// combined in quadrature (no interval when either has none).
    pub fn minus(&self, other: &Estimate) -> Estimate {
        let g = self.value - other.value;
        let half = |[lo, hi]: [f64; 2]| (hi - lo) / 2.0;
        let h = self
            .ci95
            .zip(other.ci95)
            .map(|(a, b)| (half(a).powi(2) + half(b).powi(2)).sqrt());
        Estimate {
            value: g,
            ci95: h.map(|h| [g - h, g + h]),
        }
    }

    pub fn scale(self, k: f64) -> Estimate {
        let [a, b] = [k * self.bounds()[0], k * self.bounds()[1]];
        Estimate {
            value: k * self.value,
            ci95: self.ci95.map(|_| [a.min(b), a.max(b)]),
        }
    }
}

/// Welch-Satterthwaite degrees of freedom floored to 1/256 (never below 1),
/// so that their quantiles are remembered: a file's comparisons then need a
/// few thousand quantiles, not one per metric. Flooring is conservative
/// (fewer degrees of freedom, a larger quantile, a wider interval); the
/// quantile grows by at most 0.92 % (near 1 df; scipy), less above.
pub fn welch_df(df: f64) -> f64 {
    ((df * 256.0).floor() / 256.0).max(1.0)
}

/// `ebpf - baseline`: the absolute difference of the means (Welch's t
/// interval, Welch-Satterthwaite degrees of freedom) and the relative
/// difference in percent of the baseline mean (delta method for the ratio of
/// the means, same degrees of freedom).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    pub abs: Estimate,
    /// `None` when the baseline mean is zero.
    pub rel_pct: Option<Estimate>,
    /// Two-sided p-value of Welch's t test of no difference, with the same
    /// resolution floor as the interval (so p < 0.05 exactly when the
    /// interval excludes zero); `None` with fewer than two runs a side.
    pub p: Option<f64>,
}

pub fn difference(base: &Summary, ebpf: &Summary) -> Difference {
    let diff = ebpf.mean - base.mean;
    let (vb, ve) = (
        base.stddev.powi(2) / base.n as f64,
        ebpf.stddev.powi(2) / ebpf.n as f64,
    );
    let both = base.n > 1 && ebpf.n > 1;
    let se = (vb + ve).sqrt();
    // Welch-Satterthwaite; with no spread at all the interval is the point.
    // Welch-Satterthwaite; with no spread at all the interval is the point.
    let df = if se > 0.0 {
        welch_df(
            (vb + ve).powi(2)
                / (vb.powi(2) / (base.n - 1).max(1) as f64
                    + ve.powi(2) / (ebpf.n - 1).max(1) as f64),
        )
    } else {
        // No spread on either side: only a resolution floor can widen it.
        (base.n + ebpf.n).saturating_sub(2).max(1) as f64
    };
    let t = if se > 0.0 { t975(df) } else { Some(0.0) };
    let t = t.filter(|_| both);
    // Each mean is known to ±step/2 at best (see `Summary::with_step`), so
    // their difference to no better than the sum of both.
    let floor = (base.step.unwrap_or(0.0) + ebpf.step.unwrap_or(0.0)) / 2.0;
    let h = t.map(|t| (t * se).max(floor));
    let abs = Estimate {
        value: diff,
        ci95: h.map(|h| [diff - h, diff + h]),
    };
    let p = t.and_then(|_| {
        // The floor as a standard error: t975 · se_floor = floor.
        let se = se.max(floor / t975(df)?);
        // A difference that rounding alone can make is no evidence at all.
        if diff.abs() <= floor {
            return Some(1.0);
        }
        if se == 0.0 {
            return Some(0.0);
        }
        let dist = StudentsT::new(0.0, 1.0, df).ok()?;
        Some((2.0 * (1.0 - dist.cdf((diff / se).abs()))).clamp(0.0, 1.0))
    });
    let rel_pct = (base.mean != 0.0).then(|| {
        let r = ebpf.mean / base.mean;
        let mut var_r = 0.0;
        if ebpf.mean != 0.0 {
            var_r = r * r * (ve / ebpf.mean.powi(2) + vb / base.mean.powi(2));
        } else {
            var_r += ve / base.mean.powi(2);
        }
        let ci95 = t.map(|t| {
            let h = t * var_r.sqrt();
            match abs.ci95 {
                // Where rounding sets the width, the relative interval is
                // the absolute one over the baseline: exactly as wide, and
                // on the same side of zero.
                Some([lo, hi]) if h < floor / base.mean.abs() => {
                    let [a, b] = [100.0 * lo / base.mean, 100.0 * hi / base.mean];
                    [a.min(b), a.max(b)]
                }
                _ => [100.0 * (r - 1.0 - h), 100.0 * (r - 1.0 + h)],
            }
        });
        Estimate {
            value: 100.0 * (r - 1.0),
            ci95,
        }
    });
    Difference { abs, rel_pct, p }
}

/// Benjamini–Hochberg q-values (adjusted p-values) of `p`, in its order:
/// q_(i) = min over j ≥ i of p_(j) · m / j, capped at 1, where p_(j) is the
/// j-th smallest of m. Labelling "significant" the tests with q ≤ α keeps the
/// expected share of false discoveries among them at α or below.
pub fn bh_q(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut q = vec![1.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

/// A verdict against a limit (docs/design.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Within,
    Inconclusive,
    Exceeded,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Within => "within",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Exceeded => "exceeded",
        }
    }
}

/// Exceeded when the whole interval lies above the limit, inconclusive when
/// the interval contains it, within otherwise. Without an interval (fewer
/// than two pairs) inconclusive: a point value never decides.
pub fn verdict(e: &Estimate, limit: f64) -> Verdict {
    let Some([lo, hi]) = e.ci95 else {
        return Verdict::Inconclusive;
    };
    if lo > limit {
        Verdict::Exceeded
    } else if hi >= limit {
        Verdict::Inconclusive
    } else {
        Verdict::Within
    }
}

/// The same test for a lower bound (a minimum the measure must reach):
/// exceeded when the whole interval lies below it, inconclusive when the
/// interval contains it, within otherwise.
pub fn verdict_min(e: &Estimate, limit: f64) -> Verdict {
    verdict(&-*e, -limit)
}

/// Least-squares slope of `y` over `x` with its 95 % interval (t, n - 2 df);
/// `None` with fewer than 3 points or no spread in `x`.
pub fn slope(points: &[(f64, f64)]) -> Option<Estimate> {
    let n = points.len();
    if n < 3 {
        return None;
    }
    let nf = n as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / nf;
    let my = points.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let b = sxy / sxx;
    let a = my - b * mx;
    let sse: f64 = points.iter().map(|p| (p.1 - a - b * p.0).powi(2)).sum();
    let se = (sse / (nf - 2.0) / sxx).sqrt();
    let t = if se > 0.0 { t975(nf - 2.0)? } else { 0.0 };
    Some(Estimate {
        value: b,
        ci95: Some([b - t * se, b + t * se]),
    })
}

/// The slope common to several groups of points (each with its own
/// intercept: the within-group least squares), with its 95 % interval (t,
/// N − G − 1 df); `None` without two points in some group or no spread in
/// `x` within the groups.
pub fn slope_within(groups: &[Vec<(f64, f64)>]) -> Option<Estimate> {
    let groups: Vec<&Vec<(f64, f64)>> = groups.iter().filter(|g| g.len() >= 2).collect();
    let n: usize = groups.iter().map(|g| g.len()).sum();
    let df = n.checked_sub(groups.len() + 1).filter(|d| *d >= 1)? as f64;
    let centered: Vec<Vec<(f64, f64)>> = groups
        .iter()
        .map(|g| {
            let k = g.len() as f64;
            let (mx, my) = (
                g.iter().map(|p| p.0).sum::<f64>() / k,
                g.iter().map(|p| p.1).sum::<f64>() / k,
            );
            g.iter().map(|(x, y)| (x - mx, y - my)).collect()
        })
        .collect();
    let all = || centered.iter().flatten();
    let sxx: f64 = all().map(|p| p.0 * p.0).sum();
    if sxx <= 0.0 {
        return None;
    }
    let b = all().map(|p| p.0 * p.1).sum::<f64>() / sxx;
    let sse: f64 = all().map(|p| (p.1 - b * p.0).powi(2)).sum();
    let se = (sse / df / sxx).sqrt();
    let t = if se > 0.0 { t975(df)? } else { 0.0 };
    Some(Estimate {
        value: b,
        ci95: Some([b - t * se, b + t * se]),
    })
}

#[cfg(test)]
mod tests;
