//! One block of a trial (the test scope): its result directories on server
//! and client (`{variant}_{ts}`, as the seeds name a trial's), the user's
//! test hooks around its runs (warm-ups, then the measured runs, each a
//! [`super::perf_test`] in its own `warmup_K`/`run_K` directory, with what
//! it started stopped right after it and its monitoring slice), and the
//! metadata.

use super::error::StepError;
use super::hooks::{self, HookLog, Target};
use super::metadata::{
    ExecStatus, Execution, HostEntry, Hosts, RunMetadata, TestCase, TrialMetadata,
};
use super::perf_test::Ctx;
use super::trace::Trace;
use super::vars::{self, Role};
use super::Runner;
use crate::domain::Variant;
use crate::host::remote::SHORT;
use crate::naming;
use crate::perf;
use crate::results;
use crate::shell::steps;

/// Creates `{root}/{prefix}_{ts}` (never an existing one) with the subdirs.
fn make_dir(
    r: &Runner,
    trace: &mut Trace,
    host: &str,
    rel: &str,
    subdirs: &[&str],
) -> Result<String, StepError> {
    let base = format!(
        "{}/{rel}",
        naming::results_root(&r.cfg.ssh_hosts[host].workdir)
    );
    // Where the case's program runs here: keep its logs' sizes, so that the
    // trial's end can copy what it wrote during the trial.
    let mut extra = super::space::guard(&base);
    for p in r.fixtures.programs.iter().filter(|p| p.host == host) {
        extra.push_str(&crate::shell::tool_logs::log_offsets(
            &p.stdout_file,
            &p.stderr_file,
        ));
    }
    let script = steps::make_unique_dir(&base, subdirs, &extra);
    Ok(trace
        .check(&r.remote, host, "create trial directory", &script, SHORT)?
        .stdout
        .trim()
        .to_string())
}

/// What one trial is, worked out once: its names, hosts and directories.
struct TrialCtx {
    trial: crate::matrix::Trial,
    cycle: crate::matrix::Cycle,
    v: Variant,
    started: chrono::DateTime<chrono::Utc>,
    ts: String,
    server: String,
    client: String,
    server_dir: String,
    client_dir: String,
    plan: crate::precision::Plan,
}

/// The runs' kinds of result directories.
fn kinds(baseline: bool) -> Vec<&'static str> {
    let mut kinds = vec!["client_results", "server_results", "monitoring"];
    if !baseline {
        kinds.push("ebpf_monitoring");
    }
    kinds
}

impl TrialCtx {
    /// `warmup_K`, then `run_K`: the block's runs, in order.
    fn run_names(&self) -> Vec<String> {
        (1..=self.plan.warmup)
            .map(|k| format!("warmup_{k}"))
            .chain((1..=self.plan.runs).map(|k| format!("run_{k}")))
            .collect()
    }

    /// The placeholders a test's commands and hooks see on `role`'s host.
    fn vars(&self, r: &Runner, role: Role, dir: &str) -> perf::Vars {
        let (v, cycle) = (&self.v, &self.cycle);
        let mut x = vars::env(&r.cfg, &cycle.env, role);
        x.set("test_type", v.test_type().as_str())
            .set("variant", v.name())
            .set("protocol", v.protocol().as_str())
            .set("streams", v.streams().to_string())
            .set(
                "duration",
                crate::matrix::duration(&r.cfg.perf, v).to_string(),
            )
            .set("result_dir", dir)
            .set("cycle", &cycle.id);
        if let Some(cc) = &cycle.case {
            x.set("tool_id", &cc.tool_id)
                .set("case_id", cc.case.id.to_string());
        }
        x
    }

    /// The test layer's hook targets: server, then client.
    fn targets(&self, r: &Runner) -> Vec<Target> {
        let mut targets = vec![
            Target {
                host: self.server.clone(),
                role: Role::Server,
                vars: self.vars(r, Role::Server, &self.server_dir),
                dir: format!("{}/monitoring", self.server_dir),
            },
            Target {
                host: self.client.clone(),
                role: Role::Client,
                vars: self.vars(r, Role::Client, &self.client_dir),
                dir: format!("{}/monitoring", self.client_dir),
            },
        ];
        for t in &mut targets {
            let d = t.vars.get("duration").unwrap_or_default().to_string();
            t.vars.set("test_duration", d).set("timestamp", &self.ts);
        }
        hooks::with_programs(&mut targets, &r.fixtures.programs);
        targets
    }

    /// One run's context: its directories on both hosts.
    fn run_ctx(&self, r: &Runner, name: &str) -> Ctx {
        let (sd, cd) = (
            format!("{}/{name}", self.server_dir),
            format!("{}/{name}", self.client_dir),
        );
        Ctx {
            server_vars: self.vars(r, Role::Server, &sd),
            client_vars: self.vars(r, Role::Client, &cd),
            server: self.server.clone(),
            client: self.client.clone(),
            server_dir: sd,
            client_dir: cd,
            ts: self.ts.clone(),
            cpus: r
                .cfg
                .environments
                .get(&self.cycle.env)
                .map(|e| e.cpus.clone())
                .unwrap_or_default(),
        }
    }
}

