//! The run stage: executes selected trials one at a time in matrix order
//! inside their fixture scopes (global, tool, case, test), records outcomes,
//! tears down exactly what was set up (also after failures and on Ctrl-C),
//! and writes JUnit.

mod error;
pub mod fixtures;
mod hooks;
mod monitoring;
mod perf_test;
mod scopes;
mod trace;
mod trial;
pub mod vars;

pub use error::StepError;

use crate::config::Config;
use crate::matrix::Matrix;
use crate::naming;
use crate::process::ProcessRecord;
use crate::remote::Remote;
use crate::report::{self, Outcome, TrialRecord};
use fixtures::ScopeKey;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Exit status of a run stopped by Ctrl-C (128 + SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Something to undo when a scope is left.
enum Undo {
    /// Stop a process we started, by its recorded PID.
    Stop {
        host: String,
        what: String,
        record: ProcessRecord,
    },
    /// The user's teardown tasks of the scope's layer.
    UserTeardown,
    /// The session summary (global scope).
    Summary,
    /// Put `kernel.bpf_stats_enabled` back as it was.
    RestoreBpfStats { host: String, value: String },
}

/// An entered scope.
struct Active {
    key: ScopeKey,
    undo: Vec<Undo>,
    /// Set when its setup failed: every trial inside fails with it.
    error: Option<StepError>,
    hooks: hooks::HookLog,
    hook_targets: Vec<hooks::Target>,
}

/// The eBPF program of the current case.
#[derive(Debug, Clone)]
struct Program {
    host: String,
    record: ProcessRecord,
    stderr_file: String,
}

pub struct Runner {
    cfg: Arc<Config>,
    matrix: Arc<Matrix>,
    remote: Remote,
    last: HashMap<ScopeKey, usize>,
    envs: Vec<String>,
    active: Vec<Active>,
    session_ts: String,
    junit: PathBuf,
    pub cancel: Arc<AtomicBool>,
    records: Vec<TrialRecord>,
    teardown_errors: Vec<(String, StepError)>,
    programs: Vec<Program>,
    /// Result directories made this session, per host (for the summary).
    dirs: BTreeMap<String, Vec<String>>,
    /// The local monitor agent binary, when there is one.
    monitor_exe: Option<PathBuf>,
    /// Where the agent was deployed, per host.
    agents: BTreeMap<String, String>,
    /// The monitor agents of the current cycle.
    monitors: Vec<monitoring::Agent>,
}

impl Runner {
    pub fn new(
        cfg: Arc<Config>,
        matrix: Arc<Matrix>,
        selected: &[usize],
        junit: PathBuf,
        monitor_exe: Option<PathBuf>,
    ) -> Runner {
        Runner {
            monitor_exe,
            agents: BTreeMap::new(),
            monitors: Vec::new(),
            remote: Remote::new(&cfg),
            last: fixtures::last_trials(&matrix, selected),
            envs: fixtures::environments(&matrix, selected),
            active: Vec::new(),
            session_ts: naming::name_timestamp(chrono::Utc::now()),
            junit,
            cancel: Arc::default(),
            records: Vec::new(),
            teardown_errors: Vec::new(),
            programs: Vec::new(),
            dirs: BTreeMap::new(),
            cfg,
            matrix,
        }
    }

    fn interrupted(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// Runs trial `t` inside its scopes; the error message fails the trial.
    pub fn run_trial(&mut self, t: usize) -> Result<(), String> {
        if self.interrupted() {
            self.abort();
        }
        let start = Instant::now();
        let result = self.trial_in_scopes(t);
        let name = self.matrix.trials[t].name.clone();
        let cycle_id = self.matrix.cycle_of(&self.matrix.trials[t]).id.clone();
        let (outcome, msg) = match &result {
            Ok(system_out) => (
                Outcome::Passed {
                    system_out: system_out.clone(),
                },
                None,
            ),
            Err((e, system_out)) => (
                Outcome::Failed {
                    message: e.to_string(),
                    detail: format!("{}{}", e.detail(), system_out),
                },
                Some(e.to_string()),
            ),
        };
        self.records.push(TrialRecord {
            name,
            cycle_id,
            duration: start.elapsed(),
            outcome,
        });
        for key in fixtures::ending_after(&self.last, t) {
            self.leave(&key);
        }
        if self.interrupted() {
            self.abort();
        }
        match msg {
            None => Ok(()),
            Some(m) => Err(m),
        }
    }

    fn trial_in_scopes(&mut self, t: usize) -> Result<String, (StepError, String)> {
        for key in fixtures::scopes_of(&self.matrix, t) {
            let pos = match self.active.iter().position(|a| a.key == key) {
                Some(p) => p,
                None => {
                    let a = self.enter(key);
                    self.active.push(a);
                    self.active.len() - 1
                }
            };
            if let Some(e) = &self.active[pos].error {
                return Err((e.clone(), String::new()));
            }
        }
        self.check_programs().map_err(|e| (e, String::new()))?;
        let out = trial::run(self, t);
        if out.is_ok() {
            // The program must have lived through the whole trial.
            self.check_programs().map_err(|e| (e, String::new()))?;
        }
        out
    }

    /// Sets a scope up; a failure is kept in the scope (its teardown still runs).
    fn enter(&mut self, key: ScopeKey) -> Active {
        let mut a = Active {
            key: key.clone(),
            undo: vec![Undo::UserTeardown],
            error: None,
            hooks: hooks::HookLog::default(),
            hook_targets: Vec::new(),
        };
        tracing::info!(scope = %key.label(&self.matrix), "setup");
        if let Err(e) = scopes::setup(self, &mut a) {
            tracing::debug!(scope = %key.label(&self.matrix), error = %e, "setup failed");
            a.error = Some(e);
        }
        a
    }

    /// Tears a scope down: its undo steps in reverse order.
    fn leave(&mut self, key: &ScopeKey) {
        let Some(pos) = self.active.iter().position(|a| &a.key == key) else {
            return;
        };
        let mut a = self.active.remove(pos);
        let label = key.label(&self.matrix);
        tracing::info!(scope = %label, "teardown");
        let mut trace = trace::Trace::default();
        while let Some(u) = a.undo.pop() {
            let res = match u {
                Undo::Stop { host, what, record } => trace
                    .stop(
                        &self.remote,
                        &host,
                        &format!("stop {what}"),
                        &record,
                        Duration::from_secs(5),
                    )
                    .map(drop),
                Undo::UserTeardown => {
                    let layer = scopes::layer(key);
                    let tasks = scopes::layer_hooks(&self.cfg, key).teardown.clone();
                    let baseline = scopes::baseline_flag(&self.matrix, key);
                    let r = hooks::run(
                        &self.remote,
                        &mut trace,
                        &mut a.hooks,
                        layer,
                        "teardown",
                        &tasks,
                        &a.hook_targets,
                        baseline,
                    );
                    let saved = hooks::save(&self.remote, &mut trace, &a.hooks, &a.hook_targets);
                    r.and(saved)
                }
                Undo::Summary => scopes::write_summary(self, &mut trace),
                Undo::RestoreBpfStats { host, value } => {
                    monitoring::restore_bpf_stats(self, &mut trace, &host, &value)
                }
            };
            if let Err(e) = res {
                eprintln!("ebpf-perf: teardown of {label}: {e}");
                self.teardown_errors.push((label.clone(), e));
            }
        }
        if matches!(key, ScopeKey::Case { .. }) {
            self.programs.clear();
            self.monitors.clear();
        }
    }

    /// Leaves every scope still entered, innermost first.
    pub fn finish(&mut self) {
        let mut keys: Vec<ScopeKey> = self.active.iter().map(|a| a.key.clone()).collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.depth()));
        for k in keys {
            self.leave(&k);
        }
    }

    /// Ctrl-C: tear everything down, write JUnit, exit 130.
    fn abort(&mut self) -> ! {
        eprintln!("\nebpf-perf: interrupted; tearing down what was set up");
        // Teardown must run to completion: later Ctrl-C presses no longer cancel.
        self.finish();
        if let Err(e) = self.write_junit() {
            eprintln!("ebpf-perf: cannot write JUnit: {e}");
        }
        eprintln!("JUnit: {}", self.junit.display());
        std::process::exit(EXIT_INTERRUPTED);
    }

    /// Has anything failed that the trial outcomes do not show?
    pub fn teardown_failed(&self) -> bool {
        !self.teardown_errors.is_empty()
    }

    pub fn write_junit(&self) -> std::io::Result<()> {
        let mut recs = self.records.clone();
        for (scope, e) in &self.teardown_errors {
            recs.push(TrialRecord {
                name: format!("teardown::{scope}"),
                cycle_id: "session".into(),
                duration: Duration::ZERO,
                outcome: Outcome::Error {
                    message: e.to_string(),
                    detail: e.detail(),
                },
            });
        }
        report::write_trials(&self.junit, &recs)
    }

    /// Fails the current case when one of its eBPF programs has exited.
    fn check_programs(&mut self) -> Result<(), StepError> {
        let mut trace = trace::Trace::default();
        for p in self.programs.clone() {
            let alive = self
                .remote
                .is_alive(&p.host, &p.record)
                .map_err(|e| StepError::remote("check eBPF program", &e))?;
            if alive {
                continue;
            }
            let out = trace.exec(
                &self.remote,
                &p.host,
                "eBPF program exited",
                &format!(
                    "cat {} 2>/dev/null; echo; tail -c 2000 {}",
                    crate::template::quote(&p.record.status_file),
                    crate::template::quote(&p.stderr_file)
                ),
                crate::remote::SHORT,
                None,
            )?;
            let mut lines = out.stdout.splitn(2, '\n');
            let status = lines.next().unwrap_or("").trim().to_string();
            let mut e = StepError::new(
                "eBPF program",
                format!(
                    "the eBPF program (PID {}) exited with status {}",
                    p.record.pid,
                    if status.is_empty() {
                        "unknown"
                    } else {
                        &status
                    }
                ),
            )
            .on(&p.host);
            e.stderr_tail = lines.next().unwrap_or("").trim().to_string();
            e.exit_code = status.parse().ok();
            // The rest of the case fails at once with the same error.
            if let Some(a) = self
                .active
                .iter_mut()
                .find(|a| matches!(a.key, ScopeKey::Case { .. }))
            {
                a.error = Some(e.clone());
            }
            self.programs.clear();
            return Err(e);
        }
        Ok(())
    }
}
