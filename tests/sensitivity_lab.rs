//! How finely the harness judges, on the lab with the default precision
//! settings (real netperf, real tc): it must see a latency cost it did not
//! cause, at the size that cost has, and it must not invent one where there
//! is none.
//!
//! - Latency without netem: `tc tbf` with a rate so low that every TCP_RR
//!   response waits for its tokens. A 1-byte request/response is a 67-byte
//!   frame; once the bucket is empty, the token rate alone sets the pace, so
//!   the mean latency is 8 × 67 / rate whenever that is longer than the
//!   round trip (2 Mbit/s: 268 µs). The harness must report the increase
//!   that implies, within ±10 %, both far above the round trip and at twice
//!   the baseline's mean latency, where the cost is about the size of the
//!   round trip itself.
//! - A/A: a tool that only sleeps, twelve cases; of 60 or more comparisons
//!   at most 8 % may be labelled significant, and no interval has zero
//!   width.

mod common;

use ebpf_perf::results::{self, Results};
use std::path::Path;
use std::sync::Mutex;

static LAB: Mutex<()> = Mutex::new(());

/// A TCP_RR request or response of 1 byte on the wire: Ethernet 14, IPv4 20,
/// TCP 20 + 12 (timestamps), payload 1.
const FRAME_BYTES: f64 = 67.0;

/// `n` cases that run no BPF at all (`sleep`), for tool `tool_noop`, on the
/// host environment's TCP_RR only.
fn noop_config(n: u32, edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    common::lab_config(1, |d| {
        let cases: Vec<String> = (1..=n)
            .map(|i| {
                format!(
                    r#"{{"id": {i}, "name": "noop_{i}", "command": "sleep 100000", "duration": 600, "target": "server", "allow_no_bpf": true, "parameters": {{"n": "{i}"}}}}"#
                )
            })
            .collect();
        std::fs::write(
            d.join("ebpf-cases.json"),
            format!("[{}]", cases.join(",\n")),
        )
        .unwrap();
        let ids: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
        std::fs::write(
            d.join("ebpf-tools-config.yaml"),
            format!(
                "ebpf_tools:\n  tool_noop:\n    testcase_file: \"ebpf-cases.json\"\n    case_ids: [{}]\n    applicable_environments: [\"host\"]\n    performance_test_types: [\"latency\"]\n",
                ids.join(", ")
            ),
        )
        .unwrap();
        edit(d)
    })
}

fn mean_latency(r: &Results, name: &str) -> (f64, f64) {
    let t = common::trial(r, name);
    let c = t
        .analysis
        .comparison
        .as_ref()
        .unwrap_or_else(|| panic!("{name} not compared: {:?}", t.analysis.notes));
    let m = &c.metrics["latency_mean_us"];
    (m.baseline_mean, m.ebpf_mean)
}

