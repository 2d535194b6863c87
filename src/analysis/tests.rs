//! Analysis on hand-made results: pairing, budgets, strictness, the rate-cap
//! note, the leak fit and the regression rule.

use super::*;
use crate::readout::{failure_message, system_out};
use crate::results::{Analysis, Run, Series, Session};
use crate::stats::Verdict;

fn trial(
    name: &str,
    case: Option<u32>,
    variant: &str,
    metric: &str,
    values: &[f64],
) -> TrialResult {
    let cycle = match case {
        Some(c) => format!("tool_x_case_{c}_host"),
        None => "baseline_host".into(),
    };
    let mut t = TrialResult::new(
        name,
        cycle,
        "host",
        crate::domain::TestType::Throughput,
        variant,
    );
    t.tool_id = case.map(|_| "tool_x".into());
    t.case_id = case;
    t.duration_s = 1.0;
    t.runs = values
        .iter()
        .map(|v| Run {
            metrics: [(Name::from(metric), *v)].into(),
            ..Default::default()
        })
        .collect();
    t
}

fn settings(budgets: &[(&str, f64)], strict: bool) -> Settings {
    Settings {
        strict,
        max_cv_pct: 10.0,
        budgets: [(
            "tool_x".to_string(),
            crate::config::budgets::Budgets::plain(budgets.iter().copied()),
        )]
        .into(),
        regression_pct: [("tool_x".to_string(), 5.0)].into(),
        ..Default::default()
    }
}

/// A baseline and one eBPF trial of `variant`, with their runs of `metric`.
fn pair(variant: &str, metric: &str, base: &[f64], ebpf: &[f64]) -> Results {
    let mut r = Results::new(Session::default());
    for (case, values) in [(None, base), (Some(1), ebpf)] {
        let name = match case {
            None => format!("baseline::host::throughput::{variant}"),
            Some(c) => format!("tool_x::case_{c}::host::throughput::{variant}"),
        };
        r.trials.push(trial(&name, case, variant, metric, values));
    }
    r
}

/// Baseline ~1000, eBPF ~500: a 50 % loss with a tight interval.
fn halved() -> Results {
    pair(
        "multi_2_tcp",
        "throughput_bps",
        &[990.0, 1000.0, 1010.0],
        &[495.0, 500.0, 505.0],
    )
}

fn judge_last(r: &mut Results, s: &Settings, src: &Sources<'_>) {
    let i = Index::of(r);
    analyze(r, &i, 0, s, src, false);
    analyze(r, &i, 1, s, src, false);
    control_fdr(r);
}

fn one(r: &mut Results, idx: usize, s: &Settings, src: &Sources<'_>, last: bool) -> Analysis {
    let i = Index::of(r);
    analyze(r, &i, idx, s, src, last);
    r.trials[idx].analysis.clone()
}

#[test]
fn loss_is_measured_against_the_baseline_of_this_run() {
    let mut r = halved();
    judge_last(&mut r, &settings(&[], false), &Sources::default());
    let c = r.trials[1].analysis.comparison.as_ref().unwrap();
    assert_eq!(c.baseline, "baseline::host::throughput::multi_2_tcp");
    assert_eq!(c.baseline_source, "this run");
    let rel = c.metrics["throughput_bps"].rel_pct.unwrap();
    assert!((rel.value + 50.0).abs() < 1e-9);
    assert!(rel.significant());
    assert!(system_out(&r.trials[1])
        .iter()
        .any(|l| l.starts_with("overhead throughput_bps -50.00% [")
            && l.contains("] significant (q 0.0")));
    let fdr = r.session.fdr.as_ref().unwrap();
    assert_eq!((fdr.comparisons, fdr.significant), (1, 1));
}

