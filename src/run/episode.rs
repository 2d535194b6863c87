//! A tool episode (docs/design.md §5, §7): the case's eBPF program started
//! for the tool side of one pair, which measures one block of every active
//! trial of the case, and stopped after it. The rest of the case (its
//! hooks, the hosts' monitor agents) stays up across episodes.
//!
//! Start: the program is spawned detached on each of its hosts and, in the
//! same round trip, waited for until its BPF programs are attached (a
//! `bpf_link` or `perf_event` fd of its process group next to a loaded
//! `bpf-prog`), never for a fixed time; its command is written next to its
//! logs. Then one monitor agent per host watches it for the episode. A
//! tool that loads no BPF (`allow_no_bpf`) is ready once it runs.
//!
//! Stop: the agents and the program are stopped by PID, one round trip per
//! host; a program that had already exited fails the case.

use super::error::StepError;
use super::fixtures::ScopeKey;
use super::hooks;
use super::trace::Trace;
use super::vars::{self, Role};
use super::{Program, Runner, Undo};
use crate::config::{HookTask, Target as CaseTarget};
use crate::host::remote::Spawn;
use crate::naming;
use crate::shell::process::{self, Stopped};
use std::time::{Duration, Instant};

/// How long a program has to end on TERM before KILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What an episode's start cost, for the results and the bench.
#[derive(Debug, Clone, Copy, Default)]
pub struct Started {
    /// From the first spawn to every program attached.
    pub ready_s: f64,
    /// The whole start, agents included.
    pub total_s: f64,
}

/// Starts the case's eBPF program(s): the episode of pair `pair`. On
/// error, what did start is in the case scope's undo steps, so that leaving
/// the case stops it. Its files are named `{name}_{ts}_p{pair}`: two
/// episodes can start within one second.
pub fn start(r: &mut Runner, trace: &mut Trace, pair: u32) -> Result<Started, StepError> {
    let began = Instant::now();
    let Some(cycle) = r.fixtures.case else {
        return Err(StepError::new("start eBPF program", "no case is entered"));
    };
    let c = r.matrix.cycles[cycle].clone();
    let Some(cc) = c.case.clone() else {
        return Err(StepError::new(
            "start eBPF program",
            "a baseline has no program",
        ));
    };
    let ts = format!("{}_p{pair:02}", naming::name_timestamp(chrono::Utc::now()));
    let roles: &[Role] = match cc.case.target {
        CaseTarget::Server => &[Role::Server],
        CaseTarget::Client => &[Role::Client],
        CaseTarget::Both => &[Role::Server, Role::Client],
    };
    let mut ready_s = 0.0f64;
    for &role in roles {
        let host = vars::host_of(&r.cfg, &c.env, role);
        let case_dir = format!(
            "{}/{}",
            naming::results_root(&r.cfg.ssh_hosts[&host].workdir),
            c.root
        );
        let mon = format!("{case_dir}/ebpf_monitoring");
        let mut v = vars::env(&r.cfg, &c.env, role);
        v.set("tool_id", &cc.tool_id)
            .set("case_id", cc.case.id.to_string())
            .set("duration", cc.case.duration.to_string())
            .set("result_dir", &case_dir);
        for (k, val) in &cc.case.parameters {
            v.set(k, val.text());
        }
        let command = v
            .render(&cc.case.command)
            .map_err(|e| StepError::new("start eBPF program", e.to_string()).on(&host))?;
        let cpus = r
            .cfg
            .environments
            .get(&c.env)
            .and_then(|e| e.cpus.tool.as_deref());
        let pinned = crate::shell::steps::pinned(&command, cpus);
        let (stdout_file, stderr_file, pid_file) = (
            format!("{mon}/tool_output_{ts}.log"),
            format!("{mon}/tool_error_{ts}.log"),
            format!("{mon}/ebpf_pid_{ts}.txt"),
        );
        // Ready once attached (the agent asks the kernel; a host without
        // it: loaded), and its command beside its logs, in the round trip
        // that starts it.
        let how = match (cc.case.allow_no_bpf, r.fixtures.agents.get(&host)) {
            (true, _) => process::Ready::Running,
            (false, Some(agent)) => process::Ready::Attached { agent },
            (false, None) => process::Ready::Loaded,
        };
        let load_timeout = cc.case.attach_timeout();
        let then = format!(
            "{}\n{}",
            crate::shell::steps::write_text(&format!("{mon}/ebpf_command_{ts}.txt"), &command),
            process::wait_ready_script(&pid_file, how, load_timeout)
        );
        let t0 = Instant::now();
        let (mut recs, out) = trace.spawn_many_then(
            &r.remote,
            &host,
            ("start eBPF program", "wait until attached"),
            &[Spawn {
                command: &pinned,
                stdout: &stdout_file,
                stderr: &stderr_file,
                pid_file: &pid_file,
            }],
            &then,
            load_timeout,
        )?;
        let record = recs.remove(0);
        r.case_undo(Undo::Stop {
            host: host.clone(),
            what: format!("eBPF program of case {}", cc.case.id),
            record: record.clone(),
        });
        r.fixtures.programs.push(Program {
            host: host.clone(),
            record,
            stdout_file,
            stderr_file,
            command,
            pid: None,
        });
        let state = out.stdout.lines().last().unwrap_or("").trim().to_string();
        ready_s = ready_s.max(t0.elapsed().as_secs_f64());
        match state.as_str() {
            "ready" => {}
            "timeout" => {
                return Err(StepError::new(
                    "wait for eBPF program",
                    format!(
                        "case {} attached no BPF program within {}s (no bpf_link, and no perf event with a program set on it, in its process tree); \
                         check that it attaches, raise the case's \"attach_timeout_s\" if it needs longer, or set \"allow_no_bpf\": true if the tool loads none",
                        cc.case.id,
                        load_timeout.as_secs()
                    ),
                )
                .on(&host))
            }
            // "exited" and anything else: check_programs says how it ended.
            _ => r.check_programs()?,
        }
    }
    r.check_programs()?;
    // Only hooks ask for the command's own PID.
    let h = &r.cfg.hooks;
    if [&h.case, &h.test]
        .iter()
        .any(|l| l.setup.iter().chain(&l.teardown).any(HookTask::uses_ebpf))
    {
        super::case::command_pids(r, trace)?;
    }
    start_watchers(r, trace, &ts)?;
    super::monitoring::start_tool(r, trace, &c, &ts)?;
    Ok(Started {
        ready_s,
        total_s: began.elapsed().as_secs_f64(),
    })
}

