//! Known-answer tests of judging on the lab (real iperf3, netperf, bpftrace):
//! the harness must recover an effect it did not cause. A case hook caps the
//! server's test interface with `tc tbf` at a known rate; the comparison
//! must report the loss the cap implies, budgets below it must fail the
//! trial and budgets above it pass; the overhead's growth since an earlier
//! results file is a regression. And a printf per packet must cost latency
//! measurably more than a per-CPU counter.

mod common;

use common::replace_in;
use ebpf_perf::results::{self, Status};
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

/// 3 s tests, one 400M TCP variant the server sends (-R, so that the capped
/// egress carries the data), two tools running the same counter case.
fn kat_config(cap: bool) -> tempfile::TempDir {
    kat_config_capped(cap.then_some(CAP_MBIT))
}

/// [`kat_config`] with the cap at `cap_mbit` (none: no cap).
fn kat_config_capped(cap: Option<f64>) -> tempfile::TempDir {
    common::lab_config(3, |d| {
        let spec = d.join("performance-test-spec.yaml");
        replace_in(
            &spec,
            "target_bw: [\"1G\"]",
            "target_bw: [\"400M\"]\n      protocols: [tcp]",
        );
        replace_in(&spec, "-b {target_bw} -J\"", "-b {target_bw} -R -J\"");
        std::fs::write(d.join("ebpf-tools-config.yaml"), TOOLS).unwrap();
        if let Some(cap) = cap {
            std::fs::write(
                d.join("hooks.yaml"),
                format!(
                    "hooks:\n  case:\n    setup:\n      - {{name: cap, on: server, when: ebpf, run: \"tc qdisc replace dev {{server_interface}} root tbf rate {cap}mbit burst 64kb latency 100ms\"}}\n    teardown:\n      - {{name: uncap, on: server, when: ebpf, run: \"tc qdisc del dev {{server_interface}} root\"}}\n"
                ),
            )
            .unwrap();
        }
    })
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

#[test]
fn a_tbf_cap_is_recovered_as_throughput_loss_and_judged_by_budgets() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let filter = ["case_1", "single_tcp_400M"];

    // A: no cap. The filter names only eBPF trials' variant; the baseline
    // runs too, first, and both tools are within their budgets.
    let a = kat_config(false);
    let (o, a_results) = common::perf_in(a.path(), &filter);
    let err = common::stderr(&o);
    assert!(o.status.success(), "{}\n{err}", common::stdout(&o));
    assert!(
        err.contains("2 of 20 trials selected from")
            && err.contains("plus 1 baseline trial it is compared with"),
        "{err}"
    );
    let ra = results::read(&a_results).unwrap();
    let base = common::trial(&ra, "baseline::host::throughput::single_tcp_400M");
    // The default config's precision: at least min_repeats runs, and why it stopped.
    assert!(base.runs.len() >= 5, "{}", base.runs.len());
    let stop = base.stop.as_ref().expect("a stop reason");
    assert_eq!(stop.runs as usize, base.runs.len());
    let base_mbit = base.analysis.stats["throughput_bps"].mean / 1e6;
    assert!(
        (0.9 * TARGET_MBIT..1.05 * TARGET_MBIT).contains(&base_mbit),
        "{base_mbit}"
    );
    // Every run keeps its own raw data.
    for run in &base.runs {
        let dir = run.dirs[1].split_once(':').unwrap().1;
        assert!(
            Path::new(dir)
                .join("client_results/stream_1.json")
                .is_file(),
            "{dir}"
        );
    }

    // B: the cap, baselines from A (not measured again), regressions against A.
    let b = kat_config(true);
    let a_path = a_results.to_str().unwrap();
    let mut args = filter.to_vec();
    args.extend(["--baseline-from", a_path, "--compare-to", a_path]);
    let (o, b_results) = common::perf_in(b.path(), &args);
    let out = common::stdout(&o);
    assert!(
        !o.status.success(),
        "the low budget must fail the run\n{out}"
    );
    assert!(
        !out.contains("test baseline"),
        "baseline taken from A, not run again\n{out}"
    );
    let rb = results::read(&b_results).unwrap();
    assert_eq!(rb.session.baseline_from.as_deref(), Some(a_path));

    let implied = 100.0 * (1.0 - CAP_MBIT * GOODPUT / base_mbit);
    for name in [
        "tool_low::case_1::host::throughput::single_tcp_400M",
        "tool_high::case_1::host::throughput::single_tcp_400M",
    ] {
        let t = common::trial(&rb, name);
        let c = t
            .analysis
            .comparison
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: {:?}", t.analysis.notes));
        assert!(c.baseline_source.contains(a_path), "{}", c.baseline_source);
        let loss = -c.metrics["throughput_bps"].rel_pct.unwrap().value;
        eprintln!("{name}: loss {loss:.2}% measured, {implied:.2}% implied by the cap (baseline {base_mbit:.1} Mbit/s)");
        assert!(
            (loss - implied).abs() <= 0.05 * implied,
            "{name}: measured loss {loss:.2}%, the cap implies {implied:.2}% (baseline {base_mbit:.1} Mbit/s)"
        );
        assert!(c.metrics["throughput_bps"].rel_pct.unwrap().significant());
    }

    let low = common::trial(&rb, "tool_low::case_1::host::throughput::single_tcp_400M");
    assert_eq!(low.status, Status::Failed);
    assert_eq!(low.analysis.budgets[0].verdict, Verdict::Exceeded);
    let msg = junit_failure(b.path(), &low.name).expect("low budget fails in JUnit");
    assert!(
        msg.contains("budget throughput_loss_pct 30: exceeded: measured "),
        "{msg}"
    );
    assert!(msg.contains("vs baseline "), "{msg}");
    // Its loss grew from ~0 to ~half since A: a regression beyond 25 points.
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

    let high = common::trial(&rb, "tool_high::case_1::host::throughput::single_tcp_400M");
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
    // C: a cap at 90 % of the measured baseline (as goodput): a 10-point
    // loss, 10 ± 2, and labelled significant.
    let cap90 = 0.9 * base_mbit / GOODPUT;
    let c = kat_config_capped(Some((cap90 * 1000.0).round() / 1000.0));
    let (o, c_results) = common::perf_in(
        c.path(),
        &[
            "tool_high",
            "case_1",
            "single_tcp_400M",
            "--baseline-from",
            a_path,
        ],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let rc = results::read(&c_results).unwrap();
    let t = common::trial(&rc, "tool_high::case_1::host::throughput::single_tcp_400M");
    let m = &t.analysis.comparison.as_ref().unwrap().metrics["throughput_bps"];
    let loss = -m.rel_pct.unwrap().value;
    eprintln!(
        "90 % cap ({cap90:.1} Mbit/s): loss {loss:.2}% {:?}, q {:?}",
        m.rel_pct, m.q
    );
    assert!(
        (8.0..=12.0).contains(&loss),
        "a 90 % cap: loss {loss:.2}%, expected 10 ± 2"
    );
    assert!(m.significant, "{m:?}");

    // The cap is gone again.
    assert!(!common::server_has_tbf(), "the cap was left behind");
}

#[test]
fn printf_per_packet_costs_more_latency_than_a_percpu_counter() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    // The programs' user-space side on CPU 1, netperf and netserver on CPU 0
    // (the environment's `cpus:`): what is measured is the programs' cost on
    // the packet path, not how the scheduler happened to place bpftrace's
    // printing next to netperf (which makes single runs of the printf case
    // swing between +0 % and +100 %).
    let cfg = common::lab_config(2, |d| {
        replace_in(
            &d.join("test-env-config.yaml"),
            "    description: \"lab: host-server <-> host-client over the port-storage link\"\n",
            "    description: \"lab: host-server <-> host-client over the port-storage link\"\n    \
             cpus: {server: \"0\", client: \"0\", tool: \"1\"}\n",
        );
    });
    let (o, path) = common::perf_in(
        cfg.path(),
        &["tcp_rr", "host", "--skip", "case_2", "--repeat", "6"],
    );
    assert!(
        o.status.success(),
        "{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );
    // What a person sees while it runs: a count, the time left, and each
    // eBPF trial's headline overhead with its interval and worst verdict.
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
    // At the end, both eBPF trials, worst first: by their worst verdict's
    // kind, then by how much of its limit it uses.
    let table: Vec<&str> = err
        .lines()
        .skip_while(|l| !l.starts_with("Costliest trials"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert_eq!(table.len(), 2, "{err}");
    let badness = |row: &str| -> (u8, f64) {
        let kind = ["within (", "inconclusive (", "exceeded ("]
            .iter()
            .position(|k| row.contains(k))
            .unwrap_or_else(|| panic!("no verdict in {row}"));
        let worst = row.split("(worst: ").nth(1).unwrap().trim_end_matches(')');
        let w: Vec<&str> = worst.split_whitespace().collect();
        let (used, limit): (f64, f64) = (w[1].parse().unwrap(), w[3].parse().unwrap());
        (kind as u8, used / limit)
    };
    let (a, b) = (badness(table[0]), badness(table[1]));
    assert!(a.0 > b.0 || (a.0 == b.0 && a.1 >= b.1), "{err}");
    let r = results::read(&path).unwrap();
    let overhead = |case: &str| {
        let t = common::trial(&r, &format!("{case}::host::latency::tcp_rr"));
        assert_eq!(t.runs.len(), 6);
        t.analysis.comparison.as_ref().unwrap().metrics["latency_mean_us"]
            .rel_pct
            .unwrap()
    };
    // The placement reached the commands that ran.
    for (name, meta) in common::trial_metadata(cfg.path()) {
        for c in meta["commands"].as_array().unwrap() {
            let (step, cmd) = (c["step"].as_str().unwrap(), c["command"].as_str().unwrap());
            if matches!(step, "start servers" | "start clients") {
                assert!(
                    cmd.starts_with("exec taskset -c 0 "),
                    "{name}: {step}: {cmd}"
                );
            }
        }
    }
    let counter = overhead("tool_001::case_1");
    let printf = overhead("tool_002::case_3");
    assert!(printf.significant(), "printf {printf:?}");
    assert!(
        printf.value > counter.value,
        "printf {printf:?} vs counter {counter:?}"
    );

    // The default budgets tell them apart: judged by the counters' budgets,
    // the printf trial exceeds at least one that the counter is within.
    let loaded = ebpf_perf::config::load(cfg.path()).unwrap();
    let counters = loaded.tools["tool_001"]
        .budgets
        .resolve("host", ebpf_perf::domain::TestType::Latency);
    let judge = |case: &str| -> Vec<(String, Verdict)> {
        let t = common::trial(&r, &format!("{case}::host::latency::tcp_rr"));
        counters
            .iter()
            .filter_map(|(name, &limit)| {
                let e = ebpf_perf::analysis::measure(name, &t.analysis)?;
                Some((name.clone(), ebpf_perf::stats::verdict(&e, limit)))
            })
            .collect()
    };
    let (c, p) = (judge("tool_001::case_1"), judge("tool_002::case_3"));
    eprintln!("counter under the counters' budgets: {c:?}\nprintf under them: {p:?}");
    let told_apart: Vec<&String> = p
        .iter()
        .filter(|(n, v)| *v == Verdict::Exceeded && c.contains(&(n.clone(), Verdict::Within)))
        .map(|(n, _)| n)
        .collect();
    assert!(
        !told_apart.is_empty(),
        "no counter budget tells printf {p:?} from the counter {c:?}"
    );
}
