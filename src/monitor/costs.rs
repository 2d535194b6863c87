//! Summaries of a trial's monitor slices. Each slice holds the samples of the
//! trial's window plus the last sample before it (so that cumulative counters
//! give deltas over the whole window); averages and peaks use the window only.

use crate::results::{put_finite, Name};
use serde::Serialize;
use std::collections::BTreeMap;

/// One sample line: `YYYY-MM-DD HH:MM:SS.nnnnnnnnn key=value ...`.
struct Sample<'a> {
    ts: &'a str,
    kv: Vec<(&'a str, &'a str)>,
}

impl Sample<'_> {
    fn get(&self, k: &str) -> Option<f64> {
        self.kv
            .iter()
            .find(|(n, _)| *n == k)
            .and_then(|(_, v)| v.parse().ok())
    }
    fn text(&self, k: &str) -> Option<&str> {
        self.kv.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
    }
}

/// `YYYY-mm-dd HH:MM:SS.nnnnnnnnn key=value ...` lines; anything else (a
/// torn last line, a line that is not ours) is skipped, never sliced blindly.
fn samples(text: &str) -> Vec<Sample<'_>> {
    text.lines()
        .filter_map(|l| {
            let ts = l.get(..29)?;
            let rest = l.get(30..).filter(|r| !r.is_empty())?;
            Some(Sample {
                ts,
                kv: rest
                    .split_whitespace()
                    .filter_map(|p| p.split_once('='))
                    .collect(),
            })
        })
        .collect()
}

/// Seconds since the epoch of a log timestamp.
pub fn seconds(ts: &str) -> Option<f64> {
    let t = chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    Some(t.and_utc().timestamp_nanos_opt()? as f64 / 1e9)
}

fn avg(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn peak(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::max)
}

/// In-kernel cost of the tool's BPF programs during the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BpfCost {
    pub programs: usize,
    pub events: u64,
    pub run_time_ns: u64,
    pub events_per_second: f64,
    /// Mean in-kernel time of one program run.
    pub ns_per_event: Option<f64>,
    /// Share of one CPU the BPF programs used, in percent.
    pub cpu_share_percent: f64,
}

/// What the eBPF tool spent during a trial.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolCost {
    pub cpu_avg_percent: Option<f64>,
    pub cpu_peak_percent: Option<f64>,
    pub rss_avg_kb: Option<f64>,
    pub rss_peak_kb: Option<f64>,
    /// RSS at the end of the trial minus RSS at the start of the case.
    pub rss_growth_since_case_start_kb: Option<f64>,
    pub vsz_peak_kb: Option<f64>,
    /// The most file descriptors the tool's processes held at once.
    pub fds_peak: Option<f64>,
    /// Context switches of all its threads per second.
    pub ctx_switches_per_second: Option<f64>,
    pub log_growth_bytes_per_second: Option<f64>,
    pub bpf: Option<BpfCost>,
}

