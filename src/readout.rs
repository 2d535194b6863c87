//! How numbers and verdicts read for people, shared by JUnit and the
//! report: the lines of a trial's JUnit system-out (stable for CI
//! greps: `overhead METRIC X% [LO%, HI%] significant|not significant` and
//! `budget NAME LIMIT: within|inconclusive|exceeded`) and the failure message.

use crate::metrics;
use crate::results::{Analysis, BudgetVerdict, Regression, TrialResult};
use crate::stats::Estimate;

/// A metric's value with its unit (see [`metrics::Unit`]).
pub fn value(metric: &str, v: f64) -> String {
    metrics::format_value(metric, v)
}

pub fn num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

pub fn interval(e: &Estimate, unit: &str) -> String {
    match e.ci95 {
        Some([lo, hi]) => format!("[{}{unit}, {}{unit}]", num(lo), num(hi)),
        None => "[no CI: 1 run]".into(),
    }
}

/// Why a trial stopped adding pairs, and its precision then:
/// `stopped: target reached (latency_mean_us ±6.2 %, target ±10 %)`.
pub fn stop(s: &crate::precision::Stop) -> String {
    let mut parts = Vec::new();
    if let Some(o) = s.half_width_pct {
        parts.push(format!("±{o:.1} %"));
    }
    if let Some(t) = s.target_pct {
        parts.push(format!("target ±{t} %"));
    }
    format!(
        "stopped: {} ({} {})",
        s.reason.as_str(),
        s.metric,
        parts.join(", ")
    )
}

/// How a trial was measured: `pairs 6 (baseline first in 4), runs 1 a
/// block; stopped: …` for an eBPF trial, `blocks 18 (in the pairs of 3
/// cases)` for a baseline.
pub fn blocks_line(t: &TrialResult) -> String {
    let runs = t.own_blocks().map(|b| b.runs.len()).max().unwrap_or(0);
    let warm = t.own_blocks().map(|b| b.warmups.len()).max().unwrap_or(0);
    let per = format!(
        "{runs} run{} a block{}",
        if runs == 1 { "" } else { "s" },
        if warm > 0 {
            format!(" after {warm} warm-up")
        } else {
            String::new()
        }
    );
    if t.is_baseline() {
        let mut cases: Vec<&str> = t.blocks.iter().filter_map(|b| b.case.as_deref()).collect();
        cases.sort_unstable();
        cases.dedup();
        let how = match cases.len() {
            0 => "measured alone".to_string(),
            1 => "in the pairs of 1 case".to_string(),
            n => format!("in the pairs of {n} cases"),
        };
        return format!("blocks {} ({how}), {per}", t.blocks.len());
    }
    let pairs = t.pairs();
    let first = pairs.iter().filter(|p| p.baseline.order == 1).count();
    format!("pairs {} (baseline first in {first}), {per}", pairs.len())
}

/// The runs that started on a host that was not quiet, e.g. `not quiet
/// before 2 of 10 runs (CPU busy outside ours after the wait): pair 3
/// host-server 23.5 %, pair 7 host-client unreadable`.
pub fn busy_line(t: &TrialResult) -> Option<String> {
    let mut busy = Vec::new();
    let (mut runs, mut total) = (0, 0);
    for b in &t.blocks {
        for r in &b.runs {
            total += 1;
            let not: Vec<_> = r.quiet.iter().filter(|q| !q.quiet).collect();
            runs += usize::from(!not.is_empty());
            for q in not {
                let v = q
                    .busy_pct
                    .map_or("unreadable".into(), |b| format!("{b:.1} %"));
                busy.push(format!(
                    "pair {} {} {} {v}",
                    b.pair,
                    b.side.as_str(),
                    q.host
                ));
            }
        }
    }
    (!busy.is_empty()).then(|| {
        format!(
            "not quiet before {runs} of {total} runs (CPU busy outside ours after the wait): {}",
            busy.join(", ")
        )
    })
}

pub fn signed(v: f64) -> String {
    if v >= 0.0 {
        format!("+{}", num(v))
    } else {
        num(v)
    }
}

