//! Known-answer tests of judging on the lab (real iperf3, netperf, tc,
//! bpftrace): the harness must recover an effect it did not cause. The
//! "tool" of a case caps the server's test interface with `tc tbf` at a
//! known rate while it runs (and counts the packets it sends with a BPF
//! counter, so that it has BPF programs to be ready by); the comparison must
//! report the loss the cap implies, budgets below it must fail the trial and
//! budgets above it pass; the cost's growth since an earlier results file is
//! a regression. And a printf per packet must cost more than a per-CPU
//! counter: the default budgets tell them apart.

mod common;

use common::replace_in;
use ebpf_perf::results::{self, Side, Status};
use ebpf_perf::stats::Verdict;
use std::path::Path;
use std::sync::Mutex;

static LAB: Mutex<()> = Mutex::new(());

/// Baseline rate (iperf3 -b) and the tbf cap on the server's egress.
const TARGET_MBIT: f64 = 400.0;
const CAP_MBIT: f64 = 200.0;
/// TCP payload per byte tbf counts: MSS 1448 (timestamps) of 1514 bytes on
/// the wire (1500 MTU + 14 Ethernet header).
const GOODPUT: f64 = 1448.0 / 1514.0;
const VARIANT: &str = "single_tcp_400M";

/// The budgets are scoped (k6 style): each trial must be judged by the most
/// specific key that matches it and by no key scoped elsewhere.
const TOOLS: &str = r#"
regression_pct: 25
budgets:
  bpf_events_per_s_min{test:latency}: 1e12
ebpf_tools:
  tool_low:
    testcase_file: "ebpf-cases.json"
    case_ids: [1]
    applicable_environments: ["host"]
    performance_test_types: ["throughput"]
    budgets:
      throughput_loss_pct: 90
      throughput_loss_pct{env:host,test:throughput}: 30
  tool_high:
    testcase_file: "ebpf-cases.json"
    case_ids: [1]
    applicable_environments: ["host"]
    performance_test_types: ["throughput"]
    budgets:
      throughput_loss_pct: 80
      throughput_loss_pct{env:vm}: 1
      bpf_events_per_s_min{test:throughput}: 1
    regression_pct: 100
"#;

/// The case: a BPF packet counter, and (with `cap_mbit`) a tbf in place
/// while it runs.
fn case(cap_mbit: Option<f64>) -> String {
    let counter = "bpftrace -q -e \\\"tracepoint:net:net_dev_xmit { @c = count(); }\\\"";
    let cmd = match cap_mbit {
        None => format!("sh -c '{counter} & wait $!'"),
        Some(cap) => format!(
            "sh -c 'tc qdisc replace dev port-storage root tbf rate {cap}mbit burst 64kb latency 100ms && trap \\\"tc qdisc del dev port-storage root\\\" EXIT && trap \\\"exit 0\\\" TERM INT && {counter} & wait $!'"
        ),
    };
    format!(
        r#"[{{"id": 1, "name": "capped", "command": "{cmd}", "duration": 600, "target": "server", "parameters": {{"protocol": "tcp", "direction": "tx"}}}}]"#
    )
}

/// The shipped config with one 400M TCP variant the server sends (-R, so
/// that the capped egress carries the data) and two tools running `case`.
fn kat_config(cap_mbit: Option<f64>) -> tempfile::TempDir {
    let dir = common::copy_dir(&common::repo().join("config"));
    let d = dir.path();
    let spec = d.join("performance-test-spec.yaml");
    replace_in(
        &spec,
        "target_bw: [\"1G\"]",
        "target_bw: [\"400M\"]\n      protocols: [tcp]",
    );
    replace_in(&spec, "-b {target_bw} -J\"", "-b {target_bw} -R -J\"");
    std::fs::write(d.join("ebpf-tools-config.yaml"), TOOLS).unwrap();
    std::fs::write(d.join("ebpf-cases.json"), case(cap_mbit)).unwrap();
    dir
}

