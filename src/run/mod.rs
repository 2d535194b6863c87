//! The run stage: executes selected trials one at a time in matrix order
//! inside their fixture scopes (global, tool, case, test), hands each
//! trial's runs back as a results-file entry, and tears down exactly what
//! was set up (also after failures and on Ctrl-C).

mod case;
pub mod conditions;
mod error;
pub mod fixtures;
mod global;
mod hooks;
mod metadata;
pub mod leftovers;
mod monitoring;
mod one_run;
pub mod needs;
mod perf_test;
mod quiet;
mod scopes;
mod space;
mod trace;
mod trial;
mod unreachable;
pub mod vars;

pub use error::StepError;

/// What [`Runner::run_trial`] hands back: the trial's entry of the results
/// file (not yet judged) and its last run's monitoring lines.
pub struct TrialRun {
    pub result: TrialResult,
    pub lines: Vec<String>,
}

use crate::config::Config;
use crate::host::remote::Remote;
use crate::matrix::Matrix;
use crate::naming;
use crate::results::{Status, TrialResult};
use crate::shell::process::ProcessRecord;
use fixtures::ScopeKey;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Stop the layer's background hook tasks, by PID.
    StopBackground(Vec<hooks::Background>),
    /// The session summary (global scope).
    Summary,
    /// Put `kernel.bpf_stats_enabled` back as it was.
    RestoreBpfStats { host: String, value: String },
    /// Give the hosts' leases back (global scope).
    ReleaseLeases,
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
    /// Its case-long stdout and stderr (`ebpf_monitoring/tool_*_{ts}.log`).
    stdout_file: String,
    stderr_file: String,
    /// The command as it ran (`{ebpf_command}`).
    command: String,
    /// The command's own process under the recording wrapper (`{ebpf_pid}`).
    pid: Option<u32>,
}

pub struct Runner {
    cfg: Arc<Config>,
    matrix: Arc<Matrix>,
    remote: Remote,
    pub cancel: Arc<AtomicBool>,
    pub options: RunOptions,
    selection: Selection,
    fixtures: Fixtures,
    ledger: Ledger,
    /// The headline metric's summary in the baseline of the trial that
    /// runs now: its precision target holds the overhead's interval.
    baseline: Option<crate::stats::Summary>,
}

/// How a run behaves, from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How long the end of the run waits for a host that became unreachable.
    pub reconnect_wait: Duration,
    /// Fail at once when another run holds a host, instead of waiting.
    pub no_wait: bool,
    /// The local monitor agent binary, when there is one.
    pub monitor_exe: Option<PathBuf>,
}

/// What the selected trials need: each scope's last trial, the
/// environments, and per host the programs they run there.
struct Selection {
    last: HashMap<ScopeKey, usize>,
    envs: Vec<String>,
    tools: BTreeMap<String, std::collections::BTreeSet<String>>,
}

/// What the entered scopes hold: their undo steps, the eBPF programs that
/// run, and the monitor agents (deployed per host, running per cycle).
#[derive(Default)]
struct Fixtures {
    active: Vec<Active>,
    programs: Vec<Program>,
    agents: BTreeMap<String, String>,
    monitors: Vec<monitoring::Agent>,
}

/// What the run has done so far: its session id, trials passed and failed,
/// host facts, teardowns that failed, leases held and result directories
/// made (for the summary and the results file).
#[derive(Default)]
struct Ledger {
    session_ts: String,
    outcomes: (usize, usize),
    facts: BTreeMap<String, serde_json::Value>,
    teardown_errors: Vec<(String, StepError)>,
    leased: Vec<String>,
    dirs: BTreeMap<String, Vec<String>>,
}

impl Runner {
    /// `{root}/session_{ts}` on a host.
    fn session_dir(&self, host: &str) -> String {
        format!(
            "{}/session_{}",
            naming::results_root(&self.cfg.ssh_hosts[host].workdir),
            self.ledger.session_ts
        )
    }

