//! The configuration files as written by users (DESIGN 3): serde types that
//! accept exactly the documented keys. Semantic checks live in `validate`.

use crate::domain::Protocol;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- ssh-config

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SshFile {
    /// `netns`: the hosts are the built-in lab, provisioned on demand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<LabKind>,
    /// The hosts are real machines elsewhere: list, validate and generate
    /// workflows only; ebpf-perf refuses to connect to them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub list_only: bool,
    pub ssh_hosts: IndexMap<String, SshHost>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LabKind {
    Netns,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SshHost {
    pub host: String,
    #[serde(default = "default_ssh_port")]
    pub port: u16,
    pub user: String,
    pub workdir: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    #[serde(default)]
    pub host_key_check: HostKeyCheck,
    /// known_hosts file to check and extend; default `~/.ssh/known_hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<String>,
}

fn default_ssh_port() -> u16 {
    22
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyCheck {
    Strict,
    #[default]
    AcceptNew,
    Off,
}

// ------------------------------------------------------------ test-env-config

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvFile {
    pub test_environments: IndexMap<String, TestEnv>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestEnv {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub server: EnvHost,
    pub client: EnvHost,
    /// More server/client pairs of the same shape, for shards that run at the
    /// same time (`--pool N`); pool 1 is `server` and `client` themselves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<Pool>,
    #[serde(default)]
    pub vars: IndexMap<String, Scalar>,
}

/// One more server/client pair of an environment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub server: EnvHost,
    pub client: EnvHost,
}

impl TestEnv {
    /// Its pools in order: pool 1 (`server`/`client`), then `pools`.
    pub fn pairs(&self) -> Vec<(&EnvHost, &EnvHost)> {
        std::iter::once((&self.server, &self.client))
            .chain(self.pools.iter().map(|p| (&p.server, &p.client)))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvHost {
    pub ssh_ref: String,
    pub test_ip: String,
    pub interface: String,
}

/// A YAML/JSON scalar kept as text (numbers and booleans as written).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Int(i64),
    Bool(bool),
    Float(FloatText),
}

/// A float kept as the text serde gives back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FloatText(pub String);

impl<'de> Deserialize<'de> for FloatText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64::deserialize(d).map(|f| FloatText(f.to_string()))
    }
}

impl Scalar {
    pub fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Float(f) => f.0.clone(),
        }
    }
}

// ------------------------------------------------------ performance-test-spec

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

// --------------------------------------------------------- ebpf-tools-config

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ToolsFile {
    /// Default budgets of every tool (names in `crate::metrics::BUDGETS`).
    #[serde(default)]
    pub budgets: IndexMap<String, f64>,
    /// Default regression limit (percentage points of overhead growth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression_pct: Option<f64>,
    pub ebpf_tools: IndexMap<String, ToolRaw>,
    /// Cases that implement the same thing, shown side by side in reports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comparisons: Vec<ComparisonRaw>,
}

/// `comparisons:` entry: two or more cases, `case_N` or `tool_id::case_N`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonRaw {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub cases: Vec<String>,
}

/// A tool in either of the seeds' shapes; `validate` turns it into one shape.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ToolRaw {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    // nested shape
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub testcase_source: Option<TestcaseSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_associations: Option<TestAssociations>,
    // flat shape
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub testcase_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_ids: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicable_environments: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_test_types: Option<Vec<String>>,
    // program shape
    /// Directory of the tool on the hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The program file in `path` (`.bt` runs with bpftrace, `.py` with python3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<ToolParameters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_scope: Option<TestScope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases: Option<Vec<InlineCase>>,
    #[serde(default)]
    pub resource_monitoring: ResourceMonitoring,
    /// This tool's budgets; they override the file's defaults by name.
    #[serde(default)]
    pub budgets: IndexMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

// ----------------------------------------------------------------- case file

/// The case file: a JSON list of cases, or `{"test_cases": [...]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CaseFile {
    List(Vec<EbpfCase>),
    Wrapped { test_cases: Vec<EbpfCase> },
}

impl CaseFile {
    pub fn into_cases(self) -> Vec<EbpfCase> {
        match self {
            CaseFile::List(v) | CaseFile::Wrapped { test_cases: v } => v,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EbpfCase {
    pub id: u32,
    pub name: String,
    pub command: String,
    /// Seconds the program is expected to run at most.
    pub duration: u32,
    #[serde(default)]
    pub target: Target,
    #[serde(default)]
    pub parameters: IndexMap<String, Scalar>,
    /// The tool loads no BPF program of its own (a user-space tool): do not
    /// wait for one, and do not fail the case when none appears.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_no_bpf: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    #[default]
    Server,
    Client,
    Both,
}

// --------------------------------------------------------------- hooks.yaml

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HooksFile {
    #[serde(default)]
    pub hooks: Hooks,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    #[serde(default)]
    pub global: LayerHooks,
    #[serde(default)]
    pub tool: LayerHooks,
    #[serde(default)]
    pub case: LayerHooks,
    #[serde(default)]
    pub test: LayerHooks,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LayerHooks {
    #[serde(default)]
    pub setup: Vec<HookTask>,
    #[serde(default)]
    pub teardown: Vec<HookTask>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HookTask {
    pub name: String,
    #[serde(default)]
    pub on: HookTarget,
    pub run: String,
    /// `condition` is the seeds' name for it.
    #[serde(default, alias = "condition")]
    pub when: When,
    /// Seconds; default 60. Not for background tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    #[serde(default)]
    pub ignore_errors: bool,
    /// A remote file (relative paths are under the layer's result
    /// directory) that gets the task's stdout and stderr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Started after the layer's setup and stopped by PID before its
    /// teardown (setup tasks only).
    #[serde(default)]
    pub background: bool,
}

impl HookTask {
    /// Does the task need the case's eBPF program (`{ebpf_pid}`, `{ebpf_command}`)?
    pub fn uses_ebpf(&self) -> bool {
        let uses = |t: &str| {
            crate::template::placeholders(t)
                .iter()
                .any(|n| EBPF_HOOK_PLACEHOLDERS.contains(n))
        };
        uses(&self.run) || self.output.as_deref().is_some_and(uses)
    }
}

/// Hook placeholders that only an eBPF cycle's running program fills.
pub const EBPF_HOOK_PLACEHOLDERS: &[&str] = &["ebpf_pid", "ebpf_command"];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HookTarget {
    Server,
    Client,
    #[default]
    Both,
}

/// Which cycles a case- or test-layer task runs in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    #[default]
    Always,
    Baseline,
    Ebpf,
}
