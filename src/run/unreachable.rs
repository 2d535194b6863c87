//! Hosts the run lost: a link that dropped, an sshd that died, a host that
//! rebooted. The remote layer marks such a host down (its commands then fail
//! at once, so its remaining trials do not each wait for a timeout) and keeps
//! the stops that could not reach it as pending. This module does those
//! stops once the host answers again: before every trial, and at the end of
//! the run, where it waits a bounded time (`--reconnect-wait`) for the host
//! to come back. What still runs on a host that never came back is named,
//! and that host's lease is kept so that the next run (or `ebpf-perf hosts
//! clean`) stops it.

use super::error::StepError;
use super::Runner;
use crate::shell::process::Stopped;
use std::time::Duration;

/// Grace of a pending stop (TERM, then KILL).
const GRACE: Duration = Duration::from_secs(3);

/// Does the pending stops of every host that answers again; a host that
/// still does not answer keeps them (this costs nothing while it is marked
/// down, one connection attempt when it is due for a retry).
pub fn stop_where_back(r: &Runner) {
    for h in r.remote.pending_hosts() {
        if let Ok(done) = r.remote.stop_pending(&h, GRACE) {
            say_stopped(&h, &done);
        }
    }
}

/// At the end of the run: waits up to `r.options.reconnect_wait` for each host that
/// is down or has pending stops, then stops what runs there. Returns the
/// hosts that stayed unreachable (their leases are kept) and one error per
/// such host naming what was left running.
pub fn settle(r: &Runner, leased: &[String]) -> (Vec<String>, Vec<StepError>) {
    let mut hosts = r.remote.pending_hosts();
    for h in leased {
        if r.remote.is_down(h) && !hosts.contains(h) {
            hosts.push(h.clone());
        }
    }
    let (mut lost, mut errors) = (Vec::new(), Vec::new());
    for h in hosts {
        let pending = r.remote.pending(&h);
        if !pending.is_empty() {
            eprintln!(
                "ebpf-perf: {h} is unreachable with {} process(es) of this run still running there; \
                 waiting up to {} s for it to come back (--reconnect-wait)",
                pending.len(),
                r.options.reconnect_wait.as_secs()
            );
        }
        let back = r
            .remote
            .wait_reachable(&h, r.options.reconnect_wait, &r.cancel)
            .and_then(|()| r.remote.stop_pending(&h, GRACE));
        match back {
            Ok(done) => say_stopped(&h, &done),
            Err(e) => {
                let left: Vec<String> = r
                    .remote
                    .pending(&h)
                    .iter()
                    .map(|p| format!("PID {} ({})", p.pid, pid_file_of(&p.status_file)))
                    .collect();
                let mut msg = format!(
                    "{h} stayed unreachable for {} s after the run ({e})",
                    r.options.reconnect_wait.as_secs()
                );
                if !left.is_empty() {
                    msg += &format!("; still running there: {}", left.join(", "));
                }
                msg += &format!(
                    "; its lease stays, so the next run on {h}, or `ebpf-perf hosts clean` once \
                     it is back, stops what this run left"
                );
                errors.push(StepError::new("reach host again", msg).on(&h));
                lost.push(h);
            }
        }
    }
    (lost, errors)
}

fn pid_file_of(status_file: &str) -> &str {
    status_file.strip_suffix(".exit").unwrap_or(status_file)
}

fn say_stopped(host: &str, done: &[(crate::shell::process::ProcessRecord, Stopped)]) {
    for (p, how) in done {
        eprintln!(
            "ebpf-perf: {host} is back: PID {} ({}), left running while it was unreachable: {}",
            p.pid,
            pid_file_of(&p.status_file),
            match how {
                Stopped::AlreadyExited { .. } => "had exited",
                Stopped::Terminated { .. } => "stopped",
                Stopped::Killed => "killed",
                Stopped::NotOurs { .. } => "PID reused by another process, left alone",
            }
        );
    }
}
