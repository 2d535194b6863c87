//! Comparisons across sessions: `--compare-to` (regressions) and
//! `--baseline-from`, with the variance between sessions.

use super::*;

/// An earlier session whose baseline means are `shift` times ours.
fn earlier(shift: f64, loss: f64) -> Earlier {
    let pairs: Vec<(f64, f64)> = [990.0, 1000.0, 1010.0, 1005.0, 995.0, 1000.0]
        .iter()
        .map(|b| (b * shift, b * shift * (1.0 - loss)))
        .collect();
    let mut r = paired("multi_2_tcp", "throughput_bps", &pairs);
    r.session.id = "then".into();
    judge_all(&mut r, &settings(&[], false), &Sources::default());
    Earlier::new(r, "main.json".into())
}

#[test]
fn a_regression_is_judged_with_the_variance_between_sessions() {
    // 10 % loss then, 50 % now: grew by about 40 points, limit 5.
    let then = earlier(1.0, 0.10);
    let mut now = halved();
    let src = Sources {
        baseline_from: None,
        compare_to: Some(&then),
    };
    judge_all(&mut now, &settings(&[], false), &src);
    let a = &now.trials[1].analysis;
    let reg = &a.regressions[0];
    assert_eq!(reg.metric, "throughput_bps");
    assert!((reg.growth_pts.value - 40.0).abs() < 0.5, "{reg:?}");
    assert_eq!(reg.verdict, Verdict::Exceeded);
    assert!(
        a.notes.iter().any(|n| n.contains("widened by √φ")),
        "{:?}",
        a.notes
    );
    assert!(failure_message(&now.trials[1]).contains("regression throughput_bps: cost grew +"));
    // The baselines of the two sessions differ by 30 %, far beyond their
    // own intervals: φ is large, and the same growth is no longer beyond
    // doubt against 39 points.
    let far = earlier(1.3, 0.10);
    let src = Sources {
        baseline_from: None,
        compare_to: Some(&far),
    };
    let s = Settings {
        regression_pct: [("tool_x".to_string(), 39.0)].into(),
        ..settings(&[], false)
    };
    judge_all(&mut now, &s, &src);
    let reg = &now.trials[1].analysis.regressions[0];
    let [lo, _] = reg.growth_pts.ci95.unwrap();
    assert!(lo < 39.0, "{reg:?}");
    assert_ne!(reg.verdict, Verdict::Exceeded);
}

#[test]
fn without_a_baseline_in_common_a_regression_has_no_interval() {
    let mut then = earlier(1.0, 0.10);
    then.results.trials.remove(0);
    let then = Earlier::new(then.results, "main.json".into());
    let mut now = halved();
    let src = Sources {
        baseline_from: None,
        compare_to: Some(&then),
    };
    judge_all(&mut now, &settings(&[], false), &src);
    let a = &now.trials[1].analysis;
    assert_eq!(a.regressions[0].growth_pts.ci95, None);
    assert_eq!(a.regressions[0].verdict, Verdict::Inconclusive);
    assert!(
        a.notes
            .iter()
            .any(|n| n.contains("variance between sessions is unknown")),
        "{:?}",
        a.notes
    );
}

#[test]
fn a_baseline_from_an_earlier_session_is_one_draw_of_another_session() {
    let old = earlier(1.0, 0.10);
    // This run: tool blocks only (its baseline is the file's).
    let mut r = halved();
    r.trials.remove(0);
    r.trials[0].blocks.retain(|b| b.side == Side::Tool);
    let src = Sources {
        baseline_from: Some(&old),
        compare_to: None,
    };
    let s = settings(&[("throughput_loss_pct", 10.0)], false);
    one(&mut r, 0, &s, &src, false);
    let a = &r.trials[0].analysis;
    let c = a.comparison.as_ref().unwrap();
    assert!(
        c.baseline_source.starts_with("main.json"),
        "{}",
        c.baseline_source
    );
    // No baseline measured in both sessions: no interval, no verdict.
    let m = &c.metrics["throughput_bps"];
    assert_eq!((m.rel_pct.unwrap().ci95, m.p), (None, None));
    assert_eq!(a.budgets[0].verdict, Verdict::Inconclusive);
    assert!(
        a.notes
            .iter()
            .any(|n| n.contains("variance between sessions is unknown")),
        "{:?}",
        a.notes
    );
    // With a baseline both sessions measured (another variant's), φ is
    // measured and widens a real interval.
    let renamed = |t: &TrialResult| {
        let mut t = t.clone();
        t.name = t.name.replace("multi_2_tcp", "multi_4_tcp");
        t.variant = "multi_4_tcp".into();
        t
    };
    let mut old2 = old.results.clone();
    old2.trials.push(renamed(&old2.trials[0]));
    let old2 = Earlier::new(old2, "main.json".into());
    let mut both = halved();
    both.trials[1] = renamed(&both.trials[1]);
    both.trials[1].blocks.retain(|b| b.side == Side::Tool);
    let src = Sources {
        baseline_from: Some(&old2),
        compare_to: None,
    };
    let i = Index::of(&both);
    analyze(&mut both, &i, 1, &s, &src, false);
    let a = &both.trials[1].analysis;
    let m = &a.comparison.as_ref().unwrap().metrics["throughput_bps"];
    assert!(m.rel_pct.unwrap().ci95.is_some(), "{:?}", a.notes);
    assert!(
        a.notes.iter().any(|n| n.contains("widened by √φ")),
        "{:?}",
        a.notes
    );
}

/// Conditions of a lab trial on a host with `kernel`.
fn on_kernel(kernel: &str) -> crate::results::Conditions {
    crate::results::Conditions {
        duration_s: 10,
        commands: vec!["iperf3 -s -p {port}".into(), "iperf3 -c {server_ip}".into()],
        target_bw: None,
        streams: 4,
        cpu_latency_us: None,
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
    let mut old = earlier(1.0, 0.1).results;
    old.trials[0].conditions = Some(on_kernel("6.1.0-18-amd64"));
    let earlier = Earlier::new(old, "old.json".into());
    let mut r = halved();
    r.trials.remove(0);
    r.trials[0].blocks.retain(|b| b.side == Side::Tool);
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
}

#[test]
fn a_regression_check_against_other_conditions_is_refused() {
    let mut then = earlier(1.0, 0.1).results;
    for t in &mut then.trials {
        t.conditions = Some(on_kernel("6.1.0-18-amd64"));
    }
    let then = Earlier::new(then, "main.json".into());
    let mut now = halved();
    for t in &mut now.trials {
        t.conditions = Some(on_kernel("6.12.1"));
    }
    let src = Sources {
        baseline_from: None,
        compare_to: Some(&then),
    };
    judge_all(&mut now, &settings(&[], false), &src);
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
