//! The pair-level estimate (docs/design.md §7, "The experiment"): an eBPF
//! trial is measured in k pairs of blocks, a baseline block and a tool
//! block in random order, and the unit of replication is the pair. Each
//! pair gives one difference; everything that varies between tool episodes
//! (CPU placement, frequency, a neighbour) varies between pairs and so
//! enters the interval by construction.
//!
//! - Relative costs are log ratios `ln(tool/baseline)`, averaged over the
//!   pairs and reported as `100·(e^mean − 1)` %; absolute costs are plain
//!   differences.
//! - The interval is Student's t with k − 1 degrees of freedom on the pair
//!   differences, floored at the measuring tool's resolution.
//! - The p-value is the same t test's, so the label and the interval agree.
//!   Under "the tool does nothing" the coin that ordered each pair makes
//!   every difference as likely negated (sign-symmetric), and under
//!   symmetry the t test is conservative at the usual levels (Efron 1969,
//!   "Student's t-test under symmetry conditions", JASA 64:1278).
//! - Beside it, `p_exact`: the sign-flip randomization p of the same mean,
//!   exact over all 2^k sign vectors for k ≤ 16, a Monte Carlo of 20,000
//!   draws above. It assumes nothing but the coin, but with k pairs no p
//!   is below 2/2^k: with 6 pairs, 1/32, so a 52 % loss measured to
//!   ±0.06 % was "not significant" once BH weighed it with the tool's other
//!   comparisons. It checks the label; it does not make it.
//! - `z`, the normal score of the t statistic (`Φ⁻¹(F_t,k−1(t))`), is N(0,1)
//!   when nothing differs: the A/A experiment checks that its mean square
//!   is 1.

use super::{t975, Estimate};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Pairs beyond this are tested by Monte Carlo instead of exactly.
pub const EXACT_MAX: usize = 16;
/// Monte Carlo draws of the sign-flip test above [`EXACT_MAX`] pairs.
pub const DRAWS: u32 = 20_000;

/// The scale a metric is compared on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Log ratios (rates, times): the relative cost is primary.
    Ratio,
    /// Differences (a percentage such as CPU busy): points are primary.
    Points,
}

/// One compared metric over the complete pairs of a trial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    pub k: usize,
    /// Means over the pairs of each side.
    pub base_mean: f64,
    pub tool_mean: f64,
    /// tool − baseline, in the metric's unit.
    pub abs: Estimate,
    /// `100·(e^mean ln ratio − 1)` with its interval, in percent; `None`
    /// when a value is not positive (no ratio).
    pub rel_pct: Option<Estimate>,
    /// Two-sided t-test p of the primary scale.
    pub p: Option<f64>,
    /// Two-sided exact sign-flip p of the primary scale: no normality
    /// assumed, no p below 2/2^k.
    pub p_exact: Option<f64>,
    /// The normal score of the primary scale's t statistic.
    pub z: Option<f64>,
}

/// Mean, sample standard deviation and count of finite values.
fn moments(v: &[f64]) -> (f64, f64, usize) {
    let k = v.len();
    let mean = v.iter().sum::<f64>() / k.max(1) as f64;
    let var = if k > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1) as f64
    } else {
        0.0
    };
    (mean, var.sqrt(), k)
}

/// Mean difference with its t interval (k − 1 df), the half-width floored
/// at `floor`; no interval below two pairs.
pub fn mean_interval(d: &[f64], floor: f64) -> Estimate {
    let (mean, sd, k) = moments(d);
    let ci95 = (k >= 2).then(|| t975((k - 1) as f64)).flatten().map(|t| {
        let h = (t * sd / (k as f64).sqrt()).max(floor);
        [mean - h, mean + h]
    });
    Estimate { value: mean, ci95 }
}

/// The normal score of the one-sample t statistic of `d` (k − 1 df).
pub fn z_score(d: &[f64]) -> Option<f64> {
    let (mean, sd, k) = moments(d);
    if k < 2 {
        return None;
    }
    if sd == 0.0 {
        return Some(0.0).filter(|_| mean == 0.0);
    }
    let t = mean / (sd / (k as f64).sqrt());
    let cdf = StudentsT::new(0.0, 1.0, (k - 1) as f64).ok()?.cdf(t);
    let z = Normal::new(0.0, 1.0).ok()?.inverse_cdf(cdf);
    Some(z.clamp(-40.0, 40.0))
}

