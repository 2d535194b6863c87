//! `hooks.yaml`: tasks per fixture layer (setup, teardown, background).

use serde::{Deserialize, Serialize};

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

#[serde_with::skip_serializing_none]
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
    pub timeout: Option<u32>,
    #[serde(default)]
    pub ignore_errors: bool,
    /// A remote file (relative paths are under the layer's result
    /// directory) that gets the task's stdout and stderr.
    pub output: Option<String>,
    /// Started after the layer's setup and stopped by PID before its
    /// teardown (setup tasks only).
    #[serde(default)]
    pub background: bool,
    /// The shell that runs `run`: `sh` (the default) or `bash`, for
    /// commands that use bash's features (brace expansion, `[[ ]]`).
    #[serde(default, skip_serializing_if = "Shell::is_sh")]
    pub shell: Shell,
}

/// The shell a hook task's command runs in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    #[default]
    Sh,
    Bash,
}

impl Shell {
    fn is_sh(&self) -> bool {
        *self == Shell::Sh
    }

    /// The program a host needs for it, beyond `sh`.
    pub fn program(self) -> Option<&'static str> {
        (self == Shell::Bash).then_some("bash")
    }
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
