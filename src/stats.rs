//! The statistics of judging: a summary of one metric's runs (median, mean,
//! standard deviation, CV, 95 % confidence interval of the mean by Student's
//! t), the difference of two such samples (Welch's t interval; the relative
//! difference by the delta method), the verdict rule that turns an interval
//! and a limit into within / inconclusive / exceeded, and a least-squares
//! slope with its interval (RSS growth).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

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
/// the interval contains it, within otherwise. Without an interval the point
/// decides (exceeded above the limit, within otherwise).
pub fn verdict(e: &Estimate, limit: f64) -> Verdict {
    let [lo, hi] = e.bounds();
    if lo > limit {
        Verdict::Exceeded
    } else if hi >= limit && e.ci95.is_some() {
        Verdict::Inconclusive
    } else {
        Verdict::Within
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} != {b}");
    }

    // Source: scipy 1.x, `scipy.stats.t.ppf(0.975, df)`.
    #[rstest]
    #[case(1.0, 12.706204736174694)]
    #[case(2.0, 4.302652729749462)]
    #[case(3.0, 3.1824463052837078)]
    #[case(4.0, 2.7764451051977934)]
    #[case(10.0, 2.228138851986274)]
    #[case(30.0, 2.0422724563012378)]
    #[case(1000.0, 1.9623390808264083)]
    fn t_quantiles_match_scipy(#[case] df: f64, #[case] want: f64) {
        close(t975(df).unwrap(), want);
    }

    // Source: Python 3 `statistics.mean/stdev/median` of these lists; the
    // interval is mean ± scipy.stats.t.ppf(0.975, n-1) * stdev / sqrt(n).
    #[rstest]
    #[case(&[941.2, 955.8, 948.1], 948.3666666666667, 7.30365205450894, 948.1, 0.7701295618265376, [930.2233891645583, 966.5099441687751])]
    #[case(&[990.4, 1002.3, 995.7, 998.9], 996.825, 5.060550035980924, 997.3, 0.5076668458336141, [988.7725356176446, 1004.8774643823555])]
    fn summaries_match_python(
        #[case] v: &[f64],
        #[case] mean: f64,
        #[case] sd: f64,
        #[case] med: f64,
        #[case] cv: f64,
        #[case] ci: [f64; 2],
    ) {
        let s = summarize(v).unwrap();
        assert_eq!(s.n, v.len());
        close(s.mean, mean);
        close(s.stddev, sd);
        close(s.median, med);
        close(s.cv_pct.unwrap(), cv);
        let got = s.ci95.unwrap();
        close(got[0], ci[0]);
        close(got[1], ci[1]);
    }

    #[test]
    fn one_run_has_no_interval_and_empty_has_no_summary() {
        let s = summarize(&[5.0]).unwrap();
        assert_eq!((s.n, s.stddev, s.ci95), (1, 0.0, None));
        assert_eq!(summarize(&[]), None);
        assert_eq!(summarize(&[f64::NAN]), None);
    }

    // Source: Welch's interval and the delta-method ratio computed in Python
    // (statistics + scipy.stats.t.ppf) with the Welch-Satterthwaite df
    // 3.4052224192230707 floored to 871/256 = 3.40234375 (see `welch_df`).
    #[test]
    fn welch_difference_matches_python() {
        let e = summarize(&[941.2, 955.8, 948.1]).unwrap();
        let b = summarize(&[990.4, 1002.3, 995.7, 998.9]).unwrap();
        let d = difference(&b, &e);
        close(d.abs.value, -48.45833333333337);
        let [lo, hi] = d.abs.ci95.unwrap();
        close(lo, -63.1118971432671);
        close(hi, -33.80476952339964);
        let r = d.rel_pct.unwrap();
        close(r.value, -4.861267858784979);
        let [lo, hi] = r.ci95.unwrap();
        close(lo, -6.312715310632138);
        close(hi, -3.4098204069378206);
        assert!(d.abs.significant() && r.significant());
    }

    #[test]
    fn identical_constant_samples_differ_by_exactly_zero() {
        let s = summarize(&[3.0, 3.0, 3.0]).unwrap();
        let d = difference(&s, &s);
        assert_eq!(d.abs.ci95, Some([0.0, 0.0]));
        assert!(!d.abs.significant());
        let one = summarize(&[3.0]).unwrap();
        assert_eq!(difference(&one, &s).abs.ci95, None);
    }

    // The budget rule of docs/design.md §7, on each side of each bound.
    #[rstest]
    #[case(Some([5.1, 9.0]), 5.0, Verdict::Exceeded)]
    #[case(Some([5.0, 9.0]), 5.0, Verdict::Inconclusive)]
    #[case(Some([1.0, 9.0]), 5.0, Verdict::Inconclusive)]
    #[case(Some([1.0, 5.0]), 5.0, Verdict::Inconclusive)]
    #[case(Some([1.0, 4.9]), 5.0, Verdict::Within)]
    #[case(Some([-9.0, -1.0]), 0.0, Verdict::Within)]
    #[case(None, 5.0, Verdict::Within)]
    fn verdict_rule(#[case] ci: Option<[f64; 2]>, #[case] limit: f64, #[case] want: Verdict) {
        let value = ci.map_or(3.0, |[a, b]| (a + b) / 2.0);
        assert_eq!(verdict(&Estimate { value, ci95: ci }, limit), want);
    }

    #[test]
    fn a_point_without_interval_is_judged_by_itself() {
        let e = Estimate {
            value: 6.0,
            ci95: None,
        };
        assert_eq!(verdict(&e, 5.0), Verdict::Exceeded);
    }

    // Source: scipy.stats.linregress([0..5], [100,102,103,107,108,111]); the
    // interval is slope ± t.ppf(0.975, 4) * stderr.
    #[test]
    fn slope_matches_scipy() {
        let pts: Vec<(f64, f64)> = [100.0, 102.0, 103.0, 107.0, 108.0, 111.0]
            .iter()
            .enumerate()
            .map(|(i, &y)| (i as f64, y))
            .collect();
        let s = slope(&pts).unwrap();
        close(s.value, 2.1999999999999997);
        let [lo, hi] = s.ci95.unwrap();
        close(lo, 1.7153040054301498);
        close(hi, 2.6846959945698496);
        assert_eq!(slope(&pts[..2]), None);
    }
    // Source: statsmodels 0.13.5,
    // `multipletests([0.01, 0.04, 0.03, 0.2, 0.5, 0.001, 0.045, 0.9], method="fdr_bh")[1]`.
    #[test]
    fn bh_q_values_match_statsmodels() {
        let p = [0.01, 0.04, 0.03, 0.2, 0.5, 0.001, 0.045, 0.9];
        let want = [
            0.04,
            0.072,
            0.072,
            0.26666666666666666,
            0.5714285714285714,
            0.008,
            0.072,
            0.9,
        ];
        for (q, w) in bh_q(&p).iter().zip(want) {
            close(*q, w);
        }
        assert!(bh_q(&[]).is_empty());
    }

    // Source: scipy 1.10.1, `scipy.stats.ttest_ind(a, b, equal_var=False).pvalue`;
    // ours uses the degrees of freedom floored to 1/256 (see `welch_df`),
    // which makes p a little larger (conservative), by well under 1 %.
    #[rstest]
    #[case(&[990.4, 1002.3, 995.7, 998.9], &[941.2, 955.8, 948.1], 0.0012769897630057019)]
    #[case(&[22.0, 22.1, 21.9], &[20.0, 26.0, 15.0], 0.652496042698892)]
    fn welch_p_values_match_scipy(#[case] b: &[f64], #[case] e: &[f64], #[case] want: f64) {
        let p = difference(&summarize(b).unwrap(), &summarize(e).unwrap())
            .p
            .unwrap();
        assert!(p >= want && p <= want * 1.01, "{p} vs {want}");
    }

    // The recorded A/A case of netperf's p50: three identical runs a side,
    // 39 µs against 38 µs, reported in whole µs. Without the floor this was
    // "-2.56 % [-2.56, -2.56] significant".
    #[test]
    fn identical_quantized_runs_never_differ_significantly() {
        let base = summarize(&[39.0, 39.0, 39.0]).unwrap().with_step(1.0);
        let ebpf = summarize(&[38.0, 38.0, 38.0]).unwrap().with_step(1.0);
        assert_eq!(base.ci95, Some([38.5, 39.5]));
        assert_eq!(base.step, Some(1.0));
        let d = difference(&base, &ebpf);
        assert_eq!(d.abs.ci95, Some([-2.0, 0.0]));
        let [lo, hi] = d.rel_pct.unwrap().ci95.unwrap();
        assert!(lo < hi && hi >= 0.0, "[{lo}, {hi}]");
        assert!(!d.abs.significant() && !d.rel_pct.unwrap().significant());
        assert!(d.p.unwrap() >= 0.05, "{:?}", d.p);
    }

    #[test]
    fn the_floor_leaves_wider_intervals_alone() {
        let s = summarize(&[941.2, 955.8, 948.1]).unwrap();
        assert_eq!(s.clone().with_step(1.0).ci95, s.ci95);
        assert_eq!(summarize(&[5.0]).unwrap().with_step(1.0).ci95, None);
    }
}
