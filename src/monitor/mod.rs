//! Monitoring: what the eBPF tool and the hosts spend. The agent
//! (`ebpf-perf-monitor`, see [`agent`]) runs on each host for a whole cycle
//! and writes case-long files; after each trial the harness slices the
//! trial's time window into that trial's `monitoring/` and `ebpf_monitoring/`
//! directories and sums up what it cost ([`costs`]).

pub mod agent;
pub mod attach;
pub mod costs;
