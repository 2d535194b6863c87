//! A synthetic results file shaped like a real run, for the benchmarks.

use ebpf_perf::results::{Block, Results, Run, Series, Session, Side, TrialResult};

pub const VARIANTS: usize = 16;
pub const RUNS: usize = 3;

/// A deterministic spread around 1 (no RNG crate needed).
fn jitter(i: usize) -> f64 {
    1.0 + ((i.wrapping_mul(2654435761) % 1000) as f64 - 500.0) / 10_000.0
}

/// `envs × cycles_per_env × 16` trials; cycle 0 of each environment is its
/// baseline (3 blocks of one run per case), the others cost 10 %, each in
/// 3 pairs of one-run blocks.
pub fn generate(envs: usize, cycles_per_env: usize) -> Results {
    let mut r = Results::new(Session {
        id: "20261122_000000".into(),
        ..Default::default()
    });
    let mut k = 0;
    for e in 0..envs {
        for c in 0..cycles_per_env {
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
                            quiet: vec![],
                            placement: Default::default(),
                        }
                    })
                    .collect::<Vec<Run>>();
                let tt = ebpf_perf::domain::TestType::Throughput;
                let env = format!("env{e}");
                let name = ebpf_perf::naming::trial_name_of(
                    case.map(|id| ("tool_001", id)),
                    &env,
                    tt,
                    &variant,
                );
                let mut t = TrialResult::new(name, cycle.clone(), env, tt, variant);
                t.tool_id = case.map(|_| "tool_001".into());
                t.case_id = case;
                t.duration_s = 6.0;
                let side = if case.is_some() {
                    Side::Tool
                } else {
                    Side::Baseline
                };
                for (i, run) in runs.into_iter().enumerate() {
                    let pair = i as u32 + 1;
                    if case.is_some() {
                        // Its pair's baseline block: the baseline's level.
                        let mut base = run.clone();
                        for (k, v) in base.metrics.iter_mut() {
                            if k.as_str() != "tool_cpu_pct" {
                                *v *= 0.9;
                            }
                        }
                        base.tool_series.clear();
                        t.blocks.push(Block {
                            pair,
                            side: Side::Baseline,
                            order: 1,
                            runs: vec![base],
                            ..Default::default()
                        });
                    }
                    t.blocks.push(Block {
                        pair,
                        side,
                        order: if case.is_some() { 2 } else { 0 },
                        runs: vec![run],
                        ..Default::default()
                    });
                }
                r.trials.push(t);
            }
        }
    }
    r
}