/// The first sample of `text` at or after `from`, and all after it.
fn window<'a>(all: &'a [Sample<'a>], from: &str) -> &'a [Sample<'a>] {
    let i = all.iter().position(|s| s.ts >= from).unwrap_or(all.len());
    &all[i..]
}

/// Rate of a cumulative counter between the first and last sample.
fn rate(all: &[Sample<'_>], key: &str) -> Option<f64> {
    let (a, b) = (all.first()?, all.last()?);
    let dt = seconds(b.ts)? - seconds(a.ts)?;
    let delta = b.get(key)? - a.get(key)?;
    (dt > 0.0).then_some(delta / dt)
}

pub fn bpf_cost(text: &str) -> Option<BpfCost> {
    let all = samples(text);
    let first_ts = all.first()?.ts;
    let last_ts = all.last()?.ts;
    let dt = seconds(last_ts)? - seconds(first_ts)?;
    if dt <= 0.0 {
        return None;
    }
    // Per program: (run_cnt, run_time_ns) at the first and last sample.
    type Counters = (u64, u64);
    let mut progs: BTreeMap<&str, (Counters, Counters)> = BTreeMap::new();
    for s in &all {
        let Some(id) = s.text("prog_id") else {
            continue;
        };
        let v = (
            s.get("run_cnt").unwrap_or(0.0) as u64,
            s.get("run_time_ns").unwrap_or(0.0) as u64,
        );
        let e = progs.entry(id).or_insert((v, v));
        if s.ts == first_ts {
            e.0 = v;
        }
        e.1 = v;
    }
    let events: u64 = progs.values().map(|(a, b)| b.0.saturating_sub(a.0)).sum();
    let ns: u64 = progs.values().map(|(a, b)| b.1.saturating_sub(a.1)).sum();
    Some(BpfCost {
        programs: progs.len(),
        events,
        run_time_ns: ns,
        events_per_second: events as f64 / dt,
        ns_per_event: (events > 0).then(|| ns as f64 / events as f64),
        cpu_share_percent: 100.0 * ns as f64 / (dt * 1e9),
    })
}

/// `case_first_rss_kb`: the tool's RSS in the first sample of the case.
pub fn tool_cost(
    from: &str,
    cpu: &str,
    mem: &str,
    log: &str,
    bpf: &str,
    case_first_rss_kb: Option<f64>,
) -> ToolCost {
    let cpu_s = samples(cpu);
    let cpu_w: Vec<f64> = window(&cpu_s, from)
        .iter()
        .filter_map(|s| s.get("cpu_percent"))
        .collect();
    let mem_s = samples(mem);
    let mem_w = window(&mem_s, from);
    let rss: Vec<f64> = mem_w.iter().filter_map(|s| s.get("rss_kb")).collect();
    let vsz: Vec<f64> = mem_w.iter().filter_map(|s| s.get("vsz_kb")).collect();
    let log_s = samples(log);
    ToolCost {
        cpu_avg_percent: avg(&cpu_w),
        cpu_peak_percent: peak(&cpu_w),
        rss_avg_kb: avg(&rss),
        rss_peak_kb: peak(&rss),
        rss_growth_since_case_start_kb: rss.last().zip(case_first_rss_kb).map(|(l, f)| l - f),
        vsz_peak_kb: peak(&vsz),
        fds_peak: peak(
            &mem_w
                .iter()
                .filter_map(|s| s.get("fds"))
                .collect::<Vec<_>>(),
        ),
        ctx_switches_per_second: rate(window(&cpu_s, from), "ctxt"),
        log_growth_bytes_per_second: rate(&log_s, "bytes"),
        bpf: bpf_cost(bpf),
    }
}

/// The tool's samples of a window as one series, keyed by the memory
/// samples' timestamps (the agent writes every file at the same instants);
/// BPF counters are summed over the tool's programs.
pub fn tool_series(
    from: &str,
    cpu: &str,
    mem: &str,
    log: &str,
    bpf: &str,
) -> crate::results::Series {
    let mut out = crate::results::Series::default();
    let (cpu, mem, log, bpf) = (samples(cpu), samples(mem), samples(log), samples(bpf));
    let at = |all: &[Sample<'_>], ts: &str, k: &str| {
        all.iter().find(|s| s.ts == ts).and_then(|s| s.get(k))
    };
    for m in window(&mem, from) {
        let Some(t) = seconds(m.ts) else { continue };
        let progs: Vec<&Sample<'_>> = bpf.iter().filter(|s| s.ts == m.ts).collect();
        let total = |k: &str| {
            (!progs.is_empty()).then(|| progs.iter().filter_map(|s| s.get(k)).sum::<f64>())
        };
        out.t.push(t);
        out.rss_kb.push(m.get("rss_kb"));
        out.cpu_pct.push(at(&cpu, m.ts, "cpu_percent"));
        out.log_bytes.push(at(&log, m.ts, "bytes"));
        out.bpf_run_cnt.push(total("run_cnt"));
        out.bpf_run_time_ns.push(total("run_time_ns"));
    }
    let types: std::collections::BTreeSet<&str> = window(&bpf, from)
        .iter()
        .filter_map(|s| crate::compat::prog_type(s.text("type")?))
        .collect();
    out.prog_types = types.into_iter().map(str::to_string).collect();
    out
}

/// What a host spent during a trial.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostCost {
    pub cpu_busy_avg_percent: Option<f64>,
    pub cpu_busy_peak_percent: Option<f64>,
    pub softirq_avg_percent: Option<f64>,
    pub mem_used_avg_kb: Option<f64>,
    pub rx_pps_avg: Option<f64>,
    pub tx_pps_avg: Option<f64>,
}

pub fn host_cost(from: &str, cpu_mem: &str, net: &str) -> HostCost {
    let s = samples(cpu_mem);
    let w = window(&s, from);
    let busy: Vec<f64> = w.iter().filter_map(|x| x.get("cpu_busy")).collect();
    let soft: Vec<f64> = w.iter().filter_map(|x| x.get("cpu_softirq")).collect();
    let mem: Vec<f64> = w.iter().filter_map(|x| x.get("mem_used_kb")).collect();
    let n = samples(net);
    let nw = window(&n, from);
    let rx: Vec<f64> = nw.iter().filter_map(|x| x.get("rx_pps")).collect();
    let tx: Vec<f64> = nw.iter().filter_map(|x| x.get("tx_pps")).collect();
    HostCost {
        cpu_busy_avg_percent: avg(&busy),
        cpu_busy_peak_percent: peak(&busy),
        softirq_avg_percent: avg(&soft),
        mem_used_avg_kb: avg(&mem),
        rx_pps_avg: avg(&rx),
        tx_pps_avg: avg(&tx),
    }
}

/// Monitoring metrics of one run (the results file's flat names). Host metrics take the busier of the two
/// hosts; the tool's costs are totals over the hosts it runs on.
pub fn flat(
    tool: &BTreeMap<String, ToolCost>,
    hosts: &BTreeMap<String, HostCost>,
) -> BTreeMap<Name, f64> {
    let mut out = BTreeMap::new();
    let max = |it: &mut dyn Iterator<Item = Option<f64>>| it.flatten().reduce(f64::max);
    let sum = |it: &mut dyn Iterator<Item = Option<f64>>| it.flatten().reduce(|a, b| a + b);
    let mut put = |k: &str, v: Option<f64>| put_finite(&mut out, k, v);
    put(
        crate::metrics::HOST_CPU_BUSY_PCT,
        max(&mut hosts.values().map(|h| h.cpu_busy_avg_percent)),
    );
    put(
        "host_softirq_pct",
        max(&mut hosts.values().map(|h| h.softirq_avg_percent)),
    );
    put(
        "tool_cpu_pct",
        sum(&mut tool.values().map(|t| t.cpu_avg_percent)),
    );
    put(
        "tool_rss_mb",
        sum(&mut tool.values().map(|t| t.rss_peak_kb.map(|k| k / 1024.0))),
    );
    put("tool_fds", sum(&mut tool.values().map(|t| t.fds_peak)));
    put(
        "tool_ctx_switches_per_s",
        sum(&mut tool.values().map(|t| t.ctx_switches_per_second)),
    );
    put(
        "host_mem_used_mb",
        max(&mut hosts
            .values()
            .map(|h| h.mem_used_avg_kb.map(|k| k / 1024.0))),
    );
    put(
        "tool_log_bytes_per_s",
        sum(&mut tool.values().map(|t| t.log_growth_bytes_per_second)),
    );
    let bpf: Vec<_> = tool.values().filter_map(|t| t.bpf.as_ref()).collect();
    if !bpf.is_empty() {
        let events: u64 = bpf.iter().map(|b| b.events).sum();
        let ns: u64 = bpf.iter().map(|b| b.run_time_ns).sum();
        put(
            "bpf_events_per_s",
            Some(bpf.iter().map(|b| b.events_per_second).sum()),
        );
        put(
            "bpf_cpu_pct",
            Some(bpf.iter().map(|b| b.cpu_share_percent).sum()),
        );
        put(
            "bpf_ns_per_event",
            (events > 0).then(|| ns as f64 / events as f64),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BPF: &str = "\
2026-11-22 04:20:00.000000000 prog_id=7 type=tracepoint tag=ab run_time_ns=1000 run_cnt=10
2026-11-22 04:20:00.000000000 prog_id=8 type=perf_event tag=cd run_time_ns=0 run_cnt=0
2026-11-22 04:20:01.000000000 prog_id=7 type=tracepoint tag=ab run_time_ns=51000 run_cnt=510
2026-11-22 04:20:01.000000000 prog_id=8 type=perf_event tag=cd run_time_ns=500 run_cnt=1
2026-11-22 04:20:02.000000000 prog_id=7 type=tracepoint tag=ab run_time_ns=101000 run_cnt=1010
2026-11-22 04:20:02.000000000 prog_id=8 type=perf_event tag=cd run_time_ns=1000 run_cnt=2
";

    #[test]
    fn bpf_deltas_over_the_window() {
        let b = bpf_cost(BPF).unwrap();
        assert_eq!(b.programs, 2);
        assert_eq!(b.events, 1002);
        assert_eq!(b.run_time_ns, 101_000);
        assert_eq!(b.events_per_second, 501.0);
        assert!((b.ns_per_event.unwrap() - 100.798).abs() < 0.01);
        assert!((b.cpu_share_percent - 0.00505).abs() < 1e-9);
    }

    #[test]
    fn tool_averages_use_the_window_and_growth_uses_the_case_start() {
        let cpu = "2026-11-22 04:20:00.000000000 cpu_percent=90.00 cpu_ticks=1 ctxt=5\n\
                   2026-11-22 04:20:01.000000000 cpu_percent=10.00 cpu_ticks=2 ctxt=1000\n\
                   2026-11-22 04:20:02.000000000 cpu_percent=30.00 cpu_ticks=3 ctxt=1600\n";
        let mem = "2026-11-22 04:20:00.000000000 vsz_kb=100 rss_kb=50 fds=40\n\
                   2026-11-22 04:20:01.000000000 vsz_kb=100 rss_kb=60 fds=12\n\
                   2026-11-22 04:20:02.000000000 vsz_kb=120 rss_kb=80 fds=14\n";
        let log =
            "2026-11-22 04:20:00.000000000 bytes=0\n2026-11-22 04:20:02.000000000 bytes=4000\n";
        let t = tool_cost(
            "2026-11-22 04:20:00.500000000",
            cpu,
            mem,
            log,
            BPF,
            Some(40.0),
        );
        assert_eq!(t.cpu_avg_percent, Some(20.0));
        assert_eq!(t.cpu_peak_percent, Some(30.0));
        // In the window only: 600 switches in 1 s, at most 14 fds.
        assert_eq!(t.ctx_switches_per_second, Some(600.0));
        assert_eq!(t.fds_peak, Some(14.0));
        assert_eq!(t.rss_avg_kb, Some(70.0));
        assert_eq!(t.rss_peak_kb, Some(80.0));
        assert_eq!(t.rss_growth_since_case_start_kb, Some(40.0));
        assert_eq!(t.log_growth_bytes_per_second, Some(2000.0));
        assert!(t.bpf.is_some());
    }

    #[test]
    fn series_join_the_files_by_timestamp() {
        let mem = "2026-11-22 04:20:00.000000000 vsz_kb=100 rss_kb=50\n\
                   2026-11-22 04:20:01.000000000 vsz_kb=100 rss_kb=60\n\
                   2026-11-22 04:20:02.000000000 vsz_kb=120 rss_kb=80\n";
        let cpu = "2026-11-22 04:20:01.000000000 cpu_percent=10.00 cpu_ticks=2\n";
        let s = tool_series("2026-11-22 04:20:00.500000000", cpu, mem, "", BPF);
        assert_eq!(s.rss_kb, [Some(60.0), Some(80.0)]);
        assert_eq!(s.cpu_pct, [Some(10.0), None]);
        assert_eq!(s.bpf_run_cnt, [Some(511.0), Some(1012.0)]);
        assert_eq!(s.log_bytes, [None, None]);
        assert_eq!(s.t[1] - s.t[0], 1.0);
        assert_eq!(s.prog_types, ["perf_event", "tracepoint"]);
    }

    #[test]
    fn program_types_are_named_from_the_agents_numbers() {
        // Recorded on the lab: a bpftrace tool's two programs, as the agent
        // writes fdinfo's `prog_type:` (5 tracepoint, 7 perf_event).
        let bpf = "\
2026-12-07 17:37:34.630800048 prog_id=7637 type=5 tag=9df4b97d7850d00c run_time_ns=28317 run_cnt=63
2026-12-07 17:37:34.630800048 prog_id=7638 type=7 tag=9dbb1a45a66b9181 run_time_ns=0 run_cnt=0
2026-12-07 17:37:35.630800048 prog_id=7637 type=5 tag=9df4b97d7850d00c run_time_ns=38317 run_cnt=93
2026-12-07 17:37:35.630800048 prog_id=7638 type=99 tag=9dbb1a45a66b9181 run_time_ns=0 run_cnt=0
";
        let mem = "2026-12-07 17:37:35.630800048 vsz_kb=100 rss_kb=50\n";
        let s = tool_series("2026-12-07 17:37:35.000000000", "", mem, "", bpf);
        // Only the window's samples count, and a number the table lacks is
        // left out rather than guessed.
        assert_eq!(s.prog_types, ["tracepoint"]);
        let s = tool_series("2026-12-07 17:37:34.000000000", "", mem, "", bpf);
        assert_eq!(s.prog_types, ["perf_event", "tracepoint"]);
    }

    #[test]
    fn empty_slices_give_no_numbers() {
        assert_eq!(
            tool_cost("2026-11-22 04:20:00.000000000", "", "", "", "", None),
            ToolCost::default()
        );
        assert_eq!(bpf_cost(""), None);
    }
}
