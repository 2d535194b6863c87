//! `performance-test-spec.yaml`: the test types, their variants, commands and run counts.

use crate::domain::Protocol;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PerfFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_tests: Option<PerfSpec>,
    /// The seeds' alternative root key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_types: Option<PerfSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PerfSpec {
    /// Measured runs of every trial (default 1); a test type may override it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<u32>,
    /// Runs before the measured ones, measured and discarded (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<u32>,
    /// A metric whose coefficient of variation is above this (percent) is
    /// flagged noisy (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cv_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Throughput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pps: Option<Pps>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Throughput {
    #[serde(flatten)]
    pub runs: RunCounts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_stream: Option<SingleStream>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_stream: Option<MultiStream>,
}

/// Per test type overrides of the spec's `repeats` and `warmup`.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunCounts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<u32>,
}

/// Server and client command templates of one test kind.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Commands {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cmd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cmd_tcp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cmd_udp: Option<String>,
}

impl Commands {
    pub fn client(&self, p: Protocol) -> Option<&str> {
        match p {
            Protocol::Tcp => self.client_cmd_tcp.as_deref(),
            Protocol::Udp => self.client_cmd_udp.as_deref(),
        }
    }
}

fn default_protocols() -> Vec<Protocol> {
    vec![Protocol::Tcp, Protocol::Udp]
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SingleStream {
    #[serde(flatten)]
    pub commands: Commands,
    pub duration: u32,
    pub target_bw: Vec<String>,
    pub ports: Vec<u16>,
    #[serde(default = "default_protocols")]
    pub protocols: Vec<Protocol>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MultiStream {
    /// Falls back to the single-stream commands where absent.
    #[serde(flatten)]
    pub commands: Commands,
    pub streams: Vec<u32>,
    pub base_port: u16,
    pub duration: u32,
    /// Per-stream bandwidth target; `0` is unlimited (iperf3).
    #[serde(default = "default_unlimited_bw")]
    pub target_bw: String,
    #[serde(default = "default_protocols")]
    pub protocols: Vec<Protocol>,
}

fn default_unlimited_bw() -> String {
    "0".to_string()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    #[serde(flatten)]
    pub commands: Commands,
    #[serde(flatten)]
    pub runs: RunCounts,
    pub duration: u32,
    pub ports: Vec<u16>,
    #[serde(default = "default_protocols")]
    pub protocols: Vec<Protocol>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pps {
    #[serde(flatten)]
    pub commands: Commands,
    #[serde(flatten)]
    pub runs: RunCounts,
    /// Accepted for the seeds' sake; pps is always multi-stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_stream_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sar_cmd: Option<String>,
    pub streams: Vec<u32>,
    #[serde(default = "default_pps_base_port")]
    pub base_port: u16,
    pub duration: u32,
    #[serde(default = "default_unlimited_bw")]
    pub target_bw: String,
    #[serde(default = "default_protocols")]
    pub protocols: Vec<Protocol>,
}

fn default_pps_base_port() -> u16 {
    5201
}
