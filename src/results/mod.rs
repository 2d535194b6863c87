//! The results file on the controller (docs/design.md §7): one JSON document per
//! run with a versioned schema: the session, the hosts' facts, and every
//! trial with every run's metrics, their statistics, the comparison with the
//! baseline, the verdicts, and where the raw data lies on the hosts.
//! Analysis, reports, `--baseline-from` and `--compare-to` read only this.
//! The schema is documented in `docs/results.md`.

/// A metric or budget name: short, kept inline (a file holds millions of them).
pub type Name = compact_str::CompactString;

mod block;
mod conditions;
mod file;
pub use block::{Block, Pair, Side};
pub use file::{read, temp_beside, write, write_atomic, ResultsError};
mod decision;
pub use conditions::{host_conditions, Conditions, HostConditions};
pub use decision::{Decision, Row as DecisionRow, Side as DecisionSide, Winner};

/// Puts `v` into a run's metrics as `name`, if there is a finite value.
pub fn put_finite(out: &mut BTreeMap<Name, f64>, name: &str, v: Option<f64>) {
    if let Some(v) = v.filter(|v| v.is_finite()) {
        out.insert(name.into(), v);
    }
}

use crate::domain::TestType;
use crate::stats::{Estimate, Summary, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped on any change that an older reader would misread.
pub const SCHEMA: u32 = 3;
pub const DEFAULT_PATH: &str = "target/ebpf-perf/results.json";
pub const ENV: &str = "EBPF_PERF_RESULTS";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Results {
    pub schema: u32,
    pub generator: String,
    pub session: Session,
    pub trials: Vec<TrialResult>,
    /// The decision matrix of every pair of the session's `comparisons`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<Decision>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Session {
    /// `YYYYMMDD_HHMMSS`, as in the remote `session_{ts}` directories.
    pub id: String,
    pub started: String,
    pub finished: Option<String>,
    /// Set when the run was stopped by Ctrl-C.
    #[serde(default)]
    pub interrupted: bool,
    pub config_dir: String,
    /// The filter terms and options that chose the trials.
    pub selection: Vec<String>,
    /// Host facts (kernel, CPUs, NICs, offloads, net sysctls) by host.
    #[serde(default)]
    pub hosts: BTreeMap<String, serde_json::Value>,
    /// Where the baselines came from, when not from this run.
    pub baseline_from: Option<String>,
    pub compare_to: Option<String>,
    /// Groups of cases to put side by side in reports (the tools file's
    /// `comparisons:`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comparisons: Vec<Vec<String>>,
    /// Teardowns that failed after their trials ended (scope, message, detail).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teardown_errors: Vec<TeardownError>,
    /// Set by `ebpf-perf merge`: the shards this file was merged from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<Shard>,
    /// How many comparisons the session made and how many are significant.
    pub fdr: Option<Fdr>,
    /// The same per tool: each tool is a family of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fdr_families: Vec<Fdr>,
    /// The seed of the order inside every pair (`--seed` replays it).
    pub seed: Option<u64>,
    /// Every tool episode, in order: what starting and stopping the tool
    /// cost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub episodes: Vec<Episode>,
    /// The commit of the project under test: the git repository that holds
    /// the configuration directory (`-dirty` with uncommitted changes), or
    /// `--commit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The thresholds the decisions' ratings used.
    #[serde(default)]
    pub ratings: crate::ratings::Thresholds,
}

/// One tool episode: the eBPF program started for the tool side of a pair
/// of a case, and stopped after it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// The case's cycle id.
    pub case: String,
    pub pair: u32,
    pub started: String,
    /// Seconds from spawning the program to all of it attached (none: it
    /// did not start).
    pub ready_s: Option<f64>,
    /// Seconds of the whole start, its monitor agents included.
    pub start_s: Option<f64>,
    /// Seconds of its stop.
    pub stop_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeardownError {
    pub scope: String,
    pub message: String,
    #[serde(default)]
    pub detail: String,
}

/// What became of a shard in a merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardStatus {
    /// Read and used.
    Ok,
    /// No results file.
    Missing,
    /// A results file that could not be read.
    Unreadable,
    /// Interrupted, or never finished.
    Incomplete,
}

impl ShardStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShardStatus::Ok => "ok",
            ShardStatus::Missing => "missing",
            ShardStatus::Unreadable => "unreadable",
            ShardStatus::Incomplete => "incomplete",
        }
    }
}

