//! Processes on a host through [`Remote`]: started detached, waited for,
//! stopped by PID (see [`crate::shell::process`]), and the stops that could
//! not reach their host, kept to be done once it is back.

use super::{locked, tail, CmdOutput, Remote, RemoteError, SHORT};
use crate::shell::process::{self, ProcessRecord, Stopped};
use std::time::Duration;

/// A command to start detached, with its output files and pid file.
#[derive(Debug, Clone, Copy)]
pub struct Spawn<'a> {
    pub command: &'a str,
    pub stdout: &'a str,
    pub stderr: &'a str,
    pub pid_file: &'a str,
}

/// One output of a batch, parsed; a protocol error saying `what` when it is
/// missing or says something else.
/// Stops sent in one round trip by [`Remote::stop_many`].
const STOPS_A_TRIP: usize = 8;

fn parsed<T>(
    host: &str,
    output: Option<&&str>,
    parse: impl FnOnce(&str) -> Option<T>,
    what: impl FnOnce() -> String,
) -> Result<T, RemoteError> {
    output
        .and_then(|o| parse(o))
        .ok_or_else(|| RemoteError::Protocol {
            host: host.to_string(),
            what: what(),
        })
}

impl Remote {
    /// Starts `command` detached (see [`crate::shell::process`]).
    pub fn spawn(
        &self,
        name: &str,
        command: &str,
        stdout: &str,
        stderr: &str,
        pid_file: &str,
    ) -> Result<ProcessRecord, RemoteError> {
        let mut v = self.spawn_many(
            name,
            &[Spawn {
                command,
                stdout,
                stderr,
                pid_file,
            }],
        )?;
        Ok(v.remove(0))
    }