#[test]
fn a_tbf_token_wait_is_recovered_as_latency_within_ten_percent() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let base = "baseline::host::latency::tcp_rr";
    // A: the baseline alone, to choose the rate that doubles it.
    let a = noop_config(2, |_| {});
    let (o, path) = common::perf_in(a.path(), &["--exact", base]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let ra = results::read(&path).unwrap();
    let base_us = common::trial(&ra, base).analysis.stats["latency_mean_us"].mean;
    let near_bps = 8.0 * FRAME_BYTES / (2.0 * base_us * 1e-6);
    let rates = [2e6, near_bps];

    // B: case 1 waits at 2 Mbit/s, case 2 at the near rate; the baseline
    // runs again in this session, around them.
    let b = noop_config(2, |d| {
        std::fs::write(
            d.join("hooks.yaml"),
            format!(
                "hooks:\n  case:\n    setup:\n      - {{name: cap, on: server, when: ebpf, run: \"tc qdisc replace dev {{server_interface}} root tbf rate $(case {{case_id}} in 1) echo {}bit;; *) echo {}bit;; esac) burst 3000 latency 200ms\"}}\n    teardown:\n      - {{name: uncap, on: server, when: ebpf, run: \"tc qdisc del dev {{server_interface}} root\"}}\n",
                rates[0] as u64, rates[1] as u64
            ),
        )
        .unwrap();
    });
    let (o, path) = common::perf_in(b.path(), &["tcp_rr"]);
    assert!(
        o.status.success(),
        "{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );
    let rb = results::read(&path).unwrap();
    for (case, rate) in [(1, rates[0]), (2, rates[1])] {
        let name = format!("tool_noop::case_{case}::host::latency::tcp_rr");
        let (baseline, ebpf) = mean_latency(&rb, &name);
        let implied_mean = 8.0 * FRAME_BYTES / rate * 1e6;
        let implied = implied_mean - baseline;
        let t = common::trial(&rb, &name);
        let inc = &t.analysis.comparison.as_ref().unwrap().metrics["latency_mean_us"];
        eprintln!(
            "{name}: rate {:.0} kbit/s, mean {ebpf:.2} µs (implied {implied_mean:.2}), increase {:.2} µs (implied {implied:.2}) over {baseline:.2} µs",
            rate / 1e3,
            inc.abs.value
        );
        assert!(
            (inc.abs.value - implied).abs() <= 0.10 * implied,
            "{name}: increase {:.2} µs, implied {implied:.2} µs (rate {rate} bit/s, baseline {baseline:.2} µs)",
            inc.abs.value
        );
        assert!(inc.significant, "{name}: {inc:?}");
    }
    assert!(!common::server_has_tbf(), "the cap was left behind");
}

#[test]
fn a_tool_that_does_nothing_costs_nothing_in_an_aa_session() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    // netperf and netserver share CPU 0 (the environment's `cpus:`): left to
    // the scheduler, the lab's latency is bimodal (about 12 µs on one CPU,
    // 30 µs across two), and a case that lands on the other mode differs
    // from its baseline for real, tool or no tool; 1 run in 6 of this test
    // then labelled 6 of 60 comparisons (p50, p99) significant.
    let cfg = noop_config(12, |d| {
        common::replace_in(
            &d.join("test-env-config.yaml"),
            "    description: \"lab: host-server <-> host-client over the port-storage link\"\n",
            "    description: \"lab: host-server <-> host-client over the port-storage link\"\n    \
             cpus: {server: \"0\", client: \"0\", tool: \"1\"}\n",
        );
    });
    let (o, path) = common::perf_in(cfg.path(), &["tcp_rr"]);
    assert!(
        o.status.success(),
        "{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );
    let r = results::read(&path).unwrap();
    let fdr = r
        .session
        .fdr
        .clone()
        .expect("the session counts its comparisons");
    let mut zero = Vec::new();
    let mut labelled = Vec::new();
    for t in &r.trials {
        for (m, c) in t.analysis.comparison.iter().flat_map(|c| &c.metrics) {
            if let Some([lo, hi]) = c.rel_pct.and_then(|e| e.ci95) {
                if hi <= lo {
                    zero.push(format!("{} {m} [{lo}, {hi}]", t.name));
                }
            }
            if c.significant {
                labelled.push(format!("{} {m} {:?} q {:?}", t.name, c.rel_pct, c.q));
            }
        }
    }
    eprintln!(
        "A/A: {} comparisons, {} significant: {labelled:#?}",
        fdr.comparisons, fdr.significant
    );
    assert!(fdr.comparisons >= 60, "{fdr:?}");
    assert_eq!(fdr.significant, labelled.len());
    assert!(
        fdr.significant as f64 <= 0.08 * fdr.comparisons as f64,
        "{} of {} significant: {labelled:#?}",
        fdr.significant,
        fdr.comparisons
    );
    assert!(zero.is_empty(), "zero-width intervals: {zero:#?}");
    // Every trial says why it stopped adding runs.
    assert!(r.trials.iter().all(|t| t.stop.is_some()));
}

#[test]
fn calibrate_measures_only_the_baselines_in_blocks_and_writes_the_file() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = noop_config(2, |d| common::fixed_runs_in(d, 2));
    // The filter names an eBPF trial too: --calibrate keeps only baselines.
    let (o, path) = common::perf_in(cfg.path(), &["tcp_rr", "--calibrate", "2"]);
    let err = common::stderr(&o);
    assert!(o.status.success(), "{}\n{err}", common::stdout(&o));
    let r = results::read(&path).unwrap();
    assert!(
        r.trials.iter().all(|t| t.is_baseline()),
        "{:?}",
        r.trials.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    let base = common::trial(&r, "baseline::host::latency::tcp_rr");
    assert_eq!((base.runs.len(), base.blocks.len()), (2, 1));
    let cal = ebpf_perf::calibration::read(&cfg.path().join("calibration.json")).unwrap();
    let m = &cal.trials["baseline::host::latency::tcp_rr"]["latency_mean_us"];
    assert_eq!((m.runs, m.aa_comparisons), (2, 1));
    assert!(m.mde_pct > 0.0 && m.cv_pct > 0.0, "{m:?}");
    assert!(err.contains("Calibration: "), "{err}");
}
