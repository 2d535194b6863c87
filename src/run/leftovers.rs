//! What earlier runs left on a host: the lease of the run that holds it, and
//! the processes of a run that was killed hard (SIGKILL, a rebooted
//! controller, a cancelled CI job), which keep running and would
//! contaminate the next baseline.
//!
//! A run takes a lease in the host's own directory at global setup and
//! gives it back at global teardown. The lease names the controller (host
//! name and boot id) and the harness process (PID and start time). When the
//! next run finds a lease:
//! - whose owner is gone (same controller, that process no longer runs):
//!   the earlier run died. Every process it recorded (pid files under the
//!   results root without an exit status) that still runs is stopped by PID,
//!   with the start-time and command-line checks of every stop, and named;
//! - whose owner runs, or that another controller holds (which cannot be
//!   checked from here): the host is in use, and the run fails at once
//!   saying by whom. `ebpf-perf hosts clean --force` takes over a lease of a
//!   controller that is known to be gone.

use super::error::StepError;
use super::trace::Trace;
use crate::naming;
use crate::process::{self, ProcessRecord, Stopped};
use crate::remote::{Remote, SHORT};
use crate::template::quote;
use std::time::Duration;

/// Who holds a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub session: String,
    pub controller: String,
    pub boot: String,
    pub pid: u32,
    pub start: u64,
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Start time (clock ticks after boot) of a local process.
fn start_of(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    crate::monitor::agent::stat_fields_of(&stat)?
        .get(19)?
        .parse()
        .ok()
}

impl Owner {
    /// This harness process.
    pub fn me(session: &str) -> Owner {
        Owner {
            session: session.to_string(),
            controller: read_trim("/proc/sys/kernel/hostname"),
            boot: read_trim("/proc/sys/kernel/random/boot_id"),
            pid: std::process::id(),
            start: start_of("self").unwrap_or(0),
        }
    }

    pub fn text(&self) -> String {
        format!(
            "session={} controller={} boot={} pid={} start={}\n",
            self.session, self.controller, self.boot, self.pid, self.start
        )
    }

    pub fn parse(text: &str) -> Option<Owner> {
        let get = |k: &str| {
            text.split_whitespace()
                .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
        };
        Some(Owner {
            session: get("session")?.to_string(),
            controller: get("controller")?.to_string(),
            boot: get("boot")?.to_string(),
            pid: get("pid")?.parse().ok()?,
            start: get("start")?.parse().ok()?,
        })
    }

    /// Does the owner still run? `None`: it cannot be told from here (the
    /// lease was taken from another controller, or before a reboot).
    pub fn running(&self) -> Option<bool> {
        let here = Owner::me("");
        if self.boot != here.boot || self.controller != here.controller {
            return None;
        }
        Some(start_of(&self.pid.to_string()) == Some(self.start))
    }

    fn describe(&self) -> String {
        format!(
            "session {} (PID {} on {})",
            self.session, self.pid, self.controller
        )
    }
}

/// Lists recorded processes under `root` that have no exit status and still
/// run: `left PIDFILE PID STARTTIME` lines.
fn list_script(root: &str, only_ebpf: bool) -> String {
    let names = if only_ebpf {
        "-name 'ebpf_pid_*.txt'"
    } else {
        "\\( -name '*.pid' -o -name 'ebpf_pid_*.txt' \\)"
    };
    format!(
        "{}\nfind {} -type f {names} 2>/dev/null | while IFS= read -r f; do\n\
         [ -f \"$f.exit\" ] && continue\n\
         read -r p t _ < \"$f\" 2>/dev/null || continue\n\
         alive \"$p\" \"$t\" && echo \"left $f $p $t\"\n\
         done; true\n",
        process::ALIVE_FN,
        quote(root)
    )
}

/// Recorded processes of ours that still run on `host`.
pub fn running(
    remote: &Remote,
    trace: &mut Trace,
    host: &str,
    workdir: &str,
    only_ebpf: bool,
) -> Result<Vec<(String, ProcessRecord)>, StepError> {
    let root = naming::results_root(workdir);
    let out = trace.check(
        remote,
        host,
        "look for processes of earlier runs",
        &list_script(&root, only_ebpf),
        SHORT,
    )?;
    Ok(out
        .stdout
        .lines()
        .filter_map(|l| {
            let mut it = l.strip_prefix("left ")?.rsplitn(3, ' ');
            let start_time = it.next()?.parse().ok()?;
            let pid = it.next()?.parse().ok()?;
            let file = it.next()?.to_string();
            Some((
                file.clone(),
                ProcessRecord {
                    pid,
                    start_time,
                    status_file: process::status_file(&file),
                },
            ))
        })
        .collect())
}

