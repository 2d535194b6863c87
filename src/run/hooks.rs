//! The user's hooks.yaml tasks of one layer and phase: run on the server, the
//! client or both, with the layer's placeholders; every result (output, exit
//! status, duration) is kept and saved remotely as `hook_results_{ts}.json`
//! in the layer's directory, one file per layer instance holding both phases.
//!
//! Background tasks (`background: true`) are started detached, like every
//! process of ours (pid file, exit file), once the layer's setup is done, and
//! stopped by PID before its teardown; their PID and how they ended are in
//! the hook results. A task's `output` file gets its stdout and stderr: a
//! foreground task's is written as `.part` and renamed when it ends, a
//! background task's is written as it runs.

use super::error::StepError;
use super::trace::Trace;
use super::vars::Role;
use super::Program;
use crate::config::{HookTarget, HookTask, When};
use crate::host::remote::Remote;
use crate::naming;
use crate::perf::Vars;
use crate::shell::process::{ProcessRecord, Stopped};
use crate::shell::steps;
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
    /// Where `output` put stdout and stderr (a background task's log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_file: Option<String>,
    /// A background task's PID (its recording wrapper's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// How a background task ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Why the task did not run on this host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// A background task that was started.
#[derive(Debug, Clone)]
pub struct Background {
    pub host: String,
    pub name: String,
    pub ignore_errors: bool,
    pub record: ProcessRecord,
    /// Its stdout and stderr.
    pub output: String,
}

/// `{ebpf_pid}` and `{ebpf_command}` on the targets that run one of `programs`.
pub(super) fn with_programs(targets: &mut [Target], programs: &[Program]) {
    for t in targets {
        if let Some(p) = programs.iter().find(|p| p.host == t.host) {
            t.vars.set("ebpf_command", &p.command);
            if let Some(pid) = p.pid {
                t.vars.set("ebpf_pid", pid.to_string());
            }
        }
    }
}

/// The placeholders of a task on `t`: the target's, with `{result_dir}` and
/// its seeds' name `{result_path}` the layer's directory (where its hook
/// results are saved; a trial's `monitoring/`).
fn task_vars(t: &Target) -> Vars {
    let mut v = t.vars.clone();
    v.set("result_dir", &t.dir).set("result_path", &t.dir);
    v
}

/// The command `task` runs, with the placeholders of `vars`, in its shell.
fn command(task: &HookTask, vars: &Vars) -> Result<String, crate::template::Unknown> {
    vars.render(&task.run)
        .map(|c| steps::in_shell(task.shell.program(), &c))
}

/// Why `task` cannot run on `t`, if it cannot.
fn skip_reason(task: &HookTask, t: &Target) -> Option<String> {
    (task.uses_ebpf() && t.vars.get("ebpf_pid").is_none())
        .then(|| format!("no eBPF program of this case runs on {}", t.host))
}

