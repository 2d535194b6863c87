//! The case scope's built-in step: its directories, BPF run-time
//! statistics on the hosts its program runs on, and one monitor agent per
//! host for the whole case. The program itself runs per tool episode (see
//! [`super::episode`]). A baseline measured alone first checks that no
//! eBPF program of ours still runs, since it would carry its cost.

use super::error::StepError;
use super::trace::Trace;
use super::vars::{self, Role};
use super::{Active, Program, Runner};
use crate::config::Target as CaseTarget;
use crate::host::remote::SHORT;
use crate::shell::steps;

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
        return super::monitoring::start(r, a, trace, &c, ts);
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
    for &role in roles {
        let host = vars::host_of(&r.cfg, &c.env, role);
        if monitored && r.fixtures.agents.contains_key(&host) {
            super::monitoring::enable_bpf_stats(r, a, trace, &host)?;
        }
    }
    super::monitoring::start(r, a, trace, &c, ts)
}

/// Finds each program's own process under its recording wrapper: the
/// wrapper's child, and below it while that is a shell (`sh -c`) with one
/// child (a shell that did not exec its command).
pub(super) fn command_pids(r: &mut Runner, trace: &mut Trace) -> Result<(), StepError> {
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

/// The tail of a program's stderr (for an error that says how it ended).
pub(super) fn stderr_tail(r: &Runner, trace: &mut Trace, p: &Program) -> String {
    let script = steps::status_and_stderr(&p.record.status_file, &p.stderr_file, 2000);
    trace
        .exec(
            &r.remote,
            &p.host,
            "eBPF program exited",
            &script,
            SHORT,
            None,
        )
        .map(|o| {
            o.stdout
                .split_once('\n')
                .map_or("", |x| x.1)
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}
