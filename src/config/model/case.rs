//! A tool's case file: the eBPF cases, each a command with parameters.

use super::Scalar;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

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
    /// Seconds the program may take to attach its BPF programs; default
    /// `DEFAULT_ATTACH_TIMEOUT_S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_timeout_s: Option<u32>,
    /// Runs only with the tests of this protocol (seed 002's
    /// TestCaseGenerator pairs a tool's protocol with the test's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<crate::domain::Protocol>,
}

/// How long a case's program may take to attach, unless it says.
pub const DEFAULT_ATTACH_TIMEOUT_S: u32 = 20;

impl EbpfCase {
    /// How long its program may take to attach its BPF programs.
    pub fn attach_timeout(&self) -> std::time::Duration {
        let s = self.attach_timeout_s.unwrap_or(DEFAULT_ATTACH_TIMEOUT_S);
        std::time::Duration::from_secs(u64::from(s))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    #[default]
    Server,
    Client,
    Both,
}
