//! A trial's `metadata_{ts}.json` on its hosts: what was measured (the test
//! case), how it went (execution), where (hosts), every remote command, and
//! each run. Typed, so that the file's shape is written down here; fields
//! are in the order the file has always had (alphabetical).

use super::error::{Cause, StepError};
use super::monitoring::Costs;
use super::trace::CommandRecord;
use crate::config::Scalar;
use crate::perf::Metrics;
use indexmap::IndexMap;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct TrialMetadata {
    pub commands: Vec<CommandRecord>,
    pub execution: Execution,
    pub hosts: Hosts,
    pub runs: Vec<RunMetadata>,
    pub test_case: TestCase,
}

#[derive(Debug, Serialize)]
pub struct TestCase {
    pub case_id: Option<u32>,
    pub case_name: Option<String>,
    pub cycle: String,
    pub duration_s: u32,
    pub environment: String,
    pub parameters: Option<IndexMap<String, Scalar>>,
    pub protocol: &'static str,
    pub repeats: u32,
    pub streams: u32,
    pub target_bw: Option<String>,
    pub test_type: &'static str,
    pub tool_id: Option<String>,
    pub trial: String,
    pub variant: String,
    pub warmup: u32,
}

/// How a trial or a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecStatus {
    Success,
    Timeout,
    Failed,
}

impl ExecStatus {
    pub fn of(error: Option<&StepError>) -> ExecStatus {
        match error {
            None => ExecStatus::Success,
            Some(e) if e.cause == Cause::Timeout => ExecStatus::Timeout,
            Some(_) => ExecStatus::Failed,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Execution {
    pub duration_s: f64,
    pub end: String,
    pub error: Option<String>,
    pub start: String,
    pub status: ExecStatus,
}

#[derive(Debug, Serialize)]
pub struct Hosts {
    pub client: HostEntry,
    pub server: HostEntry,
}

#[derive(Debug, Serialize)]
pub struct HostEntry {
    pub interface: Option<String>,
    pub name: String,
    pub result_dir: String,
    pub test_ip: Option<String>,
}

/// One run (`warmup_K` or `run_K`).
#[derive(Debug, Serialize)]
pub struct RunMetadata {
    pub end: String,
    pub error: Option<String>,
    pub monitoring: Option<Costs>,
    pub results: Option<Metrics>,
    pub run: String,
    pub start: String,
    /// `success` or `failed`: a run's own error is never a timeout verdict.
    pub status: &'static str,
}

/// `session_metadata_{ts}.json` on each host, written at global setup.
/// `facts` stays free-form: kernels, NICs and sysctls differ per host.
#[derive(Debug, Serialize)]
pub struct SessionMetadata<'a> {
    pub commands: &'a [CommandRecord],
    pub config_dir: String,
    pub environments: &'a [String],
    pub facts: &'a serde_json::Value,
    pub generator: String,
    pub host: &'a str,
    pub selected_trials: usize,
    pub session: &'a str,
}

/// `summary_{ts}.json` on each host, written at global teardown.
#[derive(Debug, Serialize)]
pub struct SessionSummary<'a> {
    pub bytes: u64,
    pub files: u64,
    pub host: &'a str,
    pub session: &'a str,
    pub trial_directories: &'a [String],
    pub trials: TrialCounts,
}

#[derive(Debug, Serialize)]
pub struct TrialCounts {
    pub failed: usize,
    pub passed: usize,
    pub total: usize,
}
