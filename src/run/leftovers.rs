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
use crate::host::proc;
use crate::host::remote::{Remote, SHORT};
use crate::naming;
use crate::shell::process::{self, ProcessRecord, Stopped};
use crate::shell::steps;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

impl Owner {
    /// This harness process.
    pub fn me(session: &str) -> Owner {
        Owner {
            session: session.to_string(),
            controller: read_trim("/proc/sys/kernel/hostname"),
            boot: read_trim("/proc/sys/kernel/random/boot_id"),
            pid: std::process::id(),
            start: proc::start_time("self").unwrap_or(0),
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
        Some(proc::start_time(&self.pid.to_string()) == Some(self.start))
    }

    /// For people; the words come from a host's lease file, so what a
    /// terminal would obey is shown instead.
    fn describe(&self) -> String {
        let v = crate::untrusted::visible;
        format!(
            "session {} (PID {} on {})",
            v(&self.session),
            self.pid,
            v(&self.controller)
        )
    }
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
    let script = steps::list_left(&root, only_ebpf);
    let out = trace.check(
        remote,
        host,
        "look for processes of earlier runs",
        &script,
        SHORT,
    )?;
    Ok(out
        .stdout
        .lines()
        .filter_map(|l| {
            let mut it = l.strip_prefix("left ")?.rsplitn(4, ' ');
            let boot = it
                .next()
                .filter(|b| *b != "-")
                .unwrap_or_default()
                .to_string();
            let start_time = it.next()?.parse().ok()?;
            let pid = it.next()?.parse().ok()?;
            let file = it.next()?.to_string();
            Some((
                file.clone(),
                ProcessRecord {
                    pid,
                    start_time,
                    status_file: process::status_file(&file),
                    boot,
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

/// How long a run waits between looks at a lease held by a live run, and
/// between its "still waiting" messages.
const LEASE_POLL: Duration = Duration::from_secs(2);
const WAIT_NOTE: Duration = Duration::from_secs(60);

/// Takes the lease on `host` for `me`, then stops what a dead earlier run
/// left (see the module doc). A lease whose owner is gone is taken over;
/// `force` also takes over one that cannot be checked from here. A lease
/// held by a live run is waited for, saying by whom, while `wait` is given
/// (until it is set: Ctrl-C), else refused at once. Returns what it did.
pub fn take(
    remote: &Remote,
    trace: &mut Trace,
    host: &str,
    workdir: &str,
    me: &Owner,
    force: bool,
    wait: Option<&AtomicBool>,
) -> Result<Vec<String>, StepError> {
    let lease = naming::lease_path(workdir);
    let mut notes = Vec::new();
    let mut waiting: Option<(Instant, Instant)> = None;
    let mut empty = 0;
    loop {
        let script = steps::lease_create(&lease, &me.text());
        let out = trace.check(remote, host, "take lease", &script, SHORT)?;
        if out.stdout.starts_with("bad") {
            return Err(StepError::new(
                "take lease",
                format!("{lease} is a directory or a symlink, not a lease file; remove it"),
            )
            .on(host));
        }
        let Some(held) = out.stdout.strip_prefix("held\n") else {
            break;
        };
        let owner = match Owner::parse(held) {
            Some(o) if &o == me => break,
            Some(o) => o,
            // Released between our two looks: try again, a moment later;
            // a lease that stays empty is no lease and is replaced below.
            None if held.trim().is_empty() && empty < 3 => {
                empty += 1;
                if wait.is_some_and(|c| c.load(Ordering::SeqCst)) {
                    return Err(StepError::interrupted("take lease").on(host));
                }
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            None => {
                notes.push(format!("replaced an unreadable lease ({lease})"));
                trace.check(
                    remote,
                    host,
                    "take lease",
                    &steps::lease_remove_if(&lease, held),
                    SHORT,
                )?;
                continue;
            }
        };
        match owner.running() {
            Some(false) => notes.push(format!("the lease of {} was stale", owner.describe())),
            None if force => notes.push(format!("took over the lease of {}", owner.describe())),
            state => {
                let unchecked = if state.is_none() {
                    ", which this machine cannot check"
                } else {
                    ""
                };
                let Some(cancel) = wait else {
                    return Err(StepError::new(
                        "take lease",
                        format!(
                            "{host} is in use by {}{unchecked}; wait for it to end, or, if that run is known to be gone, run `ebpf-perf hosts clean --force` ({lease})",
                            owner.describe(),
                        ),
                    )
                    .on(host));
                };
                let now = Instant::now();
                match &mut waiting {
                    None => {
                        eprintln!(
                            "ebpf-perf: {host} is in use by {}{unchecked}; waiting for it to end \
                             (--no-wait fails at once instead)",
                            owner.describe()
                        );
                        waiting = Some((now, now));
                    }
                    Some((since, said)) if said.elapsed() >= WAIT_NOTE => {
                        eprintln!(
                            "ebpf-perf: still waiting for {host} ({} s), held by {}",
                            since.elapsed().as_secs(),
                            owner.describe()
                        );
                        *said = now;
                    }
                    Some(_) => {}
                }
                if cancel.load(Ordering::SeqCst) {
                    return Err(StepError::new(
                        "take lease",
                        format!(
                            "interrupted while waiting for {host}, in use by {}",
                            owner.describe()
                        ),
                    )
                    .on(host));
                }
                std::thread::sleep(LEASE_POLL);
                continue;
            }
        }
        trace.check(
            remote,
            host,
            "take over lease",
            &steps::lease_remove_if(&lease, &owner.text()),
            SHORT,
        )?;
    }
    if let Some((since, _)) = waiting {
        notes.push(format!(
            "waited {} s for the run that held it",
            since.elapsed().as_secs()
        ));
    }
    notes.extend(stop_left(remote, trace, host, workdir)?);
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
    let script = steps::lease_release(&naming::lease_path(workdir), &me.text());
    trace.check(remote, host, "release lease", &script, SHORT)?;
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
            let res =
                take(&remote, &mut trace, h, &spec.workdir, &me, force, None).and_then(|notes| {
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

    // Issue 31 (4): a lease file on a host is the host's text.
    #[test]
    fn a_lease_owner_is_described_without_raw_controls() {
        let o =
            Owner::parse("session=\u{1b}]0;PWNED\u{7} controller=h\u{1b}[2J boot=b pid=1 start=2")
                .unwrap();
        let d = o.describe();
        assert!(!d.contains('\u{1b}') && !d.contains('\u{7}'), "{d:?}");
        assert!(d.contains("\\x1b]0;PWNED\\x07"), "{d}");
    }

    fn sh(script: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The scripts run here with the local `sh`, as the hosts run them.
    #[test]
    fn a_lease_is_created_once_and_removed_only_while_it_is_as_seen() {
        let dir = tempfile::tempdir().unwrap();
        let lease = dir.path().join(".ebpf-perf/lease").display().to_string();
        let a = Owner::me("20261122_000001");
        let b = Owner::me("20261122_000002");
        assert_eq!(sh(&steps::lease_create(&lease, &a.text())), "taken\n");
        assert_eq!(
            sh(&steps::lease_create(&lease, &b.text())),
            format!("held\n{}", a.text())
        );
        // Taking over b's (stale) lease must not remove a's.
        sh(&steps::lease_remove_if(&lease, &b.text()));
        assert_eq!(std::fs::read_to_string(&lease).unwrap(), a.text());
        sh(&steps::lease_remove_if(&lease, &a.text()));
        assert!(!std::path::Path::new(&lease).exists());
        assert_eq!(sh(&steps::lease_create(&lease, &b.text())), "taken\n");
        // Nothing but the lease is left in its directory.
        let names: Vec<_> = std::fs::read_dir(dir.path().join(".ebpf-perf"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["lease"]);
    }

    #[test]
    fn a_directory_at_the_lease_is_no_lease() {
        let dir = tempfile::tempdir().unwrap();
        let lease = dir.path().join("lease");
        std::fs::create_dir(&lease).unwrap();
        let me = Owner::me("20261122_000001").text();
        let path = lease.display().to_string();
        // A link into the directory would have "taken" it every time.
        assert_eq!(sh(&steps::lease_create(&path, &me)), "bad\n");
        assert_eq!(std::fs::read_dir(&lease).unwrap().count(), 0);
    }
}