/// Runs one block of trial `t`: its runs go into `block` (in the results
/// file's shape, with where they lie); gives back the last run's monitoring
/// lines and the error that ended the block, if any.
pub fn run(
    r: &mut Runner,
    t: usize,
    block: &mut results::Block,
) -> (Vec<String>, Option<StepError>) {
    let mut trace = Trace::default();
    let mut lines = Vec::new();
    block.start = naming::log_timestamp(chrono::Utc::now());
    let tc = match enter(r, &mut trace, t) {
        Ok(tc) => tc,
        Err(e) => return (lines, Some(e)),
    };
    block.remote = vec![
        format!("{}:{}", tc.server, tc.server_dir),
        format!("{}:{}", tc.client, tc.client_dir),
    ];
    let targets = tc.targets(r);
    let mut log = HookLog {
        file_name: format!("hook_results_{}.json", tc.ts),
        results: Vec::new(),
    };
    let tasks = r.cfg.hooks.test.clone();
    let baseline = Some(block.side == results::Side::Baseline);

    // The user's setup, then the runs; a failed run ends the trial.
    let mut error = hooks::run(
        &r.remote,
        &mut trace,
        &mut log,
        "test",
        "setup",
        &tasks.setup,
        &targets,
        baseline,
    )
    .err();
    let mut background = Vec::new();
    if error.is_none() {
        error = hooks::start_background(
            &r.remote,
            &mut trace,
            &mut log,
            "test",
            &tasks.setup,
            &targets,
            baseline,
            &tc.ts,
            &mut background,
        )
        .err();
    }
    let mut run_meta = Vec::new();
    if error.is_none() {
        error = runs(r, &tc, &mut trace, block, &mut lines, &mut run_meta);
    }
    // Background tasks stop first; the user's teardown runs whatever happened.
    if let Err(e) = hooks::stop_background(&r.remote, &mut trace, &mut log, &background) {
        error.get_or_insert(e);
    }
    let teardown = hooks::run(
        &r.remote,
        &mut trace,
        &mut log,
        "test",
        "teardown",
        &tasks.teardown,
        &targets,
        baseline,
    )
    .and(hooks::save(&r.remote, &mut trace, &log, &targets));
    if let Err(e) = teardown {
        error.get_or_insert(e);
    }
    if let Err(e) = slice_tool_logs(r, &tc, &mut trace) {
        error.get_or_insert(e);
    }
    let meta = metadata(r, &tc, &targets, error.as_ref(), trace, run_meta);
    if let Err(e) = write_metadata(r, &tc, &meta) {
        error.get_or_insert(e);
    }
    block.end = naming::log_timestamp(chrono::Utc::now());
    (lines, error)
}

/// Seed 001's per-trial `tool_output_{ts}.log` and `tool_error_{ts}.log`:
/// what the case's program wrote during this trial, in the trial's
/// directory on the host where it runs.
fn slice_tool_logs(r: &Runner, tc: &TrialCtx, trace: &mut Trace) -> Result<(), StepError> {
    let mut dirs = vec![(&tc.server, &tc.server_dir)];
    if tc.client_dir != tc.server_dir {
        dirs.push((&tc.client, &tc.client_dir));
    }
    for p in &r.fixtures.programs {
        // Every trial directory on its host kept the sizes (see make_dir).
        for (_, dir) in dirs.iter().filter(|(h, _)| **h == p.host) {
            let script =
                crate::shell::tool_logs::slice_logs(dir, &p.stdout_file, &p.stderr_file, &tc.ts);
            trace.check(&r.remote, &p.host, "slice the tool's logs", &script, SHORT)?;
        }
    }
    Ok(())
}

/// Works the trial out and makes its directories on both hosts (recorded
/// for the session summary).
fn enter(r: &mut Runner, trace: &mut Trace, t: usize) -> Result<TrialCtx, StepError> {
    let trial = r.matrix.trials[t].clone();
    let cycle = r.matrix.cycle_of(&trial).clone();
    let v = trial.variant.clone();
    let started = chrono::Utc::now();
    let ts = naming::name_timestamp(started);
    let server = vars::host_of(&r.cfg, &cycle.env, Role::Server);
    let client = vars::host_of(&r.cfg, &cycle.env, Role::Client);
    let plan = r.cfg.perf.plan(v.test_type());
    let mut tc = TrialCtx {
        trial,
        cycle,
        v,
        started,
        ts,
        server,
        client,
        server_dir: String::new(),
        client_dir: String::new(),
        plan,
    };
    let rel = format!("{}_{}", r.matrix.trial_dir_prefix(&tc.trial), tc.ts);
    let kinds = kinds(tc.cycle.is_baseline());
    let mut subdirs = vec!["monitoring".to_string()];
    for n in &tc.run_names() {
        subdirs.extend(kinds.iter().map(|k| format!("{n}/{k}")));
    }
    let subdirs: Vec<&str> = subdirs.iter().map(String::as_str).collect();
    let made = super::trace::per_host(r, trace, &[&tc.server, &tc.client], |r, h, t| {
        make_dir(r, t, h, &rel, &subdirs)
    });
    let dirs: Vec<String> = made.into_iter().collect::<Result<_, _>>()?;
    tc.server_dir = dirs[0].clone();
    tc.client_dir = dirs
        .last()
        .cloned()
        .unwrap_or_else(|| tc.server_dir.clone());
    for (h, d) in [(&tc.server, &tc.server_dir), (&tc.client, &tc.client_dir)] {
        let made = r.ledger.dirs.entry(h.clone()).or_default();
        if !made.contains(d) {
            made.push(d.clone());
        }
    }
    Ok(tc)
}