    /// Starts several commands detached in one round trip.
    pub fn spawn_many(
        &self,
        name: &str,
        specs: &[Spawn<'_>],
    ) -> Result<Vec<ProcessRecord>, RemoteError> {
        let (recs, out) = self.spawn_batch(name, specs, None, SHORT)?;
        out.checked(name, "(start)")?;
        Ok(recs)
    }

    /// Starts several commands detached, then runs `then` (which may read
    /// their pid files), in one round trip. The records come back whatever
    /// `then` did, so that what started can be stopped; the output is
    /// `then`'s, with its exit status.
    pub fn spawn_many_then(
        &self,
        name: &str,
        specs: &[Spawn<'_>],
        then: &str,
        timeout: Duration,
    ) -> Result<(Vec<ProcessRecord>, CmdOutput), RemoteError> {
        self.spawn_batch(name, specs, Some(then), timeout)
    }

    fn spawn_batch(
        &self,
        name: &str,
        specs: &[Spawn<'_>],
        then: Option<&str>,
        timeout: Duration,
    ) -> Result<(Vec<ProcessRecord>, CmdOutput), RemoteError> {
        let scripts: Vec<String> = specs
            .iter()
            .map(|s| process::start_script(s.command, s.stdout, s.stderr, s.pid_file))
            .collect();
        let command = process::batch_then(&scripts, then);
        let out = self.exec(name, &command, SHORT + timeout)?;
        if process::split_outputs(&out.stdout).len() <= specs.len() {
            // A start failed, and `then` did not run.
            out.clone().checked(name, &command)?;
        }
        let outputs = process::split_outputs(&out.stdout);
        let said = tail(&out.stdout, 200);
        let parse = |(i, s): (usize, &Spawn<'_>)| {
            let what = || format!("starting `{}` printed no PID: {said}", s.command);
            parsed(
                name,
                outputs.get(i),
                |o| process::parse_started(o, s.pid_file),
                what,
            )
        };
        let recs = specs
            .iter()
            .enumerate()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        let then_out = CmdOutput {
            stdout: outputs.get(specs.len()).unwrap_or(&"").to_string(),
            ..out
        };
        Ok((recs, then_out))
    }

    /// Stops a process started by [`Remote::spawn`], by its recorded PID.
    pub fn stop(
        &self,
        name: &str,
        p: &ProcessRecord,
        grace: Duration,
    ) -> Result<Stopped, RemoteError> {
        let mut v = self.stop_many(name, std::slice::from_ref(p), grace)?;
        Ok(v.remove(0))
    }

    /// Stops several recorded processes in one round trip, all at once.
    /// When the host cannot be reached they become pending (see
    /// [`Remote::stop_pending`]).
    pub fn stop_many(
        &self,
        name: &str,
        ps: &[ProcessRecord],
        grace: Duration,
    ) -> Result<Vec<Stopped>, RemoteError> {
        // An SSH exec request carries at most about 40 kB (libssh2's packet
        // payload), and each stop's script is a few: many processes (a run
        // killed hard leaves dozens) are stopped in several round trips.
        let mut stopped = Vec::with_capacity(ps.len());
        for chunk in ps.chunks(STOPS_A_TRIP) {
            let (s, out) = self.stop_batch_run(name, chunk, grace, None, SHORT)?;
            out.checked(name, "(stop)")?;
            stopped.extend(s);
        }
        Ok(stopped)
    }

    /// Like [`Remote::stop_many`] (for the few processes of one run: one
    /// round trip), with `then` run alongside the stops in
    /// the same round trip (see [`process::stop_batch_with`]); a failed stop
    /// is the error. The output is `then`'s, with its status.
    pub fn stop_many_with(
        &self,
        name: &str,
        ps: &[ProcessRecord],
        grace: Duration,
        then: &str,
        timeout: Duration,
    ) -> Result<(Vec<Stopped>, CmdOutput), RemoteError> {
        self.stop_batch_run(name, ps, grace, Some(then), timeout)
    }

    fn stop_batch_run(
        &self,
        name: &str,
        ps: &[ProcessRecord],
        grace: Duration,
        then: Option<&str>,
        timeout: Duration,
    ) -> Result<(Vec<Stopped>, CmdOutput), RemoteError> {
        let command = process::stop_batch_with(ps, grace, then);
        let out = match self
            .exec(name, &command, grace + SHORT + timeout)
            .and_then(|o| match process::split_with(&o.stdout) {
                Some(_) => Ok(o),
                None => o.checked(name, &command),
            }) {
            Ok(o) => o,
            Err(e) => {
                if e.is_unreachable() {
                    let mut pending = locked(&self.pending);
                    let list = pending.entry(name.to_string()).or_default();
                    list.extend(
                        ps.iter()
                            .filter(|p| !list.contains(p))
                            .cloned()
                            .collect::<Vec<_>>(),
                    );
                }
                return Err(e);
            }
        };
        let Some((stops, then_stdout)) = process::split_with(&out.stdout) else {
            return Err(RemoteError::Protocol {
                host: name.to_string(),
                what: format!("stopping printed no end mark: {}", tail(&out.stdout, 200)),
            });
        };
        let outputs = process::split_stops(stops, ps.len());
        let said = tail(stops, 200);
        let parse = |(i, p): (usize, &ProcessRecord)| {
            let what = || format!("stopping PID {}: unexpected output {said:?}", p.pid);
            parsed(
                name,
                outputs.get(i).map(String::as_str).as_ref(),
                process::parse_stopped,
                what,
            )
        };
        let stopped = ps.iter().enumerate().map(parse).collect::<Result<_, _>>()?;
        let then_out = CmdOutput {
            stdout: then_stdout.to_string(),
            ..out
        };
        Ok((stopped, then_out))
    }

    /// Waits until a process of `p`'s group holds an fd linking to `fd_link`.
    pub fn wait_fd(
        &self,
        name: &str,
        p: &ProcessRecord,
        fd_link: &str,
        max: Duration,
    ) -> Result<String, RemoteError> {
        let out = self.check(name, &process::wait_fd_script(p, fd_link, max), max + SHORT)?;
        Ok(out.stdout.trim().to_string())
    }

    pub fn is_alive(&self, name: &str, p: &ProcessRecord) -> Result<bool, RemoteError> {
        let out = self.check(name, &process::alive_script(p), SHORT)?;
        Ok(out.stdout.trim() == "alive")
    }

    /// Processes whose stop could not reach `name`, not yet stopped.
    pub fn pending(&self, name: &str) -> Vec<ProcessRecord> {
        locked(&self.pending).get(name).cloned().unwrap_or_default()
    }

    /// Hosts with pending stops.
    pub fn pending_hosts(&self) -> Vec<String> {
        locked(&self.pending).keys().cloned().collect()
    }

    /// Does the pending stops of `name` (see [`Remote::stop_many`]); they stay
    /// pending when the host still cannot be reached.
    pub fn stop_pending(
        &self,
        name: &str,
        grace: Duration,
    ) -> Result<Vec<(ProcessRecord, Stopped)>, RemoteError> {
        let ps = locked(&self.pending).remove(name).unwrap_or_default();
        if ps.is_empty() {
            return Ok(Vec::new());
        }
        let stopped = self.stop_many(name, &ps, grace)?;
        Ok(ps.into_iter().zip(stopped).collect())
    }
}
