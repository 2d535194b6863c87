//! The case scope's built-in step: the eBPF program, started detached on
//! its target host(s), confirmed to have loaded its BPF programs and to stay
//! alive for a settle time; then its own PIDs under the recording wrapper.

use super::error::StepError;
use super::hooks::{self};
use super::trace::Trace;
use super::vars::{self, Role};
use super::{Active, Program, Runner, Undo};
use crate::config::{HookTask, Target as CaseTarget};
use crate::host::remote::SHORT;
use crate::naming;
use crate::shell::steps;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long an eBPF program may take to load its BPF programs.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(20);
/// How long it must then stay alive before tests begin.
pub const SETTLE: Duration = Duration::from_millis(300);
/// What /proc/PID/fd shows for a loaded BPF program.
const BPF_PROG_FD: &str = "anon_inode:bpf-prog";

pub fn setup(
    r: &mut Runner,
    a: &mut Active,
    trace: &mut Trace,
    cycle: usize,
    ts: &str,
) -> Result<(), StepError> {
    let c = r.matrix.cycles[cycle].clone();
    for t in &a.hook_targets {
        trace.check(
            &r.remote,
            &t.host,
            "create case directory",
            &steps::mkdir_p(&[&t.dir]),
            SHORT,
        )?;
    }
    let Some(cc) = &c.case else {
        // A baseline measured while an eBPF program of ours still runs would
        // carry its cost.
        for role in [Role::Server, Role::Client] {
            let host = vars::host_of(&r.cfg, &c.env, role);
            let workdir = r.cfg.ssh_hosts[&host].workdir.clone();
            let left = super::leftovers::running(&r.remote, trace, &host, &workdir, true)?;
            if let Some((file, p)) = left.first() {
                return Err(StepError::new(
                    "check for eBPF programs",
                    format!(
                        "an eBPF program of ours still runs (PID {}, {file}); refusing to measure a baseline \
                         beside it; `ebpf-perf hosts clean` stops it",
                        p.pid
                    ),
                )
                .on(&host));
            }
        }
        // The hosts are monitored all the same.
        return super::monitoring::start(r, a, trace, &c, ts, &[]);
    };
    let roles: &[Role] = match cc.case.target {
        CaseTarget::Server => &[Role::Server],
        CaseTarget::Client => &[Role::Client],
        CaseTarget::Both => &[Role::Server, Role::Client],
    };
    let monitored = r
        .cfg
        .tools
        .get(&cc.tool_id)
        .is_some_and(|t| t.monitoring.enabled);
    let mut watched = Vec::new();
    for &role in roles {
        let host = vars::host_of(&r.cfg, &c.env, role);
        if monitored && r.fixtures.agents.contains_key(&host) {
            super::monitoring::enable_bpf_stats(r, a, trace, &host)?;
        }
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
        let stderr_file = format!("{mon}/tool_error_{ts}.log");
        let stdout_file = format!("{mon}/tool_output_{ts}.log");
        let cpus = r
            .cfg
            .environments
            .get(&c.env)
            .and_then(|e| e.cpus.tool.as_deref());
        let record = trace.spawn(
            &r.remote,
            &host,
            "start eBPF program",
            &crate::shell::steps::pinned(&command, cpus),
            (
                &format!("{mon}/tool_output_{ts}.log"),
                &stderr_file,
                &format!("{mon}/ebpf_pid_{ts}.txt"),
            ),
        )?;
        a.undo.push(Undo::Stop {
            host: host.clone(),
            what: format!("eBPF program of case {}", cc.case.id),
            record: record.clone(),
        });
        // The command as it ran, next to its output.
        trace.write_file(
            &r.remote,
            &host,
            "record eBPF command",
            &format!("{mon}/ebpf_command_{ts}.txt"),
            format!("{command}\n").as_bytes(),
        )?;
        watched.push((host.clone(), record.clone(), stdout_file.clone()));
        r.fixtures.programs.push(Program {
            host,
            record,
            stdout_file,
            stderr_file,
            command,
            pid: None,
        });
    }
    // Ready once its BPF programs are loaded (an fd of the process group links
    // to a bpf-prog); then it must stay alive for the settle time.
    // A tool that loads none says so (`allow_no_bpf`); otherwise measuring
    // without its program would report a baseline as the tool's cost.
    for p in r
        .fixtures
        .programs
        .clone()
        .iter()
        .filter(|_| !cc.case.allow_no_bpf)
    {
        let state = r
            .remote
            .wait_fd(&p.host, &p.record, BPF_PROG_FD, LOAD_TIMEOUT)
            .map_err(|e| StepError::remote("wait for eBPF program", &e))?;
        if state == "timeout" {
            return Err(StepError::new(
                "wait for eBPF program",
                format!(
                    "case {} loaded no BPF program within {}s (no bpf-prog fd in its process group); \
                     check that it attaches, or set \"allow_no_bpf\": true on the case if the tool loads none",
                    cc.case.id,
                    LOAD_TIMEOUT.as_secs()
                ),
            )
            .on(&p.host));
        }
    }
    let until = Instant::now() + SETTLE;
    while Instant::now() < until && !r.cancel.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
    r.check_programs()?;
    // Only hooks ask for the command's own PID.
    let h = &r.cfg.hooks;
    if [&h.case, &h.test]
        .iter()
        .any(|l| l.setup.iter().chain(&l.teardown).any(HookTask::uses_ebpf))
    {
        command_pids(r, trace)?;
    }
    hooks::with_programs(&mut a.hook_targets, &r.fixtures.programs);
    super::monitoring::start(r, a, trace, &c, ts, &watched)
}

/// Finds each program's own process under its recording wrapper: the
/// wrapper's child, and below it while that is a shell (`sh -c`) with one
/// child (a shell that did not exec its command).
fn command_pids(r: &mut Runner, trace: &mut Trace) -> Result<(), StepError> {
    for p in &mut r.fixtures.programs {
        let pid = p.record.pid;
        let out = trace.check(
            &r.remote,
            &p.host,
            "find eBPF program's PID",
            &format!(
                "kids() {{ cat /proc/$1/task/$1/children 2>/dev/null; }}\n\
                 set -- $(kids {pid}); c=$1\n\
                 while [ -n \"$c\" ] && [ \"$(cat /proc/$c/comm 2>/dev/null)\" = sh ]; do\n\
                 set -- $(kids $c); [ $# -eq 1 ] || break; c=$1; done\n\
                 echo \"$c\""
            ),
            SHORT,
        )?;
        p.pid = out
            .stdout
            .split_whitespace()
            .next()
            .and_then(|w| w.parse().ok());
    }
    Ok(())
}
