//! The flat metric names of a run (the results schema's vocabulary), from
//! the parsed performance output and the monitors' summaries.

use super::Name;
use crate::monitor::summary::{HostCost, ToolCost};
use crate::perf::Metrics;
use std::collections::BTreeMap;

/// Performance metrics of one run.
pub fn from_perf(m: &Metrics) -> BTreeMap<Name, f64> {
    let mut out = BTreeMap::new();
    let mut put = |k: &str, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            out.insert(k.into(), v);
        }
    };
    put("throughput_bps", m.throughput_bps);
    put("sender_bps", m.sender_bps);
    put("retransmits", m.retransmits.map(|r| r as f64));
    put("udp_lost_pct", m.udp_lost_percent);
    put("udp_jitter_ms", m.udp_jitter_ms);
    put("pps", m.packets_per_second);
    put("iperf3_pps", m.iperf3_packets_per_second);
    if let Some(l) = &m.latency_us {
        put("latency_min_us", Some(l.min));
        put("latency_mean_us", Some(l.mean));
        put("latency_p50_us", l.p50);
        put("latency_p90_us", Some(l.p90));
        put("latency_p99_us", Some(l.p99));
        put("latency_max_us", Some(l.max));
        put("transactions_per_s", l.transactions_per_second);
    }
    out
}

/// Monitoring metrics of one run. Host metrics take the busier of the two
/// hosts; the tool's costs are totals over the hosts it runs on.
pub fn from_costs(
    tool: &BTreeMap<String, ToolCost>,
    hosts: &BTreeMap<String, HostCost>,
) -> BTreeMap<Name, f64> {
    let mut out = BTreeMap::new();
    let max = |it: &mut dyn Iterator<Item = Option<f64>>| it.flatten().reduce(f64::max);
    let sum = |it: &mut dyn Iterator<Item = Option<f64>>| it.flatten().reduce(|a, b| a + b);
    let mut put = |k: &str, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            out.insert(k.into(), v);
        }
    };
    put(
        "host_cpu_busy_pct",
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
