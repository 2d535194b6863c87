//! One trial (the test scope): its result directories on server and client,
//! the user's test hooks around the performance test itself ([`super::perf_test`]),
//! a teardown that always stops what was started, the monitoring slices, and
//! the metadata.

use super::error::StepError;
use super::hooks::{self, HookLog, Target};
use super::perf_test::{self, Ctx};
use super::trace::Trace;
use super::vars::{self, Role};
use super::Runner;
use crate::naming::{self, Variant};
use crate::perf;
use crate::process::ProcessRecord;
use crate::remote::SHORT;
use crate::template::quote;
use serde_json::json;
use std::time::Duration;

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
    let subs: Vec<String> = subdirs.iter().map(|s| format!("\"$d\"/{s}")).collect();
    let script = format!(
        "b={b}; d=\"$b\"; n=0; mkdir -p \"$(dirname \"$b\")\" || exit 1\n\
         until mkdir \"$d\" 2>/dev/null; do n=$((n+1)); [ $n -gt 100 ] && exit 1; d=\"${{b}}_$n\"; done\n\
         mkdir -p {subs} && echo \"$d\"",
        b = quote(&base),
        subs = subs.join(" ")
    );
    Ok(trace
        .check(&r.remote, host, "create trial directory", &script, SHORT)?
        .stdout
        .trim()
        .to_string())
}

