//! `performance-test-spec.yaml`: the test types, their variants, commands and run counts.

use crate::domain::Protocol;
use serde::{Deserialize, Serialize};

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PerfFile {
    pub performance_tests: Option<PerfSpec>,
    /// The seeds' alternative root key.
    pub test_types: Option<PerfSpec>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PerfSpec {
    /// Measured runs of every block (default 1); a test type may override it.
    pub repeats: Option<u32>,
    /// Runs at the start of every block, measured and discarded (default 0).
    pub warmup: Option<u32>,
    /// See [`Precision`].
    pub target_ci_pct: Option<f64>,
    pub pairs: Option<Pairs>,
    pub max_trial_s: Option<f64>,
    /// Retired keys of the run-level design, read only to say what took
    /// their place (see `config::validate`).
    #[serde(skip_serializing)]
    pub min_repeats: Option<crate::yaml::Value>,
    #[serde(skip_serializing)]
    pub max_repeats: Option<crate::yaml::Value>,
    #[serde(skip_serializing)]
    pub baseline_every_cases: Option<crate::yaml::Value>,
    #[serde(skip_serializing)]
    pub baseline_every_min: Option<crate::yaml::Value>,
    /// A metric whose coefficient of variation is above this (percent) is
    /// flagged noisy (default 10).
    pub max_cv_pct: Option<f64>,
    /// Quiet hosts: before each run, wait until every host of the run has
    /// less than this percentage of its CPUs busy outside our own processes
    /// (off when unset).
    pub quiet_cpu_pct: Option<f64>,
    /// ... for at most this many seconds (default 30); the run then goes on,
    /// and its record says the host was busy.
    pub quiet_wait_s: Option<f64>,
    /// See [`RunCounts::cpu_latency_us`]: every test type's, unless its own.
    pub cpu_latency_us: Option<u32>,
    pub throughput: Option<Throughput>,
    pub latency: Option<Latency>,
    pub pps: Option<Pps>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Throughput {
    #[serde(flatten)]
    pub runs: RunCounts,
    pub single_stream: Option<SingleStream>,
    pub multi_stream: Option<MultiStream>,
}

/// Per test type overrides of the spec's `repeats`, `warmup` and precision.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunCounts {
    pub repeats: Option<u32>,
    pub warmup: Option<u32>,
    /// See [`Precision`].
    pub target_ci_pct: Option<f64>,
    pub pairs: Option<Pairs>,
    pub max_trial_s: Option<f64>,
    /// During each run, the server's and the client's hosts hold their CPU
    /// wake-up latency at most this many µs (Linux's CPU latency QoS; see
    /// `shell::cpu_latency`); off when unset.
    pub cpu_latency_us: Option<u32>,
    /// Retired (see [`PerfSpec::min_repeats`]).
    #[serde(skip_serializing)]
    pub min_repeats: Option<crate::yaml::Value>,
    #[serde(skip_serializing)]
    pub max_repeats: Option<crate::yaml::Value>,
}

/// How many pairs of blocks (a baseline block and a tool block) a trial
/// gets: `pairs: 8` exactly, or `pairs: {min: 6, max: 10}` with a precision
/// target deciding in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pairs {
    pub min: Option<u32>,
    pub max: Option<u32>,
}

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Pairs, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Range {
            min: Option<u32>,
            max: Option<u32>,
        }
        let v = crate::yaml::Value::deserialize(d)?;
        let fixed = v.as_u64().and_then(|n| u32::try_from(n).ok());
        if let Some(n) = fixed {
            return Ok(Pairs {
                min: Some(n),
                max: Some(n),
            });
        }
        serde_json::from_value::<Range>(v)
            .map(|r| Pairs {
                min: r.min,
                max: r.max,
            })
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "{e}; expected a count (pairs: 8) or {{min: 6, max: 10}}"
                ))
            })
    }
}

/// The precision settings of a spec or a test type, as one value.
macro_rules! precision_of {
    ($t:ty) => {
        impl $t {
            pub fn precision(&self) -> Precision {
                Precision {
                    target_ci_pct: self.target_ci_pct,
                    pairs: self.pairs,
                    max_trial_s: self.max_trial_s,
                }
            }

            pub fn set_precision(&mut self, p: Precision) {
                self.target_ci_pct = p.target_ci_pct;
                self.pairs = p.pairs;
                self.max_trial_s = p.max_trial_s;
            }
        }
    };
}
precision_of!(PerfSpec);
precision_of!(RunCounts);

/// Pairs driven by precision: a trial adds pairs of blocks until the 95 %
/// interval of its headline cost is at most `target_ci_pct` wide on each
/// side, between `pairs.min` and `pairs.max`, and starts no pair that would
/// end after `max_trial_s` seconds of its blocks.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Precision {
    pub target_ci_pct: Option<f64>,
    pub pairs: Option<Pairs>,
    pub max_trial_s: Option<f64>,
}

/// Seed 004's load scenarios: presets of rate (per stream), concurrency
/// (streams) and duration for every test (`--load NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Load {
    /// 100 Mbit/s, 1 stream, 10 s.
    Light,
    /// 1 Gbit/s per stream, 4 streams, 30 s.
    Medium,
    /// Unlimited, 8 streams, 60 s.
    Heavy,
    /// Unlimited, 16 streams, 120 s.
    Stress,
}

impl Load {
    /// `(rate per stream as iperf3's -b takes it, streams, seconds)`; a rate
    /// of `0` is unlimited.
    pub fn preset(self) -> (&'static str, u32, u32) {
        match self {
            Load::Light => ("100M", 1, 10),
            Load::Medium => ("1G", 4, 30),
            Load::Heavy => ("0", 8, 60),
            Load::Stress => ("0", 16, 120),
        }
    }
}

/// Server and client command templates of one test kind.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Commands {
    pub server_cmd: Option<String>,
    pub client_cmd_tcp: Option<String>,
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

/// Is `cmd` an iperf3 client without `-J`? ebpf-perf reads iperf3's JSON
/// report (the seeds' commands print its text report).
pub fn iperf3_without_json(cmd: &str) -> bool {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    words
        .iter()
        .find(|w| !w.contains('='))
        .is_some_and(|w| w.rsplit('/').next() == Some("iperf3"))
        && words.iter().any(|w| *w == "-c" || *w == "--client")
        && !words.iter().any(|w| *w == "-J" || *w == "--json")
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

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pps {
    #[serde(flatten)]
    pub commands: Commands,
    #[serde(flatten)]
    pub runs: RunCounts,
    /// Accepted for the seeds' sake; pps is always multi-stream.
    pub multi_stream_only: Option<bool>,
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
