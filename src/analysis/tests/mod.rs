//! Analysis on hand-made results in pairs: the comparison over pairs,
//! budgets on the pair-level interval, strictness, one pair, the rate-cap
//! note, the leak fit within episodes, per-tool families, and comparisons
//! across sessions (φ).

use super::*;
use crate::readout::{failure_message, system_out};
use crate::results::{Analysis, Block, Name, Run, Series, Session, Side};
use crate::stats::Verdict;

fn block(pair: u32, side: Side, order: u8, metric: &str, v: f64) -> Block {
    Block {
        pair,
        side,
        order,
        runs: vec![Run {
            metrics: [(Name::from(metric), v)].into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn bare(name: &str, tool: Option<&str>, case: Option<u32>, variant: &str) -> TrialResult {
    let cycle = match (tool, case) {
        (Some(t), Some(c)) => format!("{t}_case_{c}_host"),
        _ => "baseline_host".into(),
    };
    let mut t = TrialResult::new(
        name,
        cycle,
        "host",
        crate::domain::TestType::Throughput,
        variant,
    );
    t.tool_id = tool.map(str::to_string);
    t.case_id = case;
    t.duration_s = 1.0;
    t
}

/// A baseline and one eBPF trial of tool `tool` in pairs: (baseline,
/// tool) block values of `metric`, the order alternating.
fn paired_for(tool: &str, variant: &str, metric: &str, pairs: &[(f64, f64)]) -> Results {
    let mut r = Results::new(Session::default());
    let mut base = bare(
        &format!("baseline::host::throughput::{variant}"),
        None,
        None,
        variant,
    );
    let mut ebpf = bare(
        &format!("{tool}::case_1::host::throughput::{variant}"),
        Some(tool),
        Some(1),
        variant,
    );
    for (i, &(b, e)) in pairs.iter().enumerate() {
        let k = i as u32 + 1;
        let first = if k % 2 == 1 { 1 } else { 2 };
        let bb = block(k, Side::Baseline, first, metric, b);
        base.blocks.push(Block {
            case: Some(ebpf.cycle.clone()),
            ..bb.clone()
        });
        ebpf.blocks.push(bb);
        ebpf.blocks.push(block(k, Side::Tool, 3 - first, metric, e));
    }
    r.trials = vec![base, ebpf];
    r
}

fn paired(variant: &str, metric: &str, pairs: &[(f64, f64)]) -> Results {
    paired_for("tool_x", variant, metric, pairs)
}

fn settings(budgets: &[(&str, f64)], strict: bool) -> Settings {
    Settings {
        strict,
        max_cv_pct: 10.0,
        budgets: ["tool_x", "tool_y"]
            .iter()
            .map(|t| {
                (
                    t.to_string(),
                    crate::config::budgets::Budgets::plain(budgets.iter().copied()),
                )
            })
            .collect(),
        regression_pct: [("tool_x".to_string(), 5.0)].into(),
        ..Default::default()
    }
}

/// Baseline ~1000, eBPF ~500 in six pairs: a 50 % loss, tight.
const HALVED: &[(f64, f64)] = &[
    (990.0, 495.0),
    (1000.0, 500.0),
    (1010.0, 505.0),
    (1005.0, 502.0),
    (995.0, 497.0),
    (1000.0, 501.0),
];

fn halved() -> Results {
    paired("multi_2_tcp", "throughput_bps", HALVED)
}

fn judge_all(r: &mut Results, s: &Settings, src: &Sources<'_>) {
    let i = Index::of(r);
    for k in 0..r.trials.len() {
        analyze(r, &i, k, s, src, false);
    }
    control_fdr(r);
}

fn one(r: &mut Results, idx: usize, s: &Settings, src: &Sources<'_>, last: bool) -> Analysis {
    let i = Index::of(r);
    analyze(r, &i, idx, s, src, last);
    r.trials[idx].analysis.clone()
}

#[test]
fn the_cost_is_measured_over_the_pairs() {
    let mut r = halved();
    judge_all(&mut r, &settings(&[], false), &Sources::default());
    let c = r.trials[1].analysis.comparison.as_ref().unwrap();
    assert_eq!(c.baseline, "baseline::host::throughput::multi_2_tcp");
    assert_eq!(c.baseline_source, "this run, in pairs");
    let m = &c.metrics["throughput_bps"];
    // scipy 1.17.1: stats.ttest_1samp(np.log(tool/base), 0).pvalue.
    assert_eq!(m.pairs, 6);
    let p = m.p.unwrap();
    assert!((p - 2.116857721465376e-15).abs() < 1e-20, "{p}");
    // Beside it, the exact sign-flip p: six pairs all one way, 1/32.
    assert_eq!(m.p_exact, Some(0.03125));
    let rel = m.rel_pct.unwrap();
    assert!((rel.value + 50.0).abs() < 0.05, "{rel:?}");
    assert!(rel.significant());
    // One comparison in its family, so q = p.
    assert_eq!(m.q, m.p);
    assert!(m.significant);
    assert!(system_out(&r.trials[1])
        .iter()
        .any(|l| l.starts_with("overhead throughput_bps -50.00% [")
            && l.contains("] significant (q < 0.001) (p < 0.001, 6 pairs)")));
    assert!(system_out(&r.trials[1])
        .iter()
        .any(|l| l.starts_with("pairs 6 (baseline first in 3), 1 run a block")));
    assert!(system_out(&r.trials[0])
        .iter()
        .any(|l| l.starts_with("blocks 6 (in the pairs of 1 case), 1 run a block")));
    let fdr = r.session.fdr.as_ref().unwrap();
    assert_eq!((fdr.comparisons, fdr.significant), (1, 1));
    // All six pairs one way: 1/32, and alone in its family the coin
    // carries the label too.
    assert_eq!(m.q_exact, Some(0.03125));
    assert!(!m.rests_on_shape());
    assert_eq!(fdr.significant_exact, 1);
}

/// Five pairs halved and one a little faster: the t test calls it, the
/// coin alone does not (4 of the 64 sign vectors are as extreme).
const FIVE_HALVED: &[(f64, f64)] = &[
    (990.0, 495.0),
    (1000.0, 500.0),
    (1010.0, 505.0),
    (1005.0, 502.0),
    (995.0, 497.0),
    (1000.0, 1010.0),
];

#[test]
fn a_label_that_rests_on_the_t_shape_says_so() {
    let mut r = paired("multi_2_tcp", "throughput_bps", FIVE_HALVED);
    judge_all(&mut r, &settings(&[], false), &Sources::default());
    let m = &r.trials[1].analysis.comparison.as_ref().unwrap().metrics["throughput_bps"];
    // scipy 1.17.1: stats.ttest_1samp(np.log(tool/base), 0).pvalue.
    let p = m.p.unwrap();
    assert!((p - 0.004416105540652923).abs() < 1e-12, "{p}");
    // Brute force over the 2^6 sign vectors: 4 at least as extreme.
    assert_eq!(m.p_exact, Some(0.0625));
    // One comparison in its family: q = p for both.
    assert_eq!((m.q, m.q_exact), (m.p, m.p_exact));
    assert!(m.significant && m.rests_on_shape());
    assert!(system_out(&r.trials[1]).iter().any(|l| l.contains(
        "significant (q 0.004; exact q 0.062: it rests on the t test's shape, not on the coin alone)"
    )));
    let fdr = r.session.fdr.as_ref().unwrap();
    assert_eq!((fdr.significant, fdr.significant_exact), (1, 0));
}

#[test]
fn budgets_exceeded_within_and_inconclusive_on_the_pair_interval() {
    for (limit, verdict, status) in [
        (40.0, Verdict::Exceeded, Status::Failed),
        (60.0, Verdict::Within, Status::Passed),
        (50.0, Verdict::Inconclusive, Status::Passed),
    ] {
        let mut r = halved();
        judge_all(
            &mut r,
            &settings(&[("throughput_loss_pct", limit)], false),
            &Sources::default(),
        );
        let t = &r.trials[1];
        assert_eq!(t.analysis.budgets[0].verdict, verdict, "limit {limit}");
        assert_eq!(t.status, status, "limit {limit}");
        let line = format!("budget throughput_loss_pct {limit}: {}", verdict.as_str());
        assert!(system_out(t).iter().any(|l| l.starts_with(&line)), "{line}");
        if status == Status::Failed {
            let m = failure_message(t);
            assert!(
                m.contains("budget throughput_loss_pct 40: exceeded: measured 50.00 ["),
                "{m}"
            );
            assert!(m.contains("0.5 kbit/s vs baseline 1.0 kbit/s"), "{m}");
        }
    }
}

#[test]
fn one_pair_is_never_exceeded_only_inconclusive() {
    let mut r = paired("multi_2_tcp", "throughput_bps", &[(1000.0, 100.0)]);
    let s = settings(&[("throughput_loss_pct", 10.0)], false);
    judge_all(&mut r, &s, &Sources::default());
    let b = &r.trials[1].analysis.budgets[0];
    assert_eq!(b.measured.ci95, None);
    assert_eq!(b.verdict, Verdict::Inconclusive);
    assert_eq!(r.trials[1].status, Status::Passed);
    judge_all(
        &mut r,
        &settings(&[("throughput_loss_pct", 10.0)], true),
        &Sources::default(),
    );
    assert_eq!(r.trials[1].status, Status::Failed, "--strict fails it");
}

#[test]
fn strict_fails_inconclusive_and_baselines_have_no_budgets() {
    let mut r = halved();
    let strict = settings(&[("throughput_loss_pct", 50.0)], true);
    judge_all(&mut r, &strict, &Sources::default());
    assert_eq!(r.trials[1].status, Status::Failed);
    assert!(r.trials[0].analysis.budgets.is_empty());
    assert_eq!(r.trials[0].status, Status::Passed);
}

#[test]
fn no_baseline_is_said_plainly_and_never_compared() {
    let mut r = halved();
    r.trials.remove(0);
    for b in &mut r.trials[0].blocks {
        if b.side == Side::Baseline {
            b.runs.clear();
        }
    }
    let j = one(
        &mut r,
        0,
        &settings(&[("throughput_loss_pct", 1.0)], false),
        &Sources::default(),
        false,
    );
    assert!(r.trials[0].analysis.comparison.is_none());
    assert!(j.budgets.is_empty());
    assert_eq!(
        r.trials[0].analysis.notes,
        ["no baseline: baseline::host::throughput::multi_2_tcp did not run; not compared"]
    );
}

#[test]
fn both_sides_at_the_cap_is_noted() {
    let mut r = paired(
        "single_tcp_1G",
        "throughput_bps",
        &[(0.999e9, 0.997e9), (0.998e9, 0.998e9), (0.999e9, 0.999e9)],
    );
    r.trials[1].rate_cap_bps = Some(1e9);
    judge_all(&mut r, &settings(&[], false), &Sources::default());
    assert!(
        r.trials[1].analysis.notes[0].contains("rate cap"),
        "{:?}",
        r.trials[1].analysis.notes
    );
}

#[test]
fn each_tool_is_a_family_of_its_own() {
    // Tool x: one comparison, a 1.3 % loss with p = 0.038 (scipy 1.17.1,
    // stats.ttest_1samp(np.log(tool/base), 0).pvalue). Tool y: a halving
    // and 20 comparisons that say little. In one family of 22, x's p would
    // be q ≥ 0.038·22/2 = 0.42; in its own family it is its p.
    let mut r = paired(
        "multi_2_tcp",
        "throughput_bps",
        &[
            (1000.0, 980.0),
            (1000.0, 990.0),
            (1000.0, 970.0),
            (1000.0, 1005.0),
            (1000.0, 985.0),
            (1000.0, 990.0),
        ],
    );
    let mut y = paired_for("tool_y", "multi_2_tcp", "throughput_bps", HALVED);
    for k in 0..20 {
        let mut t = y.trials[1].clone();
        t.name = format!("tool_y::case_{k}::host::throughput::multi_2_tcp");
        for b in t.blocks.iter_mut().filter(|b| b.side == Side::Tool) {
            let v = b.runs[0].metrics["throughput_bps"];
            b.runs[0].metrics.insert(
                "throughput_bps".into(),
                v * 2.0 * if b.pair % 2 == 0 { 1.01 } else { 0.99 },
            );
        }
        y.trials.push(t);
    }
    r.trials.extend(y.trials.drain(1..));
    judge_all(&mut r, &settings(&[], false), &Sources::default());
    let x = &r.trials[1].analysis.comparison.as_ref().unwrap().metrics["throughput_bps"];
    let p = x.p.unwrap();
    assert!((p - 0.038469146052736006).abs() < 1e-12, "{p}");
    assert_eq!(x.q, x.p);
    assert!(x.significant);
    let fams = &r.session.fdr_families;
    assert_eq!(fams.len(), 2, "{fams:?}");
    assert_eq!(
        (fams[0].tool.as_deref(), fams[0].comparisons),
        (Some("tool_x"), 1)
    );
    assert_eq!(
        (fams[1].tool.as_deref(), fams[1].comparisons),
        (Some("tool_y"), 21)
    );
    assert_eq!(r.session.fdr.as_ref().unwrap().comparisons, 22);
}

#[test]
fn leak_is_the_slope_within_the_episodes_on_the_cases_last_trial() {
    let mut r = halved();
    // 60 kB per minute within each episode (+1 kB a second), and every
    // episode starts afresh at 1000 kB: a fit across episodes would see
    // no growth, the one within them sees 60.
    for b in r.trials[1]
        .blocks
        .iter_mut()
        .filter(|b| b.side == Side::Tool)
    {
        let t0 = f64::from(b.pair) * 100.0;
        b.runs[0].tool_series.insert(
            "host-server".into(),
            Series {
                t: (0..5).map(|j| t0 + j as f64).collect(),
                rss_kb: (0..5).map(|j| Some(1000.0 + j as f64)).collect(),
                ..Default::default()
            },
        );
    }
    one(&mut r, 0, &settings(&[], false), &Sources::default(), false);
    let j = one(
        &mut r,
        1,
        &settings(&[("rss_growth_kb_per_min", 30.0)], false),
        &Sources::default(),
        true,
    );
    let leak = j.leak.unwrap();
    assert!((leak.kb_per_min.value - 60.0).abs() < 1e-6, "{leak:?}");
    assert_eq!(leak.samples, 30);
    assert_eq!(r.trials[1].status, Status::Failed);
    assert!(failure_message(&r.trials[1]).contains("budget rss_growth_kb_per_min 30: exceeded"));
    // Not the case's last trial: no leak verdict.
    let j = one(
        &mut r,
        1,
        &settings(&[("rss_growth_kb_per_min", 30.0)], false),
        &Sources::default(),
        false,
    );
    assert!(j.leak.is_none() && j.failures.is_empty());
}

// A pps test's throughput is its packet rate again: throughput_loss_pct
// is not judged there (pps_loss_pct is), while the throughput test's is.
#[test]
fn a_headline_budget_is_judged_in_its_own_test_type_only() {
    let mut r = halved();
    for t in &mut r.trials {
        t.test_type = crate::domain::TestType::Pps;
    }
    let s = settings(&[("throughput_loss_pct", 10.0)], false);
    judge_all(&mut r, &s, &Sources::default());
    assert!(r.trials[1].analysis.budgets.is_empty());
    let mut r = halved();
    judge_all(&mut r, &s, &Sources::default());
    assert_eq!(r.trials[1].analysis.budgets[0].verdict, Verdict::Exceeded);
}

mod sessions;