/// Runs `f` once per distinct host, concurrently (each host has its own
/// session); their commands join `trace` in host order.
pub(super) fn per_host<T: Send>(
    r: &Runner,
    trace: &mut Trace,
    hosts: &[&str],
    f: impl Fn(&Runner, &str, &mut Trace) -> T + Sync,
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

pub fn run(r: &mut Runner, t: usize) -> Result<String, (StepError, String)> {
    let trial = r.matrix.trials[t].clone();
    let cycle = r.matrix.cycle_of(&trial).clone();
    let v = trial.variant.clone();
    let mut trace = Trace::default();
    let started = chrono::Utc::now();
    let ts = naming::name_timestamp(started);
    let server = vars::host_of(&r.cfg, &cycle.env, Role::Server);
    let client = vars::host_of(&r.cfg, &cycle.env, Role::Client);
    let rel = format!("{}_{ts}", r.matrix.trial_dir_prefix(&trial));
    let mut subdirs = vec!["client_results", "server_results", "monitoring"];
    if !cycle.is_baseline() {
        subdirs.push("ebpf_monitoring");
    }
    let made = per_host(r, &mut trace, &[&server, &client], |r, h, t| {
        make_dir(r, t, h, &rel, &subdirs)
    });
    let dirs: Vec<String> = made
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| (e, String::new()))?;
    let server_dir = dirs[0].clone();
    let client_dir = dirs.last().cloned().unwrap_or_else(|| server_dir.clone());
    r.dirs
        .entry(server.clone())
        .or_default()
        .push(server_dir.clone());
    if client != server {
        r.dirs
            .entry(client.clone())
            .or_default()
            .push(client_dir.clone());
    }
    let test_vars = |role: Role, dir: &str| {
        let mut x = vars::env(&r.cfg, &cycle.env, role);
        x.set("test_type", v.test_type().as_str())
            .set("variant", v.name())
            .set("protocol", v.protocol().as_str())
            .set("streams", v.streams().to_string())
            .set(
                "duration",
                crate::matrix::duration(&r.cfg.perf, &v).to_string(),
            )
            .set("result_dir", dir)
            .set("cycle", &cycle.id);
        if let Some(cc) = &cycle.case {
            x.set("tool_id", &cc.tool_id)
                .set("case_id", cc.case.id.to_string());
        }
        x
    };
    let ctx = Ctx {
        server_vars: test_vars(Role::Server, &server_dir),
        client_vars: test_vars(Role::Client, &client_dir),
        server,
        client,
        server_dir,
        client_dir,
        ts,
    };
    let targets = vec![
        Target {
            host: ctx.server.clone(),
            role: Role::Server,
            vars: ctx.server_vars.clone(),
            dir: format!("{}/monitoring", ctx.server_dir),
        },
        Target {
            host: ctx.client.clone(),
            role: Role::Client,
            vars: ctx.client_vars.clone(),
            dir: format!("{}/monitoring", ctx.client_dir),
        },
    ];
    let mut log = HookLog {
        file_name: format!("hook_results_{}.json", ctx.ts),
        results: Vec::new(),
    };
    let tasks = r.cfg.hooks.test.clone();
    let baseline = Some(cycle.is_baseline());

    // Setup and body; what was started is stopped below whatever happened.
    let mut started_procs: Vec<(String, String, ProcessRecord)> = Vec::new();
    let body = hooks::run(
        &r.remote,
        &mut trace,
        &mut log,
        "test",
        "setup",
        &tasks.setup,
        &targets,
        baseline,
    )
    .and_then(|()| perf_test::run(r, &ctx, &v, &mut trace, &mut started_procs));

    // Teardown: built-in first (every started process, one batch per host),
    // then the user's tasks.
    let mut teardown_err = None;
    let stops = per_host(r, &mut trace, &[&ctx.client, &ctx.server], |r, host, t| {
        let recs: Vec<ProcessRecord> = started_procs
            .iter()
            .rev()
            .filter(|(h, _, _)| h == host)
            .map(|(_, _, p)| p.clone())
            .collect();
        if recs.is_empty() {
            return Ok(());
        }
        t.stop_many(
            &r.remote,
            host,
            "stop servers, clients and sar",
            &recs,
            Duration::from_secs(3),
        )
        .map(drop)
    });
    for e in stops.into_iter().filter_map(Result::err) {
        teardown_err.get_or_insert(e);
    }
    if let Err(e) = hooks::run(
        &r.remote,
        &mut trace,
        &mut log,
        "test",
        "teardown",
        &tasks.teardown,
        &targets,
        baseline,
    ) {
        teardown_err.get_or_insert(e);
    }
    if let Err(e) = hooks::save(&r.remote, &mut trace, &log, &targets) {
        teardown_err.get_or_insert(e);
    }
    let result = match (body, teardown_err) {
        (Ok(m), None) => Ok(m),
        (Ok(_), Some(e)) => Err(e),
        (Err(e), _) => Err(e),
    };
    let mut teardown_failure: Option<StepError> = None;
    let ended = chrono::Utc::now();
    let host_dirs = [
        (ctx.server.clone(), ctx.server_dir.clone()),
        (ctx.client.clone(), ctx.client_dir.clone()),
    ];
    let costs = if r.monitors.is_empty() {
        None
    } else {
        let (from, to) = (naming::log_timestamp(started), naming::log_timestamp(ended));
        match super::monitoring::collect(r, &mut trace, &host_dirs, &ctx.ts, &from, &to) {
            Ok(c) => Some(c),
            Err(e) => {
                teardown_failure.get_or_insert(e);
                None
            }
        }
    };
    let result = match (result, teardown_failure) {
        (Ok(_), Some(e)) => Err(e),
        (r, _) => r,
    };
    let status = match &result {
        Ok(_) => "success",
        Err(e) if e.message.contains("timed out") => "timeout",
        Err(_) => "failed",
    };
    let paths = format!(
        "server: {}:{}\nclient: {}:{}\n",
        ctx.server, ctx.server_dir, ctx.client, ctx.client_dir
    );
    let metadata = json!({
        "test_case": {
            "trial": trial.name,
            "cycle": cycle.id,
            "environment": cycle.env,
            "test_type": v.test_type().as_str(),
            "variant": v.name(),
            "protocol": v.protocol().as_str(),
            "streams": v.streams(),
            "target_bw": match &v { Variant::Single { target_bw, .. } => Some(target_bw.clone()), _ => perf::plan(&r.cfg.perf, &v).and_then(|p| p.target_bw) },
            "duration_s": crate::matrix::duration(&r.cfg.perf, &v),
            "tool_id": cycle.case.as_ref().map(|c| c.tool_id.clone()),
            "case_id": cycle.case.as_ref().map(|c| c.case.id),
            "case_name": cycle.case.as_ref().map(|c| c.case.name.clone()),
            "parameters": cycle.case.as_ref().map(|c| c.case.parameters.clone()),
        },
        "execution": {
            "start": naming::log_timestamp(started),
            "end": naming::log_timestamp(ended),
            "duration_s": (ended - started).num_milliseconds() as f64 / 1000.0,
            "status": status,
            "error": result.as_ref().err().map(|e| e.detail()),
        },
        "hosts": {
            "server": {"name": ctx.server, "test_ip": ctx.server_vars.get("server_ip"), "interface": ctx.server_vars.get("server_interface"), "result_dir": ctx.server_dir},
            "client": {"name": ctx.client, "test_ip": ctx.client_vars.get("client_ip"), "interface": ctx.client_vars.get("client_interface"), "result_dir": ctx.client_dir},
        },
        "commands": trace.commands,
        "results": result.as_ref().ok(),
        "monitoring": costs,
    });
    let data = serde_json::to_vec_pretty(&metadata).unwrap_or_default();
    let dirs_by_host = [
        (&ctx.server, &ctx.server_dir),
        (&ctx.client, &ctx.client_dir),
    ];
    let mut meta_trace = Trace::default();
    let written = per_host(
        r,
        &mut meta_trace,
        &[&ctx.server, &ctx.client],
        |r, h, _| {
            let d = dirs_by_host
                .iter()
                .find(|(host, _)| host.as_str() == h)
                .map(|(_, d)| d.as_str())
                .unwrap_or_default();
            r.remote
                .write_file(h, &format!("{d}/metadata_{}.json", ctx.ts), &data)
                .map_err(|e| StepError::remote("write metadata", &e).on(h))
        },
    );
    let meta_err = written.into_iter().find_map(Result::err);
    match (result, meta_err) {
        (Ok(m), None) => {
            let mut lines = m.lines();
            lines.extend(costs.iter().flat_map(super::monitoring::Costs::lines));
            Ok(format!("{}\n{paths}", lines.join("\n")))
        }
        (Ok(_), Some(e)) | (Err(e), _) => Err((e, paths)),
    }
}
