//! The user's hooks.yaml tasks of one layer and phase: run on the server, the
//! client or both, with the layer's placeholders; every result (output, exit
//! status, duration) is kept and saved remotely as `hook_results_{ts}.json`
//! in the layer's directory, one file per layer instance holding both phases.

use super::error::StepError;
use super::trace::Trace;
use super::vars::Role;
use crate::config::{HookTarget, HookTask, When};
use crate::perf::Vars;
use crate::remote::Remote;
use serde::Serialize;
use std::time::Duration;

const DEFAULT_TIMEOUT: u32 = 60;

/// A host a layer's tasks may run on.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub role: Role,
    pub vars: Vars,
    /// The layer's directory on that host.
    pub dir: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HookResult {
    pub layer: String,
    pub phase: String,
    pub name: String,
    pub host: String,
    pub role: Role,
    pub command: String,
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub duration_s: f64,
    pub error: Option<String>,
    pub ignore_errors: bool,
}

/// The results of one layer instance, saved on each target host.
#[derive(Debug, Clone, Default)]
pub struct HookLog {
    pub file_name: String,
    pub results: Vec<HookResult>,
}

fn applies(task: &HookTask, role: Role, baseline: Option<bool>) -> bool {
    let side = match task.on {
        HookTarget::Both => true,
        HookTarget::Server => role == Role::Server,
        HookTarget::Client => role == Role::Client,
    };
    let when = match (task.when, baseline) {
        (When::Always, _) | (_, None) => true,
        (When::Baseline, Some(b)) => b,
        (When::Ebpf, Some(b)) => !b,
    };
    side && when
}

/// Runs `tasks` in order on their targets. On setup, the first failing task
/// (without `ignore_errors`) stops the layer; on teardown every task runs and
/// the first failure is returned.
#[allow(clippy::too_many_arguments)]
pub fn run(
    r: &Remote,
    trace: &mut Trace,
    log: &mut HookLog,
    layer: &str,
    phase: &str,
    tasks: &[HookTask],
    targets: &[Target],
    baseline: Option<bool>,
) -> Result<(), StepError> {
    let mut first_err = None;
    'tasks: for task in tasks {
        for t in targets.iter().filter(|t| applies(task, t.role, baseline)) {
            let step = format!("hook {layer}.{phase}.{}", task.name);
            let vars = t.vars.with("result_dir", &t.dir);
            let command = match vars.render(&task.run) {
                Ok(c) => c,
                Err(e) => {
                    first_err.get_or_insert(StepError::new(&step, e.to_string()).on(&t.host));
                    break 'tasks;
                }
            };
            let timeout = Duration::from_secs(u64::from(task.timeout.unwrap_or(DEFAULT_TIMEOUT)));
            let out = trace.exec(r, &t.host, &step, &command, timeout, None);
            let (exit_code, stdout, stderr, duration_s, error) = match &out {
                Ok(o) => (
                    Some(o.exit_code),
                    o.stdout.clone(),
                    o.stderr.clone(),
                    o.duration.as_secs_f64(),
                    None,
                ),
                Err(e) => (None, String::new(), String::new(), 0.0, Some(e.to_string())),
            };
            let failed = error.is_some() || exit_code != Some(0);
            log.results.push(HookResult {
                layer: layer.into(),
                phase: phase.into(),
                name: task.name.clone(),
                host: t.host.clone(),
                role: t.role,
                command: command.clone(),
                exit_code,
                stdout,
                stderr: stderr.clone(),
                duration_s,
                error: error.clone(),
                ignore_errors: task.ignore_errors,
            });
            if failed && !task.ignore_errors {
                let mut e = match out {
                    Err(e) => e,
                    Ok(o) => {
                        let mut e = StepError::new(&step, format!("exited with {}", o.exit_code))
                            .on(&t.host);
                        e.command = Some(command);
                        e.exit_code = Some(o.exit_code);
                        e.stderr_tail = crate::remote::tail(&stderr, 1000);
                        e
                    }
                };
                e.step = step;
                first_err.get_or_insert(e);
                if phase == "setup" {
                    break 'tasks;
                }
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Writes each target host's results to `{dir}/{file_name}` (when there are any).
pub fn save(
    r: &Remote,
    trace: &mut Trace,
    log: &HookLog,
    targets: &[Target],
) -> Result<(), StepError> {
    let mut done: Vec<&str> = Vec::new();
    for t in targets {
        if done.contains(&t.host.as_str()) {
            continue;
        }
        done.push(&t.host);
        let mine: Vec<&HookResult> = log.results.iter().filter(|h| h.host == t.host).collect();
        if mine.is_empty() {
            continue;
        }
        let json = serde_json::to_vec_pretty(&mine).unwrap_or_default();
        trace.write_file(
            r,
            &t.host,
            "save hook results",
            &format!("{}/{}", t.dir, log.file_name),
            &json,
        )?;
    }
    Ok(())
}