/// A result entry before it ran.
fn entry(layer: &str, phase: &str, task: &HookTask, t: &Target, command: &str) -> HookResult {
    HookResult {
        layer: layer.into(),
        phase: phase.into(),
        name: task.name.clone(),
        host: t.host.clone(),
        role: t.role,
        command: command.into(),
        exit_code: None,
        stdout: String::new(),
        stderr: String::new(),
        duration_s: 0.0,
        error: None,
        ignore_errors: task.ignore_errors,
        output_file: None,
        pid: None,
        stopped: None,
        skipped: None,
    }
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
    'tasks: for task in tasks.iter().filter(|t| !t.background) {
        for t in targets.iter().filter(|t| applies(task, t.role, baseline)) {
            let step = format!("hook {layer}.{phase}.{}", task.name);
            if let Some(why) = skip_reason(task, t) {
                let mut e = entry(layer, phase, task, t, &task.run);
                e.skipped = Some(why);
                log.results.push(e);
                continue;
            }
            let vars = task_vars(t);
            let rendered = command(task, &vars).and_then(|c| match &task.output {
                Some(o) => vars
                    .fill(o)
                    .map(|o| (c, Some(naming::hook_output_path(&t.dir, &o)))),
                None => Ok((c, None)),
            });
            let (command, output_file) = match rendered {
                Ok(c) => c,
                Err(e) => {
                    first_err.get_or_insert(StepError::new(&step, e.to_string()).on(&t.host));
                    break 'tasks;
                }
            };
            let script = match &output_file {
                Some(f) => steps::to_output(&command, f),
                None => command.clone(),
            };
            let timeout = Duration::from_secs(u64::from(task.timeout.unwrap_or(DEFAULT_TIMEOUT)));
            let out = trace.exec(r, &t.host, &step, &script, timeout, None);
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
                exit_code,
                stdout,
                stderr: stderr.clone(),
                duration_s,
                error: error.clone(),
                output_file,
                ..entry(layer, phase, task, t, &command)
            });
            if failed && !task.ignore_errors {
                let mut e = match out {
                    Err(e) => e,
                    Ok(o) => {
                        let mut e = StepError::exited(
                            &step,
                            format!("exited with {}", o.exit_code),
                            Some(o.exit_code),
                        )
                        .on(&t.host);
                        e.command = Some(command);
                        e.stderr_tail = crate::host::remote::tail(&stderr, 1000);
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

/// Starts the layer's background tasks on their targets, each detached with
/// its pid file; those started are added to `started` (also when a later one
/// fails, so that they are stopped all the same).
#[allow(clippy::too_many_arguments)]
pub fn start_background(
    r: &Remote,
    trace: &mut Trace,
    log: &mut HookLog,
    layer: &str,
    tasks: &[HookTask],
    targets: &[Target],
    baseline: Option<bool>,
    ts: &str,
    started: &mut Vec<Background>,
) -> Result<(), StepError> {
    for task in tasks.iter().filter(|t| t.background) {
        for t in targets.iter().filter(|t| applies(task, t.role, baseline)) {
            let step = format!("hook {layer}.background.{}", task.name);
            if let Some(why) = skip_reason(task, t) {
                let mut e = entry(layer, "background", task, t, &task.run);
                e.skipped = Some(why);
                log.results.push(e);
                continue;
            }
            let vars = task_vars(t);
            let fail =
                |e: crate::template::Unknown| StepError::new(&step, e.to_string()).on(&t.host);
            let command = command(task, &vars).map_err(fail)?;
            let base = naming::hook_process_base(&t.dir, &task.name, ts);
            let out = match &task.output {
                Some(o) => naming::hook_output_path(&t.dir, &vars.fill(o).map_err(fail)?),
                None => format!("{base}.log"),
            };
            let record = trace.spawn(
                r,
                &t.host,
                &step,
                &command,
                (&out, &out, &format!("{base}.pid")),
            )?;
            let mut e = entry(layer, "background", task, t, &command);
            e.pid = Some(record.pid);
            e.output_file = Some(out.clone());
            log.results.push(e);
            started.push(Background {
                host: t.host.clone(),
                name: task.name.clone(),
                ignore_errors: task.ignore_errors,
                record,
                output: out,
            });
        }
    }
    Ok(())
}

/// Stops background tasks by PID (TERM, KILL after 5 s) and records how each
/// ended. One that had already exited with a failure fails the layer's
/// teardown, unless it ignores errors.
pub fn stop_background(
    r: &Remote,
    trace: &mut Trace,
    log: &mut HookLog,
    started: &[Background],
) -> Result<(), StepError> {
    let mut first_err = None;
    for b in started.iter().rev() {
        let step = format!("stop background hook {}", b.name);
        let res = trace.stop(r, &b.host, &step, &b.record, Duration::from_secs(5));
        let (stopped, failure) = match &res {
            Ok(Stopped::AlreadyExited { status }) => (
                format!("had exited (status {})", show(*status)),
                *status != Some(0),
            ),
            Ok(Stopped::Terminated { status }) => {
                (format!("terminated (status {})", show(*status)), false)
            }
            Ok(Stopped::Killed) => ("killed after ignoring TERM for 5 s".to_string(), false),
            Ok(Stopped::NotOurs { detail }) => (format!("not stopped: {detail}"), false),
            Err(e) => (format!("not stopped: {e}"), true),
        };
        let status = match &res {
            Ok(Stopped::AlreadyExited { status } | Stopped::Terminated { status }) => *status,
            _ => None,
        };
        if let Some(e) = log
            .results
            .iter_mut()
            .find(|e| e.phase == "background" && e.host == b.host && e.pid == Some(b.record.pid))
        {
            e.stopped = Some(stopped.clone());
            e.exit_code = status;
        }
        if failure && !b.ignore_errors {
            let e = match res {
                Err(e) => e,
                Ok(_) => {
                    let mut e = StepError::new(
                        &step,
                        format!("the background task {stopped} before it was stopped"),
                    )
                    .on(&b.host);
                    e.command = log
                        .results
                        .iter()
                        .find(|e| e.pid == Some(b.record.pid))
                        .map(|e| e.command.clone());
                    // Its output says why; a failure to read it is no news.
                    if let Ok(o) = trace.exec(
                        r,
                        &b.host,
                        "read background hook output",
                        &steps::tail_bytes(&b.output, 1000),
                        crate::host::remote::SHORT,
                        None,
                    ) {
                        e.stderr_tail = o.stdout.trim().to_string();
                    }
                    e
                }
            };
            first_err.get_or_insert(e);
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn show(status: Option<i32>) -> String {
    status.map_or_else(|| "unknown".to_string(), |s| s.to_string())
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
