//! The run stage: enters a case's fixture scopes (global, tool, case),
//! starts and stops its tool episodes, measures blocks of its trials (the
//! test scope) and hands each back as a results-file block, and tears down
//! exactly what was set up (also after failures and on Ctrl-C). Which
//! blocks run when is the harness's (see [`crate::schedule`]).

mod case;
pub mod conditions;
mod episode;
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
mod window;

pub use episode::Started as EpisodeStarted;
pub use error::StepError;

/// What [`Runner::block`] hands back: the block, its last run's monitoring
/// lines, and the error that ended it early, if any.
pub struct BlockRun {
    pub block: Block,
    pub lines: Vec<String>,
    pub error: Option<StepError>,
}

use crate::config::Config;
use crate::host::remote::Remote;
use crate::matrix::Matrix;
use crate::naming;
use crate::results::{Block, Side};
use crate::shell::process::ProcessRecord;
use fixtures::ScopeKey;
use std::collections::BTreeMap;
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

/// What the selected trials need: how many there are, the environments,
/// and per host the programs they run there.
struct Selection {
    trials: usize,
    envs: Vec<String>,
    tools: BTreeMap<String, std::collections::BTreeSet<String>>,
}

/// What the entered scopes hold: their undo steps, the entered case (a
/// cycle), the eBPF programs of its running episode, and the monitor agents
/// (deployed per host; a host agent per case, a tool agent per episode).
#[derive(Default)]
struct Fixtures {
    active: Vec<Active>,
    case: Option<usize>,
    programs: Vec<Program>,
    agents: BTreeMap<String, String>,
    monitors: Vec<monitoring::Agent>,
    /// The case's background tasks that watch the episode's program.
    watchers: Vec<hooks::Background>,
}

impl Fixtures {
    /// Takes the episode's tool agents out: (host, record) to stop.
    fn take_tool_agents(&mut self) -> Vec<(String, ProcessRecord)> {
        let (tool, host): (Vec<_>, Vec<_>) = std::mem::take(&mut self.monitors)
            .into_iter()
            .partition(|a| a.tool_dir.is_some());
        self.monitors = host;
        tool.into_iter()
            .filter_map(|a| Some((a.host, a.record?)))
            .collect()
    }
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
                trials: selected.len(),
                envs: fixtures::environments(&matrix, selected),
                tools: needs::needed_tools(&cfg, &matrix, selected),
            },
            fixtures: Fixtures::default(),
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

    /// Enters the scopes of cycle `c` (global, its tool's, its case), each
    /// once; a case entered before is left first, and its tool's scope
    /// when `c` is of another tool. The eBPF program is not started (see
    /// [`Runner::start_episode`]). `Err`: a scope's setup failed.
    pub fn enter_case(&mut self, c: usize) -> Result<(), StepError> {
        if let Some(prev) = self.fixtures.case.filter(|p| *p != c) {
            let same_tool =
                fixtures::tool_key(&self.matrix, prev) == fixtures::tool_key(&self.matrix, c);
            self.leave_case(prev, !same_tool);
        }
        unreachable::stop_where_back(self);
        for key in fixtures::scopes_of_cycle(&self.matrix, c) {
            let pos = match self.fixtures.active.iter().position(|a| a.key == key) {
                Some(p) => p,
                None => {
                    if matches!(key, ScopeKey::Case { .. }) {
                        self.fixtures.case = Some(c);
                    }
                    let a = self.enter(key);
                    self.fixtures.active.push(a);
                    self.fixtures.active.len() - 1
                }
            };
            if let Some(e) = &self.fixtures.active[pos].error {
                return Err(e.clone());
            }
        }
        Ok(())
    }

    /// Leaves the case scope of cycle `c`, and its tool's when `tool_too`.
    pub fn leave_case(&mut self, c: usize, tool_too: bool) {
        self.leave(&ScopeKey::Case { cycle: c });
        if self.fixtures.case == Some(c) {
            self.fixtures.case = None;
        }
        if let Some(key) = fixtures::tool_key(&self.matrix, c).filter(|_| tool_too) {
            self.leave(&key);
        }
    }

    /// Starts the entered case's eBPF program(s): the tool episode of pair
    /// `pair`, ready once attached.
    pub fn start_episode(&mut self, pair: u32) -> Result<EpisodeStarted, StepError> {
        let mut trace = trace::Trace::default();
        episode::start(self, &mut trace, pair)
    }

    /// Stops the running episode; `Err` when its program had exited.
    pub fn stop_episode(&mut self) -> Result<(), StepError> {
        let mut trace = trace::Trace::default();
        episode::stop(self, &mut trace)
    }

    /// Measures one block of trial `t` (matrix index) in the entered case:
    /// the test scope, its runs in the trial's own directories (a baseline
    /// trial's under `baseline/`). On the tool side the program must live
    /// through it.
    pub fn block(&mut self, t: usize, side: Side) -> BlockRun {
        let start = Instant::now();
        let mut block = Block {
            side,
            ..Block::default()
        };
        let (lines, mut error) = trial::run(self, t, &mut block);
        if error.is_none() && side == Side::Tool {
            error = self.check_programs().err();
        }
        if let Some(e) = &error {
            block.error = Some(e.to_string());
        }
        block.duration_s = start.elapsed().as_secs_f64();
        BlockRun {
            block,
            lines,
            error,
        }
    }

    /// A trial's conditions (after global setup gathered the host facts).
    pub fn conditions(&self, t: usize) -> Option<crate::results::Conditions> {
        let trial = &self.matrix.trials[t];
        let env = &self.matrix.cycle_of(trial).env;
        conditions::of(&self.cfg, &trial.variant, env, Some(self.facts()))
    }

    /// A trial's rate cap in bits/s, when its variant has one.
    pub fn rate_cap_bps(&self, t: usize) -> Option<f64> {
        conditions::rate_cap_bps(self, &self.matrix.trials[t].variant)
    }

    /// Counts a judged trial for the session summary.
    pub fn note_outcome(&mut self, passed: bool) {
        if passed {
            self.ledger.outcomes.0 += 1;
        } else {
            self.ledger.outcomes.1 += 1;
        }
    }

    /// Pushes an undo step onto the entered case's scope.
    fn case_undo(&mut self, u: Undo) {
        if let Some(a) = self
            .fixtures
            .active
            .iter_mut()
            .find(|a| matches!(a.key, ScopeKey::Case { .. }))
        {
            a.undo.push(u);
        }
    }

    /// Drops the case scope's undo step that stops `rec` (it was stopped).
    fn case_undo_done(&mut self, rec: &ProcessRecord) {
        for a in &mut self.fixtures.active {
            a.undo
                .retain(|u| !matches!(u, Undo::Stop { record, .. } if record == rec));
        }
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
        scopes::teardown(self, key);
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
