//! The commands a trial (or a scope) ran, with their outcome: every remote
//! call of the run stage goes through here so that metadata lists them all.

use super::error::StepError;
use crate::host::remote::{CmdOutput, Remote, Spawn, SHORT};
use crate::shell::process::{ProcessRecord, Stopped};
use serde::Serialize;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize)]
pub struct CommandRecord {
    pub host: String,
    pub step: String,
    pub command: String,
    pub started: String,
    pub duration_s: f64,
    pub exit_code: Option<i32>,
}

#[derive(Debug, Default)]
pub struct Trace {
    pub commands: Vec<CommandRecord>,
}

impl Trace {
    fn record(&mut self, host: &str, step: &str, command: &str, start: Instant, exit: Option<i32>) {
        self.commands.push(CommandRecord {
            host: host.to_string(),
            step: step.to_string(),
            command: command.to_string(),
            started: crate::naming::log_timestamp(chrono::Utc::now() - start.elapsed()),
            duration_s: start.elapsed().as_secs_f64(),
            exit_code: exit,
        });
    }

    /// Runs a command; a non-zero exit is returned, not an error.
    pub fn exec(
        &mut self,
        r: &Remote,
        host: &str,
        step: &str,
        command: &str,
        timeout: Duration,
        cancel: Option<&AtomicBool>,
    ) -> Result<CmdOutput, StepError> {
        let start = Instant::now();
        let out = match cancel {
            Some(c) => r.exec_cancellable(host, command, timeout, c),
            None => r.exec(host, command, timeout),
        };
        self.record(
            host,
            step,
            command,
            start,
            out.as_ref().ok().map(|o| o.exit_code),
        );
        out.map_err(|e| StepError::remote(step, &e).on(host))
    }

    /// Runs a command that must exit 0.
    pub fn check(
        &mut self,
        r: &Remote,
        host: &str,
        step: &str,
        command: &str,
        timeout: Duration,
    ) -> Result<CmdOutput, StepError> {
        self.exec(r, host, step, command, timeout, None)?
            .checked(host, command)
            .map_err(|e| StepError::remote(step, &e))
    }

    /// Writes a remote file atomically.
    pub fn write_file(
        &mut self,
        r: &Remote,
        host: &str,
        step: &str,
        path: &str,
        data: &[u8],
    ) -> Result<(), StepError> {
        let start = Instant::now();
        let res = r.write_file(host, path, data);
        self.record(
            host,
            step,
            &format!("write {path} ({} bytes)", data.len()),
            start,
            Some(i32::from(res.is_err())),
        );
        res.map_err(|e| StepError::remote(step, &e).on(host))
    }

    pub fn spawn(
        &mut self,
        r: &Remote,
        host: &str,
        step: &str,
        command: &str,
        files: (&str, &str, &str),
    ) -> Result<ProcessRecord, StepError> {
        let spec = Spawn {
            command,
            stdout: files.0,
            stderr: files.1,
            pid_file: files.2,
        };
        Ok(self.spawn_many(r, host, step, &[spec])?.remove(0))
    }

    /// Starts several commands detached in one round trip.
    pub fn spawn_many(
        &mut self,
        r: &Remote,
        host: &str,
        step: &str,
        specs: &[Spawn<'_>],
    ) -> Result<Vec<ProcessRecord>, StepError> {
        let start = Instant::now();
        let recs = r.spawn_many(host, specs);
        for s in specs {
            self.record(host, step, s.command, start, recs.as_ref().ok().map(|_| 0));
        }
        recs.map_err(|e| StepError::remote(step, &e).on(host))
    }

    /// Starts several commands detached, then runs `then` (for at most
    /// `timeout` beyond the starts), in one round trip (see
    /// [`Remote::spawn_many_then`]); `then` is recorded as `steps.1`.
    pub fn spawn_many_then(
        &mut self,
        r: &Remote,
        host: &str,
        steps: (&str, &str),
        specs: &[Spawn<'_>],
        then: &str,
        timeout: Duration,
    ) -> Result<(Vec<ProcessRecord>, CmdOutput), StepError> {
        let start = Instant::now();
        let res = r.spawn_many_then(host, specs, then, timeout);
        for s in specs {
            self.record(
                host,
                steps.0,
                s.command,
                start,
                res.as_ref().ok().map(|_| 0),
            );
        }
        let code = res.as_ref().ok().map(|(_, o)| o.exit_code);
        self.record(host, steps.1, then, start, code);
        res.map_err(|e| StepError::remote(steps.0, &e).on(host))
    }

    pub fn stop(
        &mut self,
        r: &Remote,
        host: &str,
        step: &str,
        p: &ProcessRecord,
        grace: Duration,
    ) -> Result<Stopped, StepError> {
        Ok(self
            .stop_many(r, host, step, std::slice::from_ref(p), grace)?
            .remove(0))
    }

    /// Stops several recorded processes of one host in one round trip.
    pub fn stop_many(
        &mut self,
        r: &Remote,
        host: &str,
        step: &str,
        ps: &[ProcessRecord],
        grace: Duration,
    ) -> Result<Vec<Stopped>, StepError> {
        let start = Instant::now();
        let s = r.stop_many(host, ps, grace);
        for p in ps {
            let what = format!("stop PID {} (TERM, KILL after {grace:?})", p.pid);
            self.record(host, step, &what, start, None);
        }
        s.map_err(|e| StepError::remote(step, &e).on(host))
    }

    /// Stops several recorded processes of one host with `then` run
    /// alongside, in one round trip (see [`Remote::stop_many_with`]); `then`
    /// is recorded as `steps.1`.
    pub fn stop_many_with(
        &mut self,
        r: &Remote,
        host: &str,
        steps: (&str, &str),
        ps: &[ProcessRecord],
        grace: Duration,
        then: &str,
    ) -> Result<(Vec<Stopped>, CmdOutput), StepError> {
        let start = Instant::now();
        let res = r.stop_many_with(host, ps, grace, then, SHORT);
        for p in ps {
            let what = format!("stop PID {} (TERM, KILL after {grace:?})", p.pid);
            self.record(host, steps.0, &what, start, None);
        }
        let code = res.as_ref().ok().map(|(_, o)| o.exit_code);
        self.record(host, steps.1, then, start, code);
        res.map_err(|e| StepError::remote(steps.0, &e).on(host))
    }
}

/// Runs `f` once per distinct host, concurrently (each host has its own
/// session); their commands join `trace` in host order.
pub(super) fn per_host<T: Send>(
    r: &super::Runner,
    trace: &mut Trace,
    hosts: &[&str],
    f: impl Fn(&super::Runner, &str, &mut Trace) -> T + Sync,
) -> Vec<T> {
    let mut distinct: Vec<&str> = Vec::new();
    for h in hosts {
        if !distinct.contains(h) {
            distinct.push(h);
        }
    }
    let results: Vec<(T, Trace)> = std::thread::scope(|s| {
        let handles: Vec<_> = distinct
            .iter()
            .map(|h| {
                let f = &f;
                s.spawn(move || {
                    let mut t = Trace::default();
                    let v = f(r, h, &mut t);
                    (v, t)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a per-host step panicked"))
            .collect()
    });
    results
        .into_iter()
        .map(|(v, t)| {
            trace.commands.extend(t.commands);
            v
        })
        .collect()
}