    /// Hosts of the selected environments with their roles (deduplicated).
    fn global_hosts(&self) -> Vec<(String, vars::Role)> {
        let mut v: Vec<(String, vars::Role)> = Vec::new();
        for env in &self.selection.envs {
            for role in [vars::Role::Server, vars::Role::Client] {
                let h = vars::host_of(&self.cfg, env, role);
                if !v.iter().any(|(x, _)| *x == h) {
                    v.push((h, role));
                }
            }
        }
        v
    }

    pub fn new(
        cfg: Arc<Config>,
        matrix: Arc<Matrix>,
        selected: &[usize],
        monitor_exe: Option<PathBuf>,
    ) -> Runner {
        Runner {
            remote: Remote::new(&cfg),
            cancel: Arc::default(),
            options: RunOptions {
                reconnect_wait: Duration::from_secs(60),
                no_wait: false,
                monitor_exe,
            },
            selection: Selection {
                last: fixtures::last_trials(&matrix, selected),
                envs: fixtures::environments(&matrix, selected),
                tools: needs::needed_tools(&cfg, &matrix, selected),
            },
            fixtures: Fixtures::default(),
            baseline: None,
            ledger: Ledger {
                session_ts: naming::name_timestamp(chrono::Utc::now()),
                ..Ledger::default()
            },
            cfg,
            matrix,
        }
    }

    pub fn matrix(&self) -> &Matrix {
        &self.matrix
    }

    /// Host facts recorded by global setup.
    pub fn facts(&self) -> &BTreeMap<String, serde_json::Value> {
        &self.ledger.facts
    }

