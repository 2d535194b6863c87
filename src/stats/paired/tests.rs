//! The pair-level statistics against literal values from scipy 1.17.1
//! (each case names the call), and the sign-flip test against its
//! definition by brute force.

use super::*;
use rstest::rstest;

fn close(a: f64, b: f64) {
    assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} != {b}");
}

// Source: scipy 1.17.1, `stats.ttest_1samp(d, 0).pvalue`.
#[rstest]
#[case(&[0.031, -0.012, 0.044, 0.027, 0.019, -0.005], 0.10769436979390024)]
#[case(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 0.005933544517592255)]
#[case(&[0.5, -0.4, 0.3, -0.2, 0.1, 0.05, -0.6, 0.25], 1.0)]
#[case(&[-2.1, -1.7, -3.3, 0.4, -2.8, -1.1, -2.2, -0.9, -1.5, -2.6], 0.000533089963052859)]
#[case(&[0.3, 0.3, -0.1, 0.2, 0.0, 0.4, -0.2], 0.18775080913735565)]
// Equal pairs: scipy's limit (t infinite: 0).
#[case(&[0.5, 0.5], 0.0)]
fn t_p_matches_scipy(#[case] d: &[f64], #[case] want: f64) {
    close(t_p(d).unwrap(), want);
}

#[test]
fn the_p_agrees_with_the_interval_and_needs_two_finite_pairs() {
    // p ≤ 0.05 exactly when the 95 % interval (unfloored) excludes zero.
    let mut rng = crate::stats::SplitMix(7);
    for k in 2..=12 {
        for _ in 0..50 {
            let d: Vec<f64> = (0..k)
                .map(|_| (rng.next() % 2001) as f64 / 1000.0 - 0.7)
                .collect();
            let [lo, hi] = mean_interval(&d, 0.0).ci95.unwrap();
            let p = t_p(&d).unwrap();
            if (p - 0.05).abs() > 1e-9 {
                assert_eq!(p < 0.05, lo > 0.0 || hi < 0.0, "{d:?}: p {p}, [{lo}, {hi}]");
            }
        }
    }
    assert!(t_p(&[]).is_none());
    assert!(t_p(&[1.0]).is_none());
    assert!(t_p(&[1.0, f64::NAN]).is_none());
    assert_eq!(t_p(&[0.0, 0.0]), Some(1.0));
}

// Source: scipy 1.17.1,
// `stats.permutation_test((d, zeros), lambda a, b, axis: np.mean(a - b, axis=axis),
//  permutation_type='samples', alternative='two-sided', n_resamples=np.inf).pvalue`
// (the exact sign-flip distribution of paired differences).
#[rstest]
#[case(&[0.031, -0.012, 0.044, 0.027, 0.019, -0.005], 0.125)]
#[case(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 0.03125)]
#[case(&[0.5, -0.4, 0.3, -0.2, 0.1, 0.05, -0.6, 0.25], 1.0)]
#[case(&[-2.1, -1.7, -3.3, 0.4, -2.8, -1.1, -2.2, -0.9, -1.5, -2.6], 0.00390625)]
#[case(&[0.3, 0.3, -0.1, 0.2, 0.0, 0.4, -0.2], 0.25)]
#[case(&[0.12, -0.03, 0.08, 0.02, -0.05, 0.09, 0.04, -0.01, 0.07, 0.03, 0.06, -0.02, 0.05, 0.01, 0.1, -0.04], 0.031005859375)]
fn sign_flip_p_matches_scipy(#[case] d: &[f64], #[case] want: f64) {
    close(sign_flip_p(d).unwrap(), want);
}

/// The definition, by brute force over every sign vector, in integers.
fn brute(d: &[i64]) -> f64 {
    let k = d.len();
    let obs: i64 = d.iter().sum::<i64>().abs();
    let hits = (0..1u32 << k)
        .filter(|m| {
            let s: i64 = (0..k)
                .map(|i| if m >> i & 1 == 1 { -d[i] } else { d[i] })
                .sum();
            s.abs() >= obs
        })
        .count();
    hits as f64 / f64::from(1u32 << k)
}

#[test]
fn sign_flip_p_is_the_share_of_sign_vectors_at_least_as_extreme() {
    let mut rng = crate::stats::SplitMix(7);
    for k in 1..=12 {
        for _ in 0..20 {
            let d: Vec<i64> = (0..k).map(|_| (rng.next() % 21) as i64 - 10).collect();
            let f: Vec<f64> = d.iter().map(|&x| x as f64).collect();
            close(sign_flip_p(&f).unwrap(), brute(&d));
        }
    }
}

