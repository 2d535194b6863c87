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
    pub hooks: Hooks,
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
}

impl Config {
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