/// Stops what earlier runs left running on `host`; says what it stopped.
pub fn stop_left(
    remote: &Remote,
    trace: &mut Trace,
    host: &str,
    workdir: &str,
) -> Result<Vec<String>, StepError> {
    let left = running(remote, trace, host, workdir, false)?;
    if left.is_empty() {
        return Ok(vec![]);
    }
    let recs: Vec<ProcessRecord> = left.iter().map(|(_, p)| p.clone()).collect();
    let stopped = trace.stop_many(
        remote,
        host,
        "stop processes of earlier runs",
        &recs,
        Duration::from_secs(3),
    )?;
    Ok(left
        .iter()
        .zip(stopped)
        .filter_map(|((file, p), s)| {
            let how = match s {
                Stopped::Terminated { .. } => "stopped",
                Stopped::Killed => "killed",
                Stopped::AlreadyExited { .. } | Stopped::NotOurs { .. } => return None,
            };
            Some(format!(
                "{how} PID {} left running by an earlier run ({file})",
                p.pid
            ))
        })
        .collect())
}

/// Takes the lease on `host` for `me`, first clearing what a dead earlier
/// run left (see the module doc). `force` takes over a lease whose owner
/// cannot be checked from here. Returns what it stopped.
pub fn take(
    remote: &Remote,
    trace: &mut Trace,
    host: &str,
    workdir: &str,
    me: &Owner,
    force: bool,
) -> Result<Vec<String>, StepError> {
    let lease = naming::lease_path(workdir);
    let held = trace.check(
        remote,
        host,
        "read lease",
        &format!("cat {} 2>/dev/null; true", quote(&lease)),
        SHORT,
    )?;
    let mut notes = Vec::new();
    if let Some(owner) = Owner::parse(&held.stdout).filter(|o| o != me) {
        match owner.running() {
            Some(false) => notes.push(format!("the lease of {} was stale", owner.describe())),
            None if force => notes.push(format!("took over the lease of {}", owner.describe())),
            state => {
                return Err(StepError::new(
                    "take lease",
                    format!(
                        "{host} is in use by {}{}; wait for it to end, or, if that run is known to be gone, \
                         run `ebpf-perf hosts clean --force` ({lease})",
                        owner.describe(),
                        if state.is_none() { ", which this machine cannot check" } else { "" },
                    ),
                )
                .on(host));
            }
        }
    }
    notes.extend(stop_left(remote, trace, host, workdir)?);
    trace.write_file(remote, host, "take lease", &lease, me.text().as_bytes())?;
    Ok(notes)
}

/// Gives the lease back, if it is still `me`'s.
pub fn release(
    remote: &Remote,
    trace: &mut Trace,
    host: &str,
    workdir: &str,
    me: &Owner,
) -> Result<(), StepError> {
    let lease = quote(&naming::lease_path(workdir)).into_owned();
    let mine = quote(me.text().trim()).into_owned();
    trace.check(
        remote,
        host,
        "release lease",
        &format!("[ \"$(cat {lease} 2>/dev/null)\" = {mine} ] && rm -f {lease}; true"),
        SHORT,
    )?;
    Ok(())
}

/// `ebpf-perf hosts clean`: on every host of the configuration, stops what
/// earlier runs left running, honouring leases as a run does (`force` takes
/// over leases that cannot be checked). Per host: what was stopped.
pub fn clean_hosts(
    cfg: &crate::config::Config,
    force: bool,
) -> Vec<(String, Result<Vec<String>, StepError>)> {
    let remote = Remote::new(cfg);
    let me = Owner::me(&format!(
        "clean-{}",
        naming::name_timestamp(chrono::Utc::now())
    ));
    cfg.ssh_hosts
        .iter()
        .map(|(h, spec)| {
            let mut trace = Trace::default();
            let res = take(&remote, &mut trace, h, &spec.workdir, &me, force).and_then(|notes| {
                release(&remote, &mut trace, h, &spec.workdir, &me)?;
                Ok(notes)
            });
            (h.clone(), res)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_round_trips_and_this_process_runs() {
        let me = Owner::me("20261122_000000");
        assert_eq!(Owner::parse(&me.text()), Some(me.clone()));
        assert_eq!(me.running(), Some(true));
        let gone = Owner {
            start: me.start + 1,
            ..me.clone()
        };
        assert_eq!(gone.running(), Some(false));
        let elsewhere = Owner {
            boot: "another-boot".into(),
            ..me
        };
        assert_eq!(elsewhere.running(), None);
        assert_eq!(Owner::parse("garbage"), None);
    }
}