/// The warm-ups, then the measured runs, each in its own directory; the
/// first failure (or Ctrl-C) ends them.
fn runs(
    r: &mut Runner,
    tc: &TrialCtx,
    trace: &mut Trace,
    block: &mut results::Block,
    lines: &mut Vec<String>,
    meta: &mut Vec<RunMetadata>,
) -> Option<StepError> {
    for name in tc.run_names() {
        if r.cancel.load(std::sync::atomic::Ordering::SeqCst) {
            return Some(StepError::interrupted("run"));
        }
        let one = super::one_run::run_once(r, &tc.run_ctx(r, &name), &tc.v, trace);
        if let Some(c) = &one.costs {
            *lines = c.lines();
        }
        meta.push(RunMetadata {
            run: name.clone(),
            start: one.run.start.clone(),
            end: one.run.end.clone(),
            status: if one.error.is_some() {
                "failed"
            } else {
                "success"
            },
            error: one.error.as_ref().map(StepError::detail),
            results: one.metrics,
            monitoring: one.costs,
        });
        if one.error.is_some() {
            return one.error;
        }
        if name.starts_with("warmup") {
            block.warmups.push(one.run);
        } else {
            block.runs.push(one.run);
        }
    }
    None
}

/// The trial's `metadata_{ts}.json`.
fn metadata(
    r: &Runner,
    tc: &TrialCtx,
    targets: &[Target],
    error: Option<&StepError>,
    trace: Trace,
    runs: Vec<RunMetadata>,
) -> TrialMetadata {
    let ended = chrono::Utc::now();
    let host = |t: &Target, role: &str, dir: &str| HostEntry {
        name: t.host.clone(),
        test_ip: t.vars.get(&format!("{role}_ip")).map(str::to_string),
        interface: t.vars.get(&format!("{role}_interface")).map(str::to_string),
        result_dir: dir.to_string(),
    };
    let (v, cycle) = (&tc.v, &tc.cycle);
    TrialMetadata {
        test_case: TestCase {
            trial: tc.trial.name.clone(),
            cycle: cycle.id.clone(),
            environment: cycle.env.clone(),
            test_type: v.test_type().as_str(),
            variant: v.name(),
            protocol: v.protocol().as_str(),
            streams: v.streams(),
            target_bw: super::conditions::target_bw(r, v),
            duration_s: crate::matrix::duration(&r.cfg.perf, v),
            warmup: tc.plan.warmup,
            repeats: runs.iter().filter(|m| m.run.starts_with("run_")).count() as u32,
            tool_id: cycle.case.as_ref().map(|c| c.tool_id.clone()),
            case_id: cycle.case.as_ref().map(|c| c.case.id),
            case_name: cycle.case.as_ref().map(|c| c.case.name.clone()),
            parameters: cycle.case.as_ref().map(|c| c.case.parameters.clone()),
        },
        execution: Execution {
            start: naming::log_timestamp(tc.started),
            end: naming::log_timestamp(ended),
            duration_s: (ended - tc.started).num_milliseconds() as f64 / 1000.0,
            status: ExecStatus::of(error),
            error: error.map(StepError::detail),
        },
        hosts: Hosts {
            server: host(&targets[0], "server", &tc.server_dir),
            client: host(&targets[1], "client", &tc.client_dir),
        },
        commands: trace.commands,
        runs,
    }
}

/// Writes the metadata into the trial's directory on each host.
fn write_metadata(r: &Runner, tc: &TrialCtx, meta: &TrialMetadata) -> Result<(), StepError> {
    let data = serde_json::to_vec_pretty(meta).unwrap_or_default();
    let dirs_by_host = [(&tc.server, &tc.server_dir), (&tc.client, &tc.client_dir)];
    let mut meta_trace = Trace::default();
    let written =
        super::trace::per_host(r, &mut meta_trace, &[&tc.server, &tc.client], |r, h, _| {
            let d = dirs_by_host
                .iter()
                .find(|(host, _)| host.as_str() == h)
                .map(|(_, d)| d.as_str())
                .unwrap_or_default();
            r.remote
                .write_file(h, &format!("{d}/metadata_{}.json", tc.ts), &data)
                .map_err(|e| StepError::remote("write metadata", &e).on(h))
        });
    written
        .into_iter()
        .collect::<Result<Vec<()>, _>>()
        .map(drop)
}