/// Stops the episode: its agents and programs, by PID, one round trip per
/// host. `Err` when a program had exited before (the case fails with its
/// status), or a stop failed.
pub fn stop(r: &mut Runner, trace: &mut Trace) -> Result<(), StepError> {
    let watched = stop_watchers(r, trace);
    let programs = std::mem::take(&mut r.fixtures.programs);
    let agents = r.fixtures.take_tool_agents();
    let mut hosts: Vec<String> = programs.iter().map(|p| p.host.clone()).collect();
    hosts.dedup();
    let mut error = None;
    for host in hosts {
        let mut recs: Vec<_> = agents
            .iter()
            .filter(|(h, _)| *h == host)
            .map(|(_, rec)| rec.clone())
            .collect();
        let first_program = recs.len();
        recs.extend(
            programs
                .iter()
                .filter(|p| p.host == host)
                .map(|p| p.record.clone()),
        );
        let stopped = trace.stop_many(&r.remote, &host, "stop eBPF program", &recs, STOP_GRACE);
        for rec in &recs {
            r.case_undo_done(rec);
        }
        match stopped {
            Err(e) => {
                error.get_or_insert(e);
            }
            Ok(s) => {
                let died = s[first_program..]
                    .iter()
                    .zip(programs.iter().filter(|p| p.host == host))
                    .find(|(s, _)| matches!(s, Stopped::AlreadyExited { .. }));
                if let Some((Stopped::AlreadyExited { status }, p)) = died {
                    let mut e = StepError::exited(
                        "eBPF program",
                        format!(
                            "the eBPF program (PID {}) exited during its episode with status {}",
                            p.record.pid,
                            status.map_or("unknown".to_string(), |s| s.to_string())
                        ),
                        *status,
                    )
                    .on(&host);
                    e.stderr_tail = super::case::stderr_tail(r, trace, p);
                    error.get_or_insert(e);
                }
            }
        }
    }
    match error {
        Some(e) => Err(e),
        None => watched,
    }
}

/// The case's background tasks that watch its program (`{ebpf_pid}`,
/// `{ebpf_command}`): started with each episode, `{timestamp}` the
/// episode's stamp, and stopped before it ends.
fn start_watchers(r: &mut Runner, trace: &mut Trace, ts: &str) -> Result<(), StepError> {
    let tasks: Vec<HookTask> = (r.cfg.hooks.case.setup.iter())
        .filter(|t| t.background && t.uses_ebpf())
        .cloned()
        .collect();
    let Some(a) = (r.fixtures.active.iter_mut()).find(|a| matches!(a.key, ScopeKey::Case { .. }))
    else {
        return Ok(());
    };
    if tasks.is_empty() {
        return Ok(());
    }
    let mut targets = a.hook_targets.clone();
    hooks::with_programs(&mut targets, &r.fixtures.programs);
    for t in &mut targets {
        t.vars.set("timestamp", ts);
    }
    let mut started = Vec::new();
    let res = hooks::start_background(
        &r.remote,
        trace,
        &mut a.hooks,
        "case",
        &tasks,
        &targets,
        Some(false),
        ts,
        &mut started,
    );
    let saved = hooks::save(&r.remote, trace, &a.hooks, &a.hook_targets);
    if !started.is_empty() {
        a.undo.push(Undo::StopBackground(started.clone()));
        r.fixtures.watchers = started;
    }
    res.and(saved)
}

/// Stops the episode's watching tasks by PID, before its program.
fn stop_watchers(r: &mut Runner, trace: &mut Trace) -> Result<(), StepError> {
    let started = std::mem::take(&mut r.fixtures.watchers);
    let Some(a) = (r.fixtures.active.iter_mut()).find(|a| matches!(a.key, ScopeKey::Case { .. }))
    else {
        return Ok(());
    };
    if started.is_empty() {
        return Ok(());
    }
    let same = |b: &[hooks::Background]| {
        b.iter()
            .map(|x| &x.record)
            .eq(started.iter().map(|x| &x.record))
    };
    a.undo
        .retain(|u| !matches!(u, Undo::StopBackground(b) if same(b)));
    let res = hooks::stop_background(&r.remote, trace, &mut a.hooks, &started);
    let saved = hooks::save(&r.remote, trace, &a.hooks, &a.hook_targets);
    res.and(saved)
}
