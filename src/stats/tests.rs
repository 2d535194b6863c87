//! The statistics against literal values from Python, scipy and statsmodels
//! (each with its source), and the verdict rule on each side of each bound.

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
#[case(None, 5.0, Verdict::Inconclusive)]
fn verdict_rule(#[case] ci: Option<[f64; 2]>, #[case] limit: f64, #[case] want: Verdict) {
    let value = ci.map_or(3.0, |[a, b]| (a + b) / 2.0);
    assert_eq!(verdict(&Estimate { value, ci95: ci }, limit), want);
}

// A minimum (e.g. events/s a tool must handle): the same rule, mirrored.
#[rstest]
#[case(Some([900.0, 990.0]), 1000.0, Verdict::Exceeded)]
#[case(Some([900.0, 1000.0]), 1000.0, Verdict::Inconclusive)]
#[case(Some([990.0, 1200.0]), 1000.0, Verdict::Inconclusive)]
#[case(Some([1000.0, 1200.0]), 1000.0, Verdict::Inconclusive)]
#[case(Some([1001.0, 1200.0]), 1000.0, Verdict::Within)]
#[case(None, 1000.0, Verdict::Inconclusive)]
#[case(None, 3.0, Verdict::Inconclusive)]
fn minimum_rule(#[case] ci: Option<[f64; 2]>, #[case] limit: f64, #[case] want: Verdict) {
    let value = ci.map_or(500.0, |[a, b]| (a + b) / 2.0);
    assert_eq!(verdict_min(&Estimate { value, ci95: ci }, limit), want);
}

#[test]
fn a_point_without_interval_is_never_exceeded_nor_within() {
    for value in [-100.0, 6.0, 1e9] {
        let e = Estimate { value, ci95: None };
        assert_eq!(verdict(&e, 5.0), Verdict::Inconclusive);
    }
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
// Source: numpy 2 / scipy 1.17.1, least squares of y on x and one dummy per
// group (`np.linalg.lstsq`), the slope ± t.ppf(0.975, n - p) · its standard
// error from s²·(XᵀX)⁻¹: the within-group slope of three episodes.
#[test]
fn slope_within_groups_matches_least_squares_with_group_intercepts() {
    let groups = vec![
        vec![(0.0, 100.0), (1.0, 103.0), (2.0, 104.0), (3.0, 108.0)],
        vec![(0.0, 300.0), (1.0, 301.0), (2.0, 305.0)],
        vec![
            (0.5, 50.0),
            (1.5, 52.0),
            (2.5, 57.0),
            (3.5, 58.0),
            (4.5, 61.0),
        ],
    ];
    let s = slope_within(&groups).unwrap();
    close(s.value, 2.67647058823517);
    let [lo, hi] = s.ci95.unwrap();
    close(lo, 2.1852756180795847);
    close(hi, 3.1676655583907554);
    // A group of one point says nothing; two points in all: no df.
    assert_eq!(
        slope_within(&[vec![(0.0, 1.0), (1.0, 2.0)], vec![(5.0, 9.0)]]),
        None
    );
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