fn junit_failure(cfg: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(cfg.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let tc = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
        .unwrap_or_else(|| panic!("{name} not in JUnit"));
    tc.children()
        .find(|c| c.has_tag_name("failure"))
        .map(|f| f.attribute("message").unwrap_or("").to_string())
}

fn trials(tools: &[&str]) -> Vec<String> {
    tools
        .iter()
        .map(|t| format!("{t}::case_1::host::throughput::{VARIANT}"))
        .collect()
}

#[test]
fn a_tbf_cap_is_recovered_as_throughput_loss_and_judged_by_budgets() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let names = trials(&["tool_low", "tool_high"]);
    let rr = "baseline::host::latency::tcp_rr";
    let mut exact: Vec<&str> = vec!["--exact", rr];
    exact.extend(names.iter().map(String::as_str));

    // A: no cap. The eBPF trials bring their baseline along, in pairs; the
    // TCP_RR baseline is measured alone. Both tools are within budgets.
    let a = kat_config(None);
    let (o, a_results) = common::perf_in(a.path(), &exact);
    let err = common::stderr(&o);
    assert!(o.status.success(), "{}\n{err}", common::stdout(&o));
    assert!(
        err.contains("3 of 20 trials selected from")
            && err.contains("plus 1 baseline trial they are compared with"),
        "{err}"
    );
    let ra = results::read(&a_results).unwrap();
    let base = common::trial(&ra, &format!("baseline::host::throughput::{VARIANT}"));
    // The baseline served both cases' pairs: at least 6 blocks each.
    assert!(base.blocks.len() >= 12, "{}", base.blocks.len());
    assert!(base
        .blocks
        .iter()
        .all(|b| b.side == Side::Baseline && b.case.is_some()));
    let base_mbit = base.analysis.stats["throughput_bps"].mean / 1e6;
    assert!(
        (0.9 * TARGET_MBIT..1.05 * TARGET_MBIT).contains(&base_mbit),
        "{base_mbit}"
    );
    // Every run keeps its own raw data.
    for run in base.runs() {
        let dir = run.dirs[1].split_once(':').unwrap().1;
        assert!(
            Path::new(dir)
                .join("client_results/stream_1.json")
                .is_file(),
            "{dir}"
        );
    }
    let t = common::trial(&ra, &names[1]);
    assert_eq!(
        t.status,
        Status::Passed,
        "{:?} {:?}",
        t.error,
        t.analysis.failures
    );
    let stop = t.stop.as_ref().expect("a stop reason");
    assert_eq!(stop.pairs as usize, t.pairs().len());
    assert!(stop.pairs >= 6, "{stop:?}");

    // B: the cap, regressions against A.
    let b = kat_config(Some(CAP_MBIT));
    let a_path = a_results.to_str().unwrap();
    let mut args = exact.clone();
    args.extend(["--compare-to", a_path]);
    let (o, b_results) = common::perf_in(b.path(), &args);
    let out = common::stdout(&o);
    assert!(
        !o.status.success(),
        "the low budget must fail the run\n{out}"
    );
    let rb = results::read(&b_results).unwrap();
    let implied = 100.0 * (1.0 - CAP_MBIT * GOODPUT / base_mbit);
    for name in &names {
        let t = common::trial(&rb, name);
        let m = &t.analysis.comparison.as_ref().unwrap().metrics["throughput_bps"];
        let rel = m.rel_pct.unwrap();
        let loss = -rel.value;
        eprintln!("{name}: loss {loss:.2}% {:?} measured, {implied:.2}% implied by the cap (baseline {base_mbit:.1} Mbit/s)", rel.ci95);
        // The interval holds the implied loss, or (narrower than the
        // model's own approximations: goodput per wire byte, the bucket)
        // the estimate is within 5 % of it. One odd pair in six widens
        // the interval rather than moving the estimate out of it.
        let [lo, hi] = rel.ci95.expect("six pairs or more");
        assert!(
            (-hi..=-lo).contains(&implied) || (loss - implied).abs() <= 0.05 * implied,
            "{name}: measured loss {loss:.2}% [{:.2}, {:.2}], the cap implies {implied:.2}% (baseline {base_mbit:.1} Mbit/s)",
            -hi,
            -lo
        );
        assert!(rel.significant() && m.significant, "{m:?}");
    }

    let low = common::trial(&rb, &names[0]);
    assert_eq!(low.status, Status::Failed);
    assert_eq!(low.analysis.budgets[0].verdict, Verdict::Exceeded);
    let msg = junit_failure(b.path(), &low.name).expect("low budget fails in JUnit");
    assert!(
        msg.contains("budget throughput_loss_pct 30: exceeded: measured "),
        "{msg}"
    );
    assert!(msg.contains("vs baseline "), "{msg}");
    // Its loss grew from ~0 to ~half since A: a regression beyond 25
    // points, with the variance between the sessions measured on the
    // baselines both measured.
    let reg = low
        .analysis
        .regressions
        .iter()
        .find(|r| r.metric == "throughput_bps")
        .unwrap();
    assert_eq!(reg.verdict, Verdict::Exceeded, "{reg:?}");
    assert!(
        msg.contains("regression throughput_bps: cost grew +"),
        "{msg}"
    );
    assert!(
        low.analysis
            .notes
            .iter()
            .any(|n| n.contains("widened by √φ")),
        "{:?}",
        low.analysis.notes
    );

    let high = common::trial(&rb, &names[1]);
    assert_eq!(high.status, Status::Passed, "{:?}", high.error);
    assert_eq!(high.analysis.budgets[0].verdict, Verdict::Within);
    // Scoped budgets: each trial got the key scoped to it and no other
    // (low's host+throughput 30 over its plain 90; not high's vm 1, not
    // the file's latency-only minimum); high's minimum is a lower bound.
    let judged = |t: &results::TrialResult| -> Vec<(String, f64)> {
        t.analysis
            .budgets
            .iter()
            .map(|b| (b.name.to_string(), b.limit))
            .collect()
    };
    assert_eq!(judged(low), [("throughput_loss_pct".to_string(), 30.0)]);
    assert_eq!(
        judged(high),
        [
            ("throughput_loss_pct".to_string(), 80.0),
            ("bpf_events_per_s_min".to_string(), 1.0)
        ]
    );
    let min = &high.analysis.budgets[1];
    assert!(min.measured.value > 1000.0, "{min:?}");
    assert_eq!(min.verdict, Verdict::Within, "{min:?}");
    assert_eq!(junit_failure(b.path(), &high.name), None);
    let text = std::fs::read_to_string(b.path().join("junit.xml")).unwrap();
    assert!(
        text.contains("budget throughput_loss_pct 80: within"),
        "{text}"
    );
    assert!(text.contains("overhead throughput_bps -"), "{text}");

    // C: a cap at 90 % of A's baseline (as goodput), the baseline taken
    // from A: one draw of each session, widened for the variance between
    // them (measured on the TCP_RR baseline both measured). The loss is
    // 10 %, and the interval holds it and excludes zero.
    let cap90 = 0.9 * base_mbit / GOODPUT;
    let c = kat_config(Some((cap90 * 1000.0).round() / 1000.0));
    let (o, c_results) = common::perf_in(
        c.path(),
        &["--exact", rr, &names[1], "--baseline-from", a_path],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let out = common::stdout(&o);
    assert!(
        !out.contains(&format!("test baseline::host::throughput::{VARIANT}")),
        "baseline taken from A, not measured again\n{out}"
    );
    let rc = results::read(&c_results).unwrap();
    assert_eq!(rc.session.baseline_from.as_deref(), Some(a_path));
    let t = common::trial(&rc, &names[1]);
    assert!(t.blocks.iter().all(|b| b.side == Side::Tool));
    let c = t.analysis.comparison.as_ref().unwrap();
    assert!(c.baseline_source.contains(a_path), "{}", c.baseline_source);
    let m = &c.metrics["throughput_bps"];
    let [lo, hi] = m.rel_pct.unwrap().ci95.expect("φ was measured");
    eprintln!(
        "90 % cap ({cap90:.1} Mbit/s): loss {:.2}% [{lo:.2}, {hi:.2}], notes {:?}",
        -m.rel_pct.unwrap().value,
        t.analysis.notes
    );
    // It holds 10 % give or take 2, and excludes zero.
    assert!(lo <= -8.0 && hi >= -12.0, "a 90 % cap: [{lo}, {hi}]");
    assert!(hi < 0.0, "a 90 % cap: [{lo}, {hi}]");

    // The cap is gone again.
    assert!(!common::server_has_tbf(), "the cap was left behind");
}

#[test]
fn printf_per_packet_exceeds_the_default_budgets_that_a_counter_is_within() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    // The shipped config as it is: no CPU placement.
    let cfg = common::copy_dir(&common::repo().join("config"));
    let (o, path) = common::perf_in(cfg.path(), &["tcp_rr", "host", "--skip", "case_2"]);
    assert!(
        o.status.success(),
        "{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );
    // What a person sees while it runs: a count, the time left, and each
    // eBPF trial's headline cost with its interval and worst verdict.
    let err = common::stderr(&o);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with('[')).collect();
    let n = lines.len();
    assert!(n >= 3, "{err}");
    for (k, l) in lines.iter().enumerate() {
        assert!(l.starts_with(&format!("[{}/{n}] ", k + 1)), "{l}");
        assert_eq!(l.contains(", ETA "), k + 1 < n, "{l}");
        if l.contains("  tool_") {
            assert!(l.contains("  latency_mean_us "), "{l}");
            assert!(l.contains(" %, ") && l.contains(" %]"), "no interval: {l}");
            assert!(l.contains(" (worst: "), "{l}");
        }
    }
    assert!(
        err.contains(": pair 1 ("),
        "the pairs are said as they run\n{err}"
    );
    // At the end, both eBPF trials, worst first.
    let table: Vec<&str> = err
        .lines()
        .skip_while(|l| !l.starts_with("Costliest trials"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert_eq!(table.len(), 2, "{err}");
    assert!(
        table.iter().any(|l| l.contains("tool_002::case_3"))
            && table.iter().any(|l| l.contains("tool_001::case_1")),
        "{table:?}"
    );
    // Worst first: by worst verdict (the counter can be inconclusive on a
    // wide p99 interval while printf is within its own budgets), then by
    // how much of its limit it uses.
    let rank = |l: &str| {
        ["within", "inconclusive", "exceeded"]
            .iter()
            .position(|w| l.contains(&format!("  {w} (worst: ")))
            .unwrap_or_else(|| panic!("no verdict in {l:?}"))
    };
    assert!(rank(table[0]) >= rank(table[1]), "{table:?}");
    let r = results::read(&path).unwrap();
    // Every run records where netperf and netserver ran.
    for t in &r.trials {
        for run in t.runs() {
            assert!(
                run.modal_cpu("server").is_some() && run.modal_cpu("client").is_some(),
                "{}: {:?}",
                t.name,
                run.placement
            );
        }
    }
    // Judged by the default budgets (the counters'), printf exceeds at
    // least one and the counter none.
    let loaded = ebpf_perf::config::load(cfg.path()).unwrap();
    let defaults = loaded.tools["tool_001"]
        .budgets
        .resolve("host", ebpf_perf::domain::TestType::Latency);
    let judge = |case: &str| -> Vec<(String, Verdict)> {
        let t = common::trial(&r, &format!("{case}::host::latency::tcp_rr"));
        defaults
            .iter()
            .filter_map(|(name, &limit)| {
                let e = ebpf_perf::analysis::measure(name, &t.analysis)?;
                let v = if ebpf_perf::metrics::budget(name).is_some_and(|b| b.bound.is_minimum()) {
                    ebpf_perf::stats::verdict_min(&e, limit)
                } else {
                    ebpf_perf::stats::verdict(&e, limit)
                };
                Some((name.clone(), v))
            })
            .collect()
    };
    let (c, p) = (judge("tool_001::case_1"), judge("tool_002::case_3"));
    eprintln!("counter under the default budgets: {c:?}\nprintf under them: {p:?}");
    assert!(
        p.iter().any(|(_, v)| *v == Verdict::Exceeded),
        "printf {p:?}"
    );
    assert!(
        c.iter().all(|(_, v)| *v != Verdict::Exceeded),
        "counter {c:?}"
    );
}