/// Two-sided p of the one-sample t test of `d` (k − 1 df): the test whose
/// interval [`mean_interval`] is, so the two agree (p ≤ 0.05 exactly when
/// the unfloored interval excludes zero). All pairs equal: 1 when they are
/// zero, 0 else.
pub fn t_p(d: &[f64]) -> Option<f64> {
    let (mean, sd, k) = moments(d);
    if k < 2 || d.iter().any(|x| !x.is_finite()) {
        return None;
    }
    if sd == 0.0 {
        return Some(if mean == 0.0 { 1.0 } else { 0.0 });
    }
    let t = mean / (sd / (k as f64).sqrt());
    let sf = StudentsT::new(0.0, 1.0, (k - 1) as f64).ok()?.sf(t.abs());
    Some((2.0 * sf).min(1.0))
}

/// Two-sided sign-flip p of the mean of `d`: the share of sign vectors
/// whose |sum| is at least the observed one (ties count), exact for
/// k ≤ [`EXACT_MAX`], else `(1 + hits) / (DRAWS + 1)` over draws seeded by `d`. Recorded
/// beside the t test's p as its assumption-free check ([`Paired::p_exact`]).
pub fn sign_flip_p(d: &[f64]) -> Option<f64> {
    let k = d.len();
    if k == 0 || d.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let obs = d.iter().sum::<f64>().abs();
    // Sums that equal the observed one up to rounding are ties, not misses.
    let tol = 1e-9 * d.iter().map(|x| x.abs()).sum::<f64>();
    let hit = |s: f64| s.abs() >= obs - tol;
    if k <= EXACT_MAX {
        let hits = (0u32..1 << k)
            .filter(|mask| {
                let s: f64 = d
                    .iter()
                    .enumerate()
                    .map(|(i, x)| if mask >> i & 1 == 1 { -x } else { *x })
                    .sum();
                hit(s)
            })
            .count();
        return Some(hits as f64 / f64::from(1u32 << k));
    }
    // Seeded by the data: the same pairs give the same p.
    let mut rng = super::SplitMix(d.iter().fold(0x5eed, |h: u64, x| {
        (h ^ x.to_bits()).wrapping_mul(0x0100_0000_01b3)
    }));
    let hits = (0..DRAWS)
        .filter(|_| {
            let s: f64 = d
                .iter()
                .map(|x| if rng.next() & 1 == 1 { -x } else { *x })
                .sum();
            hit(s)
        })
        .count();
    Some((1 + hits) as f64 / f64::from(DRAWS + 1))
}

/// Compares `tool` with `base`, block means aligned by pair. `step` is the
/// measuring tool's resolution (a difference of two block means is known
/// to no better than one step).
pub fn compare(base: &[f64], tool: &[f64], scale: Scale, step: f64) -> Option<Paired> {
    let pairs: Vec<(f64, f64)> = base
        .iter()
        .zip(tool)
        .map(|(b, t)| (*b, *t))
        .filter(|(b, t)| b.is_finite() && t.is_finite())
        .collect();
    let k = pairs.len();
    if k == 0 {
        return None;
    }
    let diffs: Vec<f64> = pairs.iter().map(|(b, t)| t - b).collect();
    let base_mean = pairs.iter().map(|p| p.0).sum::<f64>() / k as f64;
    let tool_mean = pairs.iter().map(|p| p.1).sum::<f64>() / k as f64;
    let abs = mean_interval(&diffs, step);
    let logs: Option<Vec<f64>> = pairs
        .iter()
        .map(|(b, t)| (*b > 0.0 && *t > 0.0).then(|| (t / b).ln()))
        .collect();
    let rel_pct = logs.as_ref().map(|l| {
        let floor = if base_mean > 0.0 {
            step / base_mean
        } else {
            0.0
        };
        let e = mean_interval(l, floor);
        let pct = |x: f64| 100.0 * (x.exp() - 1.0);
        Estimate {
            value: pct(e.value),
            ci95: e.ci95.map(|[lo, hi]| [pct(lo), pct(hi)]),
        }
    });
    // The primary scale: log ratios where they exist, differences else.
    let primary = match (scale, &logs) {
        (Scale::Ratio, Some(l)) => l.clone(),
        _ => diffs.clone(),
    };
    // A mean difference that rounding alone can make is no evidence.
    let rounding = step > 0.0 && abs.value.abs() <= step;
    let (p, p_exact) = if rounding {
        (Some(1.0), Some(1.0))
    } else {
        (t_p(&primary), sign_flip_p(&primary))
    };
    Some(Paired {
        k,
        base_mean,
        tool_mean,
        abs,
        rel_pct,
        p,
        p_exact,
        z: if rounding {
            Some(0.0)
        } else {
            z_score(&primary)
        },
    })
}

#[cfg(test)]
mod tests;
