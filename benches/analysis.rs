//! Statistics and comparison for a synthetic 100,000-trial results file
//! (10 environments × 625 cycles × 16 trials, 3 runs each, the metrics a
//! real run records), timed side by side in one process: writing the file,
//! reading it back, and analysing every trial (statistics, pairing with the
//! baseline, comparison, budgets, leak fits, regressions against a second
//! copy as `--compare-to`).
//!
//! Run: `cargo bench --bench analysis` (figures on stdout).

use ebpf_perf::analysis::{self, Earlier, Settings, Sources};
use ebpf_perf::results::{self, Results, Run, Series, Session, Status, TrialResult};
use std::time::{Duration, Instant};

const ENVS: usize = 10;
const CYCLES_PER_ENV: usize = 625;
const VARIANTS: usize = 16;
const RUNS: usize = 3;

/// A deterministic spread around 1 (no RNG crate needed).
fn jitter(i: usize) -> f64 {
    1.0 + ((i.wrapping_mul(2654435761) % 1000) as f64 - 500.0) / 10_000.0
}

fn generate() -> Results {
    let mut r = Results::new(Session {
        id: "20261122_000000".into(),
        ..Default::default()
    });
    let mut k = 0;
    for e in 0..ENVS {
        for c in 0..CYCLES_PER_ENV {
            let case = (c > 0).then_some(c as u32);
            let cycle = match case {
                None => format!("baseline_env{e}"),
                Some(id) => format!("tool_001_case_{id}_env{e}"),
            };
            for v in 0..VARIANTS {
                let variant = format!("variant_{v}");
                let runs = (0..RUNS)
                    .map(|_| {
                        k += 1;
                        let cost = if case.is_some() { 0.9 } else { 1.0 };
                        let mut m = std::collections::BTreeMap::new();
                        m.insert("throughput_bps".into(), 1e9 * cost * jitter(k));
                        m.insert("pps".into(), 5e5 * cost * jitter(k + 1));
                        m.insert("latency_mean_us".into(), 20.0 / cost * jitter(k + 2));
                        m.insert("latency_p50_us".into(), 18.0 / cost * jitter(k + 3));
                        m.insert("latency_p99_us".into(), 40.0 / cost * jitter(k + 4));
                        m.insert("transactions_per_s".into(), 5e4 * cost * jitter(k + 5));
                        m.insert("host_cpu_busy_pct".into(), 60.0 / cost * jitter(k + 6));
                        if case.is_some() {
                            m.insert("tool_cpu_pct".into(), 3.0 * jitter(k + 7));
                            m.insert("tool_rss_mb".into(), 100.0);
                            m.insert("bpf_ns_per_event".into(), 100.0 * jitter(k + 8));
                            m.insert("bpf_cpu_pct".into(), 1.0 * jitter(k + 9));
                        }
                        let t0 = (k * 3) as f64;
                        let series = Series {
                            t: vec![t0, t0 + 1.0, t0 + 2.0],
                            rss_kb: vec![Some(1e5), Some(1e5 + 1.0), Some(1e5 + 2.0)],
                            ..Default::default()
                        };
                        Run {
                            start: String::new(),
                            end: String::new(),
                            metrics: m,
                            tool_series: if case.is_some() {
                                [("h".to_string(), series)].into()
                            } else {
                                Default::default()
                            },
                            dirs: vec![],
                        }
                    })
                    .collect();
                r.trials.push(TrialResult {
                    name: ebpf_perf::naming::trial_name_of(
                        case.map(|id| ("tool_001", id)),
                        &format!("env{e}"),
                        "throughput",
                        &variant,
                    ),
                    cycle: cycle.clone(),
                    env: format!("env{e}"),
                    test_type: "throughput".into(),
                    variant,
                    tool_id: case.map(|_| "tool_001".into()),
                    case_id: case,
                    case_name: None,
                    rate_cap_bps: None,
                    status: Status::Passed,
                    error: None,
                    error_detail: String::new(),
                    duration_s: 6.0,
                    runs,
                    warmups: vec![],
                    remote: vec![],
                    analysis: Default::default(),
                });
            }
        }
    }
    r
}

fn settings() -> Settings {
    let budgets = ebpf_perf::config::BUDGETS
        .iter()
        .map(|(n, _)| (n.to_string(), 50.0))
        .collect();
    Settings {
        strict: false,
        max_cv_pct: 10.0,
        budgets: [("tool_001".to_string(), budgets)].into(),
        regression_pct: [("tool_001".to_string(), 5.0)].into(),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.json");
    let mut base = generate();
    assert_eq!(base.trials.len(), 100_000);
    let s = settings();
    // The --compare-to file: the same session, analysed.
    analysis::analyze_all(&mut base, &s, &Sources::default());
    results::write(&path, &base).unwrap();
    let earlier = Earlier::new(results::read(&path).unwrap(), "earlier.json".into());
    let size = std::fs::metadata(&path).unwrap().len();

    let (mut w, mut rd, mut an, mut sc) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Statistics and comparison only: no budgets, no earlier session.
    let plain = Settings {
        budgets: Default::default(),
        ..settings()
    };
    for _ in 0..5 {
        let t = Instant::now();
        results::write(&path, &base).unwrap();
        w.push(t.elapsed());
        let t = Instant::now();
        let mut r = results::read(&path).unwrap();
        rd.push(t.elapsed());
        let t = Instant::now();
        analysis::analyze_all(&mut r, &plain, &Sources::default());
        sc.push(t.elapsed());
        let t = Instant::now();
        let src = Sources {
            baseline_from: None,
            compare_to: Some(&earlier),
        };
        analysis::analyze_all(&mut r, &s, &src);
        an.push(t.elapsed());
        assert!(r
            .trials
            .iter()
            .all(|t| t.is_baseline() || t.analysis.comparison.is_some()));
        assert!(r.trials.iter().any(|t| !t.analysis.regressions.is_empty()));
    }
    let (w, rd, an, sc) = (median(w), median(rd), median(an), median(sc));
    println!(
        "results file: 100,000 trials × {RUNS} runs, {:.1} MB",
        size as f64 / 1e6
    );
    println!(
        "write (atomic)      median of 5: {:>8.1} ms",
        w.as_secs_f64() * 1e3
    );
    println!(
        "read + parse        median of 5: {:>8.1} ms",
        rd.as_secs_f64() * 1e3
    );
    println!(
        "statistics + comparison, median of 5: {:>8.1} ms",
        sc.as_secs_f64() * 1e3
    );
    println!("analyze_all         median of 5: {:>8.1} ms  (statistics, comparison, budgets, leak, regressions)", an.as_secs_f64() * 1e3);
    println!(
        "read + analyze:                  {:>8.1} ms; analyze / read = {:.2}",
        (rd + an).as_secs_f64() * 1e3,
        an.as_secs_f64() / rd.as_secs_f64()
    );
}
