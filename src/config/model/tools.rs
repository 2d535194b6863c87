//! `ebpf-tools-config.yaml`: the tools, their budgets, monitoring, and where their cases are.

use super::{Scalar, Target};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ToolsFile {
    /// Default budgets of every tool (names in `crate::metrics::BUDGETS`).
    #[serde(default)]
    pub budgets: IndexMap<String, f64>,
    /// Default regression limit (percentage points of overhead growth).
    pub regression_pct: Option<f64>,
    pub ebpf_tools: IndexMap<String, ToolRaw>,
    /// Cases that implement the same thing, shown side by side in reports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comparisons: Vec<ComparisonRaw>,
    /// Thresholds of seed 003's ratings, per aspect (defaults otherwise).
    pub ratings: Option<crate::ratings::Thresholds>,
}

/// `comparisons:` entry: two or more cases, `case_N` or `tool_id::case_N`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonRaw {
    pub name: Option<String>,
    pub cases: Vec<String>,
}

/// A tool in either of the seeds' shapes; `validate` turns it into one shape.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ToolRaw {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    // nested shape
    pub testcase_source: Option<TestcaseSource>,
    pub test_associations: Option<TestAssociations>,
    // flat shape
    pub testcase_file: Option<String>,
    pub case_ids: Option<Vec<u32>>,
    pub applicable_environments: Option<Vec<String>>,
    pub performance_test_types: Option<Vec<String>>,
    // program shape
    /// Directory of the tool on the hosts.
    pub path: Option<String>,
    /// The program file in `path` (`.bt` runs with bpftrace, `.py` with python3).
    pub executable: Option<String>,
    pub parameters: Option<ToolParameters>,
    pub test_scope: Option<TestScope>,
    pub cases: Option<Vec<InlineCase>>,
    #[serde(default)]
    pub resource_monitoring: ResourceMonitoring,
    /// This tool's budgets; they override the file's defaults by name.
    #[serde(default)]
    pub budgets: IndexMap<String, f64>,
    pub regression_pct: Option<f64>,
}

impl ToolRaw {
    /// Does it use any key of the program shape?
    pub fn is_program_shape(&self) -> bool {
        self.path.is_some()
            || self.executable.is_some()
            || self.parameters.is_some()
            || self.test_scope.is_some()
            || self.cases.is_some()
    }
}

/// The program shape's command line: `template` after the executable, with
/// `{placeholders}` that each case gives in its `vars`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ToolParameters {
    #[serde(default)]
    pub template: String,
    #[serde(default)]
    pub required_vars: Vec<String>,
}

/// The program shape's environments and test types.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestScope {
    pub environments: Vec<String>,
    pub test_types: Vec<String>,
}

/// A case of a program-shape tool: the variables of its command line.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InlineCase {
    pub id: u32,
    pub name: String,
    #[serde(default)]
    pub vars: IndexMap<String, Scalar>,
    /// Seconds the program may run at most; default 600.
    #[serde(default = "default_case_duration")]
    pub duration: u32,
    #[serde(default)]
    pub target: Target,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_no_bpf: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_timeout_s: Option<u32>,
    /// Runs only with the tests of this protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<crate::domain::Protocol>,
}

fn default_case_duration() -> u32 {
    600
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestcaseSource {
    pub file: String,
    pub case_ids: Vec<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestAssociations {
    pub applicable_environments: Vec<String>,
    pub performance_test_types: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceMonitoring {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "yes")]
    pub cpu: bool,
    #[serde(default = "yes")]
    pub memory: bool,
    #[serde(default = "default_memory_types")]
    pub memory_types: Vec<MemoryType>,
    #[serde(default = "yes")]
    pub log_size: bool,
    #[serde(default = "default_cpu_stats")]
    pub cpu_stats: Vec<CpuStat>,
}

impl Default for ResourceMonitoring {
    fn default() -> Self {
        ResourceMonitoring {
            enabled: true,
            cpu: true,
            memory: true,
            memory_types: default_memory_types(),
            log_size: true,
            cpu_stats: default_cpu_stats(),
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemoryType {
    Virt,
    Rss,
}

fn default_memory_types() -> Vec<MemoryType> {
    vec![MemoryType::Virt, MemoryType::Rss]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuStat {
    Avg,
    Peak,
}

fn default_cpu_stats() -> Vec<CpuStat> {
    vec![CpuStat::Avg, CpuStat::Peak]
}