impl std::fmt::Display for ShardStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One shard of a merged file, and what became of it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shard {
    /// The directory (or file) it was read from.
    pub source: String,
    pub session: Option<String>,
    pub status: ShardStatus,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub problem: String,
    /// Trials it contributed (duplicates of other shards' not counted).
    pub trials: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
        }
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialResult {
    pub name: String,
    pub cycle: String,
    pub env: String,
    pub test_type: TestType,
    pub variant: String,
    pub tool_id: Option<String>,
    pub case_id: Option<u32>,
    pub case_name: Option<String>,
    /// Aggregate rate cap of the variant in bits/s (target bandwidth × streams).
    pub rate_cap_bps: Option<f64>,
    /// Failed when the run failed (`error`) or a verdict failed it
    /// (`analysis.failures`).
    pub status: Status,
    /// Why the run itself failed: the step's error.
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error_detail: String,
    pub duration_s: f64,
    /// Why the trial stopped adding pairs, and how precise it was then.
    pub stop: Option<crate::precision::Stop>,
    /// Every block, in time order (see [`Block`]): an eBPF trial's pairs,
    /// a baseline's blocks of every pair it served.
    #[serde(default)]
    pub blocks: Vec<Block>,
    /// Schema 1's trial-level runs, warm-ups and directories: read into the
    /// first block, never written.
    #[serde(default, rename = "runs", skip_serializing)]
    legacy_runs: Vec<Run>,
    #[serde(default, rename = "warmups", skip_serializing)]
    legacy_warmups: Vec<Run>,
    #[serde(default, rename = "remote", skip_serializing)]
    legacy_remote: Vec<String>,
    /// A baseline the selection (or this shard) did not hold, run only so
    /// that its eBPF trials have something to be compared with.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compared_only: bool,
    /// What the trial was measured under (duration, commands, bandwidth,
    /// streams, hosts' kernel and NIC), for pairing across files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Conditions>,
    /// Filled by analysis.
    #[serde(default)]
    pub analysis: Analysis,
}

impl TrialResult {
    /// A passed trial with no runs yet, of no tool.
    pub fn new(
        name: impl Into<String>,
        cycle: impl Into<String>,
        env: impl Into<String>,
        test_type: TestType,
        variant: impl Into<String>,
    ) -> TrialResult {
        TrialResult {
            name: name.into(),
            cycle: cycle.into(),
            env: env.into(),
            test_type,
            variant: variant.into(),
            tool_id: None,
            case_id: None,
            case_name: None,
            rate_cap_bps: None,
            status: Status::Passed,
            error: None,
            error_detail: String::new(),
            duration_s: 0.0,
            stop: None,
            blocks: vec![],
            legacy_runs: vec![],
            legacy_warmups: vec![],
            legacy_remote: vec![],
            compared_only: false,
            conditions: None,
            analysis: Analysis::default(),
        }
    }

    pub fn is_baseline(&self) -> bool {
        self.case_id.is_none()
    }

    /// Did every run succeed (whatever the verdicts say)?
    pub fn ran(&self) -> bool {
        self.error.is_none() && self.runs().next().is_some()
    }

    /// The key that pairs an eBPF trial with its baseline.
    pub fn pair_key(&self) -> (String, TestType, String) {
        (self.env.clone(), self.test_type, self.variant.clone())
    }

    /// Every run's value of a metric.
    pub fn values(&self, metric: &str) -> Vec<f64> {
        self.runs()
            .filter_map(|r| r.metrics.get(metric).copied())
            .collect()
    }

    /// `host:path` of every block directory of its own side.
    pub fn remote(&self) -> Vec<&str> {
        self.own_blocks()
            .flat_map(|b| b.remote.iter().map(String::as_str))
            .collect()
    }
}

/// One measured run of a trial.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Run {
    pub start: String,
    pub end: String,
    /// Flat metric name -> value (see `docs/results.md` for the names).
    pub metrics: BTreeMap<Name, f64>,
    /// The tool's samples during the run, per host (for leak fits and charts).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tool_series: BTreeMap<String, Series>,
    /// `host:path` of this run's directory on each host.
    pub dirs: Vec<String>,
    /// The quiet-host check before the run, per host (when it is on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quiet: Vec<Quiet>,
    /// Where the test's processes ran: per role (`server`, `client`), per
    /// CPU, the samples that found one there (field 39 of /proc/PID/stat).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub placement: BTreeMap<String, BTreeMap<u32, u32>>,
}

impl Run {
    /// The CPU a role's processes were found on most, if sampled.
    pub fn modal_cpu(&self, role: &str) -> Option<u32> {
        self.placement
            .get(role)?
            .iter()
            .max_by_key(|(cpu, n)| (**n, std::cmp::Reverse(**cpu)))
            .map(|(cpu, _)| *cpu)
    }
}

/// A host's CPU before a run: busy outside our own processes (percent of
/// all its CPUs over a short sample; none when it could not be read), how
/// long the run waited for it, and whether it was below the limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quiet {
    pub host: String,
    pub busy_pct: Option<f64>,
    pub waited_s: f64,
    pub quiet: bool,
}