#[test]
fn budgets_exceeded_within_and_inconclusive() {
    for (limit, verdict, status) in [
        (40.0, Verdict::Exceeded, Status::Failed),
        (60.0, Verdict::Within, Status::Passed),
        (50.0, Verdict::Inconclusive, Status::Passed),
    ] {
        let mut r = halved();
        judge_last(
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
fn strict_fails_inconclusive() {
    let mut r = halved();
    let strict = settings(&[("throughput_loss_pct", 50.0)], true);
    judge_last(&mut r, &strict, &Sources::default());
    assert_eq!(r.trials[1].status, Status::Failed);
}

#[test]
fn budgets_never_apply_to_baselines() {
    let mut r = halved();
    let strict = settings(&[("throughput_loss_pct", 0.0)], true);
    judge_last(&mut r, &strict, &Sources::default());
    assert!(r.trials[0].analysis.budgets.is_empty());
    assert_eq!(r.trials[0].status, Status::Passed);
}

#[test]
fn no_baseline_is_said_plainly_and_never_compared() {
    let mut r = halved();
    r.trials.remove(0);
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
fn baseline_from_an_earlier_file() {
    let mut old = halved();
    judge_last(&mut old, &settings(&[], false), &Sources::default());
    let earlier = Earlier::new(old, "old.json".into());
    let mut r = halved();
    r.trials.remove(0);
    let src = Sources {
        baseline_from: Some(&earlier),
        compare_to: None,
    };
    one(&mut r, 0, &settings(&[], false), &src, false);
    let c = r.trials[0].analysis.comparison.as_ref().unwrap();
    assert!(
        c.baseline_source.starts_with("old.json"),
        "{}",
        c.baseline_source
    );
}

#[test]
fn a_failed_baseline_is_named() {
    let mut r = halved();
    r.trials[0].status = Status::Failed;
    r.trials[0].error = Some("run client: refused".into());
    one(&mut r, 1, &settings(&[], false), &Sources::default(), false);
    assert!(r.trials[1].analysis.notes[0].contains("failed (run client: refused)"));
}

#[test]
fn both_sides_at_the_cap_is_noted() {
    let mut r = pair(
        "single_tcp_1G",
        "throughput_bps",
        &[0.999e9, 0.998e9, 0.999e9],
        &[0.997e9, 0.998e9, 0.999e9],
    );
    r.trials[1].rate_cap_bps = Some(1e9);
    judge_last(&mut r, &settings(&[], false), &Sources::default());
    assert!(
        r.trials[1].analysis.notes[0].contains("rate cap"),
        "{:?}",
        r.trials[1].analysis.notes
    );
}

#[test]
fn regression_fails_when_the_whole_growth_is_above_the_limit() {
    let then = {
        let mut r = Results::new(Session {
            id: "then".into(),
            ..Default::default()
        });
        r.trials.push(trial(
            "baseline::host::throughput::multi_2_tcp",
            None,
            "multi_2_tcp",
            "throughput_bps",
            &[990.0, 1000.0, 1010.0],
        ));
        r.trials.push(trial(
            "tool_x::case_1::host::throughput::multi_2_tcp",
            Some(1),
            "multi_2_tcp",
            "throughput_bps",
            &[895.0, 900.0, 905.0],
        ));
        judge_last(&mut r, &settings(&[], false), &Sources::default());
        r
    };
    // 10 % loss then, 50 % now: grew by 40 points, limit 5.
    let then = Earlier::new(then, "main.json".into());
    let mut now = halved();
    let src = Sources {
        baseline_from: None,
        compare_to: Some(&then),
    };
    judge_last(&mut now, &settings(&[], false), &src);
    let reg = &now.trials[1].analysis.regressions[0];
    assert_eq!(reg.metric, "throughput_bps");
    assert!((reg.growth_pts.value - 40.0).abs() < 1e-9);
    assert_eq!(reg.verdict, Verdict::Exceeded);
    assert_eq!(now.trials[1].status, Status::Failed);
    assert!(
        failure_message(&now.trials[1]).contains("regression throughput_bps: cost grew +40.00 pts")
    );
    // The other way round the cost fell: within.
    let mut back = then.results.clone();
    let now = Earlier::new(now, "now.json".into());
    let src = Sources {
        baseline_from: None,
        compare_to: Some(&now),
    };
    judge_last(&mut back, &settings(&[], false), &src);
    assert_eq!(
        back.trials[1].analysis.regressions[0].verdict,
        Verdict::Within
    );
    assert_eq!(back.trials[1].status, Status::Passed);
}

#[test]
fn leak_fits_rss_over_the_whole_case_on_its_last_trial() {
    let mut r = halved();
    // 60 kB per minute: one sample a second, +1 kB each.
    for (i, t) in r.trials.iter_mut().enumerate().skip(1) {
        for (k, run) in t.runs.iter_mut().enumerate() {
            let t0 = (i * 100 + k * 10) as f64;
            let s = Series {
                t: (0..5).map(|j| t0 + j as f64).collect(),
                rss_kb: (0..5).map(|j| Some(1000.0 + t0 + j as f64)).collect(),
                ..Default::default()
            };
            run.tool_series.insert("host-server".into(), s);
        }
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
    assert_eq!(leak.samples, 15);
    assert_eq!(r.trials[1].status, Status::Failed);
    assert!(failure_message(&r.trials[1]).contains("budget rss_growth_kb_per_min 30: exceeded"));
    // Not the case's last trial: no leak verdict.
    let mut r2 = r.clone();
    let j = one(
        &mut r2,
        1,
        &settings(&[("rss_growth_kb_per_min", 30.0)], false),
        &Sources::default(),
        false,
    );
    assert!(j.leak.is_none() && j.failures.is_empty());
}

/// Runs of `t` at seconds `from`, `from + 1`, … of one minute.
fn at(mut t: TrialResult, from: u32) -> TrialResult {
    for (i, r) in t.runs.iter_mut().enumerate() {
        let s = from + i as u32;
        r.start = format!("2026-11-29 21:00:{s:02}.000000000");
        r.end = format!("2026-11-29 21:00:{:02}.500000000", s);
    }
    t
}

// The baseline falls by 20 % between the block before an eBPF trial and
// the one after it: a within-budget answer would be drift posing as no
// cost, so the verdict on that metric is inconclusive and says why.
#[test]
fn drift_between_the_blocks_around_a_trial_makes_its_verdict_inconclusive() {
    let name = "baseline::host::throughput::multi_2_tcp";
    let mut base = at(
        trial(
            name,
            None,
            "multi_2_tcp",
            "throughput_bps",
            &[1000.0, 1005.0, 995.0],
        ),
        0,
    );
    let later = at(
        trial(
            name,
            None,
            "multi_2_tcp",
            "throughput_bps",
            &[800.0, 805.0, 795.0],
        ),
        20,
    );
    base.blocks.push(crate::results::Block {
        runs: later.runs,
        stop: None,
        remote: vec![],
        duration_s: 3.0,
        error: None,
    });
    let ebpf = at(
        trial(
            "tool_x::case_1::host::throughput::multi_2_tcp",
            Some(1),
            "multi_2_tcp",
            "throughput_bps",
            &[900.0, 905.0, 895.0],
        ),
        10,
    );
    let mut r = Results::new(Session::default());
    r.trials = vec![base, ebpf];
    let s = settings(&[("throughput_loss_pct", 5.0)], false);
    judge_last(&mut r, &s, &Sources::default());
    let a = &r.trials[1].analysis;
    assert_eq!(a.drift.len(), 1, "{:?}", a.drift);
    assert_eq!(a.drift[0].metric, "throughput_bps");
    assert!((a.drift[0].change_pct.value + 20.0).abs() < 1e-9);
    assert_eq!(a.budgets[0].verdict, Verdict::Inconclusive);
    assert!(
        a.notes
            .iter()
            .any(|n| n.starts_with("drift throughput_bps: the baseline moved -20.00%")),
        "{:?}",
        a.notes
    );
    // The baseline's JUnit lines say it was measured in blocks.
    assert!(system_out(&r.trials[0]).iter().any(|l| l
        .starts_with("blocks 2 (measured again through the session): throughput_bps means 1.0 kbit/s, 0.8 kbit/s")));
    // Compared with both blocks: 900 against their pooled 900.
    let c = &a.comparison.as_ref().unwrap().metrics["throughput_bps"];
    assert!((c.baseline_mean - 900.0).abs() < 1e-9);
    // Without the later block, the same trial is a significant 10 % loss.
    r.trials[0].blocks.clear();
    judge_last(&mut r, &s, &Sources::default());
    let a = &r.trials[1].analysis;
    assert!(a.drift.is_empty());
    assert_eq!(a.budgets[0].verdict, Verdict::Exceeded);
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
    judge_last(&mut r, &s, &Sources::default());
    assert!(
        r.trials[1].analysis.budgets.is_empty(),
        "{:?}",
        r.trials[1].analysis.budgets
    );
    assert_eq!(r.trials[1].status, Status::Passed);
    let mut r = halved();
    judge_last(&mut r, &s, &Sources::default());
    assert_eq!(r.trials[1].analysis.budgets[0].verdict, Verdict::Exceeded);
}

/// Conditions of a lab trial on a host with `kernel`.
fn on_kernel(kernel: &str) -> crate::results::Conditions {
    crate::results::Conditions {
        duration_s: 10,
        commands: vec!["iperf3 -s -p {port}".into(), "iperf3 -c {server_ip}".into()],
        target_bw: None,
        streams: 4,
        hosts: [(
            "server".to_string(),
            crate::results::HostConditions {
                kernel: Some(kernel.into()),
                nic: Some("veth; offloads on: scatter-gather".into()),
            },
        )]
        .into(),
    }
}

#[rstest::rstest]
#[case::refused(false)]
#[case::allowed(true)]
fn a_baseline_from_another_kernel_is_refused_unless_allowed(#[case] allow: bool) {
    let mut old = halved();
    old.trials[0].conditions = Some(on_kernel("6.1.0-18-amd64"));
    judge_last(&mut old, &settings(&[], false), &Sources::default());
    let earlier = Earlier::new(old, "old.json".into());
    let mut r = halved();
    r.trials.remove(0);
    r.trials[0].conditions = Some(on_kernel("6.12.1"));
    let src = Sources {
        baseline_from: Some(&earlier),
        compare_to: None,
    };
    let s = Settings {
        allow_mismatch: allow,
        ..settings(&[], false)
    };
    one(&mut r, 0, &s, &src, false);
    let a = &r.trials[0].analysis;
    let note = a.notes.join("\n");
    assert!(
        note.contains("server kernel 6.12.1 here, 6.1.0-18-amd64 there"),
        "{note}"
    );
    assert_eq!(a.comparison.is_some(), allow, "{note}");
    assert!(note.contains("--allow-mismatch"));
    // The same kernel on both sides pairs without a word.
    let mut same = halved();
    same.trials.remove(0);
    same.trials[0].conditions = Some(on_kernel("6.1.0-18-amd64"));
    one(&mut same, 0, &settings(&[], false), &src, false);
    assert!(same.trials[0].analysis.comparison.is_some());
    assert!(same.trials[0].analysis.notes.is_empty());
}

#[test]
fn a_regression_check_against_other_conditions_is_refused() {
    let mut then = halved();
    for t in &mut then.trials {
        t.conditions = Some(on_kernel("6.1.0-18-amd64"));
    }
    judge_last(&mut then, &settings(&[], false), &Sources::default());
    let then = Earlier::new(then, "main.json".into());
    let mut now = halved();
    for t in &mut now.trials {
        t.conditions = Some(on_kernel("6.12.1"));
    }
    let src = Sources {
        baseline_from: None,
        compare_to: Some(&then),
    };
    judge_last(&mut now, &settings(&[], false), &src);
    let a = &now.trials[1].analysis;
    assert!(a.regressions.is_empty());
    assert!(
        a.notes
            .iter()
            .any(|n| n.starts_with("not compared with main.json")
                && n.contains("kernel 6.12.1 here")),
        "{:?}",
        a.notes
    );
}