#[test]
fn above_sixteen_pairs_the_p_is_a_seeded_monte_carlo_close_to_exact() {
    // 20 pairs, 18 positive: exact two-sided p = 2·(1 + 20 + 190)/2^20.
    let mut d = vec![1.0; 18];
    d.extend([-1.0, -1.0]);
    let exact = 2.0 * 211.0 / f64::from(1u32 << 20);
    let p = sign_flip_p(&d).unwrap();
    assert_eq!(p, sign_flip_p(&d).unwrap(), "the same pairs, the same p");
    // (1 + hits)/(DRAWS + 1): near 1/20001 when hits are this rare.
    assert!(
        p > 0.0 && p < exact + 10.0 / f64::from(DRAWS),
        "{p} vs {exact}"
    );
    assert!(sign_flip_p(&[]).is_none());
    assert!(sign_flip_p(&[1.0, f64::NAN]).is_none());
}

// Source: scipy 1.17.1, `stats.ttest_1samp(d, 0)`: `.statistic` and
// `.confidence_interval(0.95)`; z = `stats.norm.ppf(stats.t.cdf(t, k-1))`.
#[rstest]
#[case(&[0.031, -0.012, 0.044, 0.027, 0.019, -0.005], [-0.0054340190902933405, 0.040100685756960006], 1.6086432573119163)]
#[case(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.5366856930196764, 5.463314306980323], 2.7514314044760693)]
#[case(&[-2.1, -1.7, -3.3, 0.4, -2.8, -1.1, -2.2, -0.9, -1.5, -2.6], [-2.548097764198247, -1.0119022358017529], -3.463553808339542)]
fn t_interval_and_z_match_scipy(#[case] d: &[f64], #[case] ci: [f64; 2], #[case] z: f64) {
    let e = mean_interval(d, 0.0);
    let [lo, hi] = e.ci95.unwrap();
    close(lo, ci[0]);
    close(hi, ci[1]);
    close(z_score(d).unwrap(), z);
}

// Source: scipy 1.17.1 and numpy: d = np.log(t/b); ci =
// stats.ttest_1samp(d, 0).confidence_interval(0.95); 100*(np.exp(...)-1);
// the absolute interval from stats.ttest_1samp(t - b, 0); p =
// stats.ttest_1samp(np.log(t/b), 0).pvalue.
#[test]
fn relative_cost_is_the_mean_log_ratio_in_percent() {
    let b = [41000.0, 40500.0, 39800.0, 41200.0, 40100.0, 40900.0];
    let t = [38000.0, 38900.0, 37500.0, 39100.0, 38200.0, 37800.0];
    let c = compare(&b, &t, Scale::Ratio, 0.01).unwrap();
    let r = c.rel_pct.unwrap();
    close(r.value, -5.752843484437364);
    let [lo, hi] = r.ci95.unwrap();
    close(lo, -7.263107080011588);
    close(hi, -4.217984541140152);
    close(c.abs.value, -2333.3333333333335);
    let [lo, hi] = c.abs.ci95.unwrap();
    close(lo, -2965.322493726895);
    close(hi, -1701.3441729397719);
    assert_eq!(c.k, 6);
    close(c.p.unwrap(), 0.00022656267806964308);
    // All six the same way: the least exact p six pairs can give.
    assert_eq!(c.p_exact, Some(0.03125));
}

#[test]
fn fewer_than_two_pairs_have_no_interval_and_rounding_is_no_evidence() {
    let one = compare(&[10.0], &[12.0], Scale::Ratio, 0.0).unwrap();
    assert_eq!(
        (one.k, one.abs.ci95, one.rel_pct.unwrap().ci95),
        (1, None, None)
    );
    // netperf's whole µs: identical pairs give no zero-width interval, and
    // a mean difference within one step is p = 1.
    let same = compare(&[38.0; 6], &[39.0; 6], Scale::Ratio, 1.0).unwrap();
    let [lo, hi] = same.abs.ci95.unwrap();
    assert!(lo <= 0.0 && hi >= 2.0, "{lo} {hi}");
    assert_eq!(same.p, Some(1.0));
    // A value that is not positive has no ratio; points are compared.
    let zero = compare(&[0.0, 1.0], &[0.5, 1.5], Scale::Ratio, 0.0).unwrap();
    assert!(zero.rel_pct.is_none());
    assert_eq!(zero.p, Some(0.0));
}
