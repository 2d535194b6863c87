//! Configuration (DESIGN 3): loads the files of a config directory, checks them
//! before anything connects, and hands out one normalized [`Config`].

mod error;
mod locate;
pub mod model;
mod validate;

pub use error::{ConfigError, Problem};
pub use model::*;

use crate::naming::TestType;
use indexmap::IndexMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const SSH_FILE: &str = "ssh-config.yaml";
pub const ENV_FILE: &str = "test-env-config.yaml";
pub const PERF_FILE: &str = "performance-test-spec.yaml";
pub const TOOLS_FILE: &str = "ebpf-tools-config.yaml";
pub const HOOKS_FILE: &str = "hooks.yaml";

/// A validated configuration; every reference in it resolves.
#[derive(Debug, Clone)]
pub struct Config {
    pub dir: PathBuf,
    pub lab: Option<LabKind>,
    /// Never connect to these hosts (configurations of labs elsewhere).
    pub list_only: bool,
    pub ssh_hosts: IndexMap<String, SshHost>,
    pub environments: IndexMap<String, TestEnv>,
    pub perf: PerfSpec,
    pub tools: IndexMap<String, Tool>,
    /// Groups of cases to put side by side in reports (`comparisons:`).
    pub comparisons: Vec<Vec<String>>,
    pub hooks: Hooks,
    /// Allowed but worth saying, with file:line (see [`Problem`]).
    pub warnings: Vec<Problem>,
}

/// An eBPF tool in normalized form, whatever shape its file used.
#[derive(Debug, Clone)]
pub struct Tool {
    pub id: String,
    /// The tool's own `id` field (a program name), when given.
    pub program: Option<String>,
    pub name: Option<String>,
    pub case_file: PathBuf,
    /// The selected cases, in `case_ids` order.
    pub cases: Vec<Arc<EbpfCase>>,
    pub environments: Vec<String>,
    pub test_types: Vec<TestType>,
    pub monitoring: ResourceMonitoring,
    /// Budget name -> limit: the file's defaults overridden by the tool's own.
    pub budgets: IndexMap<String, f64>,
    /// Regression limit in percentage points of overhead growth.
    pub regression_pct: Option<f64>,
}

/// The budgets a tools file may set (DESIGN 7.1), with the unit of the limit.
pub const BUDGETS: &[(&str, &str)] = &[
    ("throughput_loss_pct", "% of baseline throughput"),
    ("pps_loss_pct", "% of baseline packets/s"),
    ("latency_mean_increase_us", "µs of mean latency"),
    ("latency_p99_increase_pct", "% of baseline p99 latency"),
    ("host_cpu_increase_pts", "points of host CPU busy %"),
    ("tool_cpu_pct", "% of one CPU, the tool's process tree"),
    ("tool_rss_mb", "MB resident, the tool's process tree"),
    ("bpf_ns_per_event", "ns in the kernel per BPF program run"),
    (
        "bpf_cpu_pct",
        "% of one CPU spent in the tool's BPF programs",
    ),
    (
        "rss_growth_kb_per_min",
        "kB/min of RSS growth over the case",
    ),
];

/// Defaults of a spec without `repeats`, `warmup` or `max_cv_pct`.
pub const DEFAULT_REPEATS: u32 = 1;
pub const DEFAULT_MAX_CV_PCT: f64 = 10.0;
/// Regression limit of tools that set none (percentage points).
pub const DEFAULT_REGRESSION_PCT: f64 = 5.0;

impl PerfSpec {
    /// (warmup, repeats) of a test type: its own, else the spec's, else 0 and 1.
    pub fn runs(&self, t: TestType) -> (u32, u32) {
        let own = match t {
            TestType::Throughput => self.throughput.as_ref().map(|x| x.runs),
            TestType::Latency => self.latency.as_ref().map(|x| x.runs),
            TestType::Pps => self.pps.as_ref().map(|x| x.runs),
        }
        .unwrap_or_default();
        (
            own.warmup.or(self.warmup).unwrap_or(0),
            own.repeats.or(self.repeats).unwrap_or(DEFAULT_REPEATS),
        )
    }

    pub fn max_cv_pct(&self) -> f64 {
        self.max_cv_pct.unwrap_or(DEFAULT_MAX_CV_PCT)
    }
}

impl Config {
    /// `--repeat N`: every test type runs N measured runs.
    pub fn override_repeats(&mut self, n: u32) {
        let p = &mut self.perf;
        p.repeats = Some(n);
        if let Some(t) = &mut p.throughput {
            t.runs.repeats = None;
        }
        if let Some(t) = &mut p.latency {
            t.runs.repeats = None;
        }
        if let Some(t) = &mut p.pps {
            t.runs.repeats = None;
        }
    }

    /// Test types the spec defines, in matrix order.
    pub fn defined_test_types(&self) -> Vec<TestType> {
        let p = &self.perf;
        TestType::ALL
            .into_iter()
            .filter(|t| match t {
                TestType::Throughput => p.throughput.is_some(),
                TestType::Latency => p.latency.is_some(),
                TestType::Pps => p.pps.is_some(),
            })
            .collect()
    }
}

/// Reads and validates the configuration in `dir`.
pub fn load(dir: &Path) -> Result<Config, ConfigError> {
    validate::load(dir)
}