/// Samples of the tool's monitor, one per second: epoch seconds and values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub t: Vec<f64>,
    pub cpu_pct: Vec<Option<f64>>,
    pub rss_kb: Vec<Option<f64>>,
    pub log_bytes: Vec<Option<f64>>,
    pub bpf_run_cnt: Vec<Option<f64>>,
    pub bpf_run_time_ns: Vec<Option<f64>>,
    /// The BPF program types the tool held, by bpftool's names ([`crate::compat`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prog_types: Vec<String>,
}

/// What analysis concluded about a trial.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Analysis {
    pub stats: BTreeMap<Name, Summary>,
    /// Metrics whose CV is above the limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub noisy: Vec<Name>,
    pub comparison: Option<Comparison>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<BudgetVerdict>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regressions: Vec<Regression>,
    pub leak: Option<Leak>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The verdicts that fail the trial (budgets exceeded, regressions; with
    /// `--strict` also inconclusive ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

/// An eBPF trial against its baseline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// The baseline trial's name, and where it came from (`this run` or a file).
    pub baseline: String,
    pub baseline_source: String,
    /// Per metric: eBPF minus baseline.
    pub metrics: BTreeMap<Name, MetricComparison>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricComparison {
    /// Complete pairs compared (schema 1: none, two independent samples).
    #[serde(default)]
    pub pairs: usize,
    /// Means over those pairs' blocks.
    pub baseline_mean: f64,
    pub ebpf_mean: f64,
    /// eBPF minus baseline, in the metric's unit.
    pub abs: Estimate,
    /// The same in percent of the baseline mean (`None` for a zero baseline).
    pub rel_pct: Option<Estimate>,
    /// Two-sided p-value: the one-sample t test over the pairs (see
    /// [`crate::stats::paired`]; schema 1: Welch's t test).
    pub p: Option<f64>,
    /// The exact sign-flip p of the same mean over the pairs: no normality
    /// assumed, none below 2/2^pairs; a check on `p`, not the label.
    #[serde(default)]
    pub p_exact: Option<f64>,
    /// The normal score of the pairs' t statistic (N(0,1) when nothing
    /// differs), for A/A checks.
    pub z: Option<f64>,
    /// Benjamini–Hochberg q-value within its tool's comparisons of the
    /// session (see [`Fdr`]); `significant` is `q <= level`.
    pub q: Option<f64>,
    #[serde(default)]
    pub significant: bool,
    /// The same family's q-value of `p_exact`. A significant comparison
    /// whose `q_exact` is above the level rests on the t test's reading of
    /// a few pairs' shape; the coin alone does not carry it
    /// (docs/experiment.md, "Two q-values").
    #[serde(default)]
    pub q_exact: Option<f64>,
}

impl MetricComparison {
    /// Significant by the t test, but not by the exact p's q-value.
    pub fn rests_on_shape(&self) -> bool {
        self.significant && self.q_exact.is_none_or(|q| q > FDR_LEVEL)
    }
}

/// The false discovery rate the session's "significant" labels are held to.
pub const FDR_LEVEL: f64 = 0.05;

/// The session's many comparisons, and the false discovery rate their
/// "significant" labels are held to (Benjamini–Hochberg): one family per
/// tool, so that an expensive tool's true discoveries do not loosen the
/// threshold of a cheap one; the session's `fdr` adds them up.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fdr {
    /// The tool id of the family (absent in the session's sum).
    pub tool: Option<String>,
    /// Comparisons with a p-value (eBPF trial × compared metric).
    pub comparisons: usize,
    /// Of those, labelled significant (q ≤ level).
    pub significant: usize,
    /// Of the significant, those whose exact sign-flip p's q-value is also
    /// at most the level: the discoveries that assume nothing but the coin.
    #[serde(default)]
    pub significant_exact: usize,
    pub level: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BudgetVerdict {
    pub name: Name,
    pub limit: f64,
    /// The measured quantity the budget bounds, with its interval.
    pub measured: Estimate,
    pub verdict: Verdict,
}

/// Has the overhead grown since an earlier session?
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Regression {
    pub metric: Name,
    /// The cost (loss or increase, percent of the baseline) then and now.
    pub then_pct: f64,
    pub now_pct: f64,
    /// now - then in percentage points, with its interval.
    pub growth_pts: Estimate,
    pub limit_pts: f64,
    pub verdict: Verdict,
    pub since: String,
}

/// RSS growth of the tool over its case (the leak check).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Leak {
    pub host: String,
    pub kb_per_min: Estimate,
    pub samples: usize,
    pub minutes: f64,
}

impl Results {
    pub fn new(session: Session) -> Results {
        Results {
            schema: SCHEMA,
            generator: format!("ebpf-perf {}", env!("CARGO_PKG_VERSION")),
            session,
            trials: Vec::new(),
            decisions: Vec::new(),
        }
    }

    pub fn trial(&self, name: &str) -> Option<&TrialResult> {
        self.trials.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests;