    pub fn interrupted(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// The session id (`YYYYMMDD_HHMMSS`) of the remote `session_{ts}` directories.
    pub fn session_id(&self) -> &str {
        &self.ledger.session_ts
    }

    /// Runs trial `t` inside its scopes (entering those it is the first of);
    /// the scopes it is the last of stay entered until [`Runner::leave_after`].
    /// `baseline` is the baseline's summary of the headline metric, when
    /// the trial is compared with one (see [`crate::precision`]).
    pub fn run_trial(&mut self, t: usize, baseline: Option<crate::stats::Summary>) -> TrialRun {
        self.baseline = baseline;
        let start = Instant::now();
        let trial = self.matrix.trials[t].clone();
        let cycle = self.matrix.cycle_of(&trial).clone();
        let v = &trial.variant;
        let mut result =
            TrialResult::new(&trial.name, &cycle.id, &cycle.env, v.test_type(), v.name());
        if let Some(c) = &cycle.case {
            result.tool_id = Some(c.tool_id.clone());
            result.case_id = Some(c.case.id);
            result.case_name = Some(c.case.name.clone());
        }
        result.rate_cap_bps = conditions::rate_cap_bps(self, v);
        let (lines, error) = match self.trial_in_scopes(t, &mut result) {
            Ok(done) => done,
            Err(e) => (Vec::new(), Some(e)),
        };
        // After the scopes: the global one gathered the hosts' facts.
        result.conditions = conditions::of(&self.cfg, v, &cycle.env, Some(self.facts()));
        if let Some(e) = &error {
            result.status = Status::Failed;
            result.error = Some(e.to_string());
            result.error_detail = e.detail();
        }
        result.duration_s = start.elapsed().as_secs_f64();
        TrialRun { result, lines }
    }

    /// Counts a judged trial for the session summary.
    pub fn note_outcome(&mut self, passed: bool) {
        if passed {
            self.ledger.outcomes.0 += 1;
        } else {
            self.ledger.outcomes.1 += 1;
        }
    }

    /// Leaves the scopes whose last selected trial is `t`.
    pub fn leave_after(&mut self, t: usize) {
        for key in fixtures::ending_after(&self.selection.last, t) {
            self.leave(&key);
        }
    }

    /// Leaves the case scope of `cycle` when it is entered (after a
    /// baseline was measured again out of matrix order).
    pub fn leave_cycle(&mut self, cycle: usize) {
        self.leave(&ScopeKey::Case { cycle });
    }

    /// Is `t` the last selected trial of its case (its cycle)?
    pub fn is_case_last(&self, t: usize) -> bool {
        let cycle = self.matrix.trials[t].cycle;
        self.selection.last.get(&ScopeKey::Case { cycle }) == Some(&t)
    }

    /// Runs trial `t` inside its scopes; `Err` when a scope failed (nothing
    /// ran), else its lines and its own error.
    fn trial_in_scopes(
        &mut self,
        t: usize,
        result: &mut TrialResult,
    ) -> Result<(Vec<String>, Option<StepError>), StepError> {
        unreachable::stop_where_back(self);
        for key in fixtures::scopes_of(&self.matrix, t) {
            let pos = match self.fixtures.active.iter().position(|a| a.key == key) {
                Some(p) => p,
                None => {
                    let a = self.enter(key);
                    self.fixtures.active.push(a);
                    self.fixtures.active.len() - 1
                }
            };
            if let Some(e) = &self.fixtures.active[pos].error {
                return Err(e.clone());
            }
        }
        self.check_programs()?;
        let (lines, mut error) = trial::run(self, t, result);
        if error.is_none() {
            // The program must have lived through the whole trial.
            error = self.check_programs().err();
        }
        Ok((lines, error))
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
        let Some(pos) = self.fixtures.active.iter().position(|a| &a.key == key) else {
            return;
        };
        let mut a = self.fixtures.active.remove(pos);
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
                Undo::StopBackground(started) => {
                    hooks::stop_background(&self.remote, &mut trace, &mut a.hooks, &started)
                }
                Undo::Summary => global::write_summary(self, &mut trace),
                Undo::RestoreBpfStats { host, value } => {
                    monitoring::restore_bpf_stats(self, &mut trace, &host, &value)
                }
                Undo::ReleaseLeases => {
                    // Hosts that never came back keep their lease (see unreachable).
                    let (lost, errors) = unreachable::settle(self, &self.ledger.leased);
                    for e in errors {
                        eprintln!("ebpf-perf: {e}");
                        self.ledger.teardown_errors.push((label.clone(), e));
                    }
                    self.ledger.leased.retain(|h| !lost.contains(h));
                    global::release_leases(self, &mut trace)
                }
            };
            if let Err(e) = res {
                eprintln!("ebpf-perf: teardown of {label}: {e}");
                self.ledger.teardown_errors.push((label.clone(), e));
            }
        }
        if matches!(key, ScopeKey::Case { .. }) {
            self.fixtures.programs.clear();
            self.fixtures.monitors.clear();
        }
    }

    /// Leaves every scope still entered, innermost first.
    pub fn finish(&mut self) {
        let mut keys: Vec<ScopeKey> = self.fixtures.active.iter().map(|a| a.key.clone()).collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.depth()));
        for k in keys {
            self.leave(&k);
        }
    }

    /// Has anything failed that the trial outcomes do not show?
    pub fn teardown_failed(&self) -> bool {
        !self.ledger.teardown_errors.is_empty()
    }

    /// Teardowns that failed: (scope label, error).
    pub fn teardown_errors(&self) -> &[(String, StepError)] {
        &self.ledger.teardown_errors
    }

    /// Fails the current case when one of its eBPF programs has exited.
    fn check_programs(&mut self) -> Result<(), StepError> {
        let mut trace = trace::Trace::default();
        for p in self.fixtures.programs.clone() {
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
                &crate::shell::steps::status_and_stderr(
                    &p.record.status_file,
                    &p.stderr_file,
                    2000,
                ),
                crate::host::remote::SHORT,
                None,
            )?;
            let mut lines = out.stdout.splitn(2, '\n');
            let status = lines.next().unwrap_or("").trim().to_string();
            let mut e = StepError::exited(
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
                status.parse().ok(),
            )
            .on(&p.host);
            e.stderr_tail = lines.next().unwrap_or("").trim().to_string();
            // The rest of the case fails at once with the same error.
            if let Some(a) = self
                .fixtures
                .active
                .iter_mut()
                .find(|a| matches!(a.key, ScopeKey::Case { .. }))
            {
                a.error = Some(e.clone());
            }
            self.fixtures.programs.clear();
            return Err(e);
        }
        Ok(())
    }
}