/// The judged part of a trial's system-out.
pub fn system_out(t: &TrialResult) -> Vec<String> {
    let a = &t.analysis;
    let mut out = vec![format!(
        "{}{}",
        blocks_line(t),
        // A fixed count needs no explaining; a precision target does.
        t.stop
            .as_ref()
            .filter(|s| s.reason != crate::precision::Reason::Fixed)
            .map_or(String::new(), |s| format!("; {}", stop(s)))
    )];
    out.extend(busy_line(t));
    for m in metrics::CATALOG.iter().filter(|m| m.shown).map(|m| m.name) {
        let Some(s) = a.stats.get(m) else { continue };
        let ci = match s.ci95 {
            Some([lo, hi]) => format!(" ci95 [{}, {}]", value(m, lo), value(m, hi)),
            None => String::new(),
        };
        out.push(format!(
            "{m} median {} mean {}{ci} sd {} cv {}",
            value(m, s.median),
            value(m, s.mean),
            num(s.stddev),
            s.cv_pct.map_or("-".into(), |c| format!("{c:.1}%"))
        ));
    }
    if !a.noisy.is_empty() {
        let list: Vec<String> = a
            .noisy
            .iter()
            .filter_map(|m| Some(format!("{m} {:.1}%", a.stats.get(m)?.cv_pct?)))
            .collect();
        out.push(format!(
            "noisy (cv of block means above the limit): {}; more pairs or longer tests narrow it",
            list.join(", ")
        ));
    }
    if let Some(c) = &a.comparison {
        out.push(format!("baseline {} ({})", c.baseline, c.baseline_source));
        for m in metrics::compared().map(|m| m.name) {
            let Some(x) = c.metrics.get(m) else { continue };
            if let Some(r) = &x.rel_pct {
                out.push(format!(
                    "overhead {m} {}% {} {}{}{}",
                    signed(r.value),
                    interval(r, "%"),
                    match (x.significant, x.p) {
                        (true, _) => "significant",
                        (false, Some(_)) => "not significant",
                        // p50 latency, and comparisons across sessions.
                        (false, None) => "not tested",
                    },
                    q_note(x),
                    x.p.map_or(String::new(), |p| format!(
                        " (p {}, {} pairs)",
                        prob(p),
                        x.pairs
                    ))
                ));
            }
            out.push(format!(
                "difference {m} {} {} ({} vs {})",
                signed(x.abs.value),
                interval(&x.abs, ""),
                value(m, x.ebpf_mean),
                value(m, x.baseline_mean)
            ));
        }
    }
    if let Some(l) = &a.leak {
        out.push(format!(
            "rss growth[{}] {} kB/min {} over {:.1} min ({} samples)",
            l.host,
            signed(l.kb_per_min.value),
            interval(&l.kb_per_min, ""),
            l.minutes,
            l.samples
        ));
    }
    for b in &a.budgets {
        let (head, measured, basis) = budget_parts(b, a);
        out.push(format!("{head} (measured {measured}; {basis})"));
    }
    for r in &a.regressions {
        out.push(regression_line(r));
    }
    out.extend(a.notes.iter().map(|n| format!("note: {n}")));
    out
}

/// What a budget's measured value is, for people: its unit, and the eBPF
/// and baseline values it comes from.
fn basis(b: &BudgetVerdict, a: &Analysis) -> String {
    let unit = metrics::budget(&b.name).map_or("", |x| x.unit);
    let from = metrics::budget(&b.name)
        .and_then(|x| x.bound.compared_metric())
        .and_then(|m| Some((m, a.comparison.as_ref()?.metrics.get(m)?)))
        .map(|(m, x)| {
            format!(
                ": {} vs baseline {}",
                value(m, x.ebpf_mean),
                value(m, x.baseline_mean)
            )
        });
    match (from, &a.leak) {
        (Some(f), _) => format!("{unit}{f}"),
        (None, Some(l)) if b.name == "rss_growth_kb_per_min" => format!(
            "{unit}: on {} over {:.1} min ({} samples)",
            l.host, l.minutes, l.samples
        ),
        _ => format!("{unit}, measured on the tool itself"),
    }
}

/// A budget verdict's words: `budget NAME LIMIT: VERDICT`, the measured
/// value with its interval, and what it was measured on.
fn budget_parts(b: &BudgetVerdict, a: &Analysis) -> (String, String, String) {
    (
        format!("budget {} {}: {}", b.name, b.limit, b.verdict.as_str()),
        format!("{} {}", num(b.measured.value), interval(&b.measured, "")),
        basis(b, a),
    )
}

pub fn budget_failure(b: &BudgetVerdict, a: &Analysis) -> String {
    let (head, measured, basis) = budget_parts(b, a);
    format!("{head}: measured {measured} ({basis})")
}

/// One regression verdict, as system-out and `<failure>` both say it.
pub fn regression_line(r: &Regression) -> String {
    format!(
        "regression {}: cost grew {} pts {} since {} ({:.2}% -> {:.2}%), limit {} pts: {}",
        r.metric,
        signed(r.growth_pts.value),
        interval(&r.growth_pts, ""),
        r.since,
        r.then_pct,
        r.now_pct,
        r.limit_pts,
        r.verdict.as_str()
    )
}

/// The one-line reason a judged trial failed.
pub fn failure_message(t: &TrialResult) -> String {
    match &t.error {
        // A results file can come from elsewhere: its words are made visible.
        Some(e) => crate::untrusted::visible(e).into_owned(),
        None if !t.analysis.failures.is_empty() => t.analysis.failures.join("; "),
        None => "no run was measured".into(),
    }
}

/// A probability to three places; "< 0.001" below them.
fn prob(x: f64) -> String {
    if x < 0.0005 {
        "< 0.001".into()
    } else {
        format!("{x:.3}")
    }
}

/// A comparison's q-value, and when its label rests on the t test's
/// shape (the exact p's q-value is above the level), that one too.
fn q_note(x: &crate::results::MetricComparison) -> String {
    match (x.q, x.q_exact) {
        (Some(q), Some(e)) if x.rests_on_shape() => format!(
            " (q {}; exact q {}: it rests on the t test's shape, not on the coin alone)",
            prob(q),
            prob(e)
        ),
        (Some(q), _) => format!(" (q {})", prob(q)),
        (None, _) => String::new(),
    }
}
