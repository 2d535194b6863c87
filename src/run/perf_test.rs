//! The performance test of a trial: servers (one per port) started and waited
//! for until their ports listen, all clients started together as one recorded
//! process group, sar on the server's test interface for pps, and the parsed
//! metrics.

use super::error::StepError;
use super::trace::Trace;
use super::window::Starts;
use super::Runner;
use crate::domain::Variant;
use crate::host::remote::{Spawn, SHORT};
use crate::perf::{self, Metrics, Vars};
use crate::shell::process::{self, ProcessRecord};
use crate::shell::steps;
use std::time::{Duration, Instant};

/// How long servers may take to listen.
const READY_TIMEOUT_S: u32 = 10;
/// Extra time clients get past their configured duration.
const CLIENT_GRACE: Duration = Duration::from_secs(30);
/// How long before their expected end the wait for clients checks often.
const SETTLE_MARGIN: Duration = Duration::from_millis(150);
const MARK: &str = "@@ebpf-perf stream";

/// Where a trial runs: hosts, their result directories and variables.
pub(super) struct Ctx {
    pub(super) server: String,
    pub(super) client: String,
    pub(super) server_dir: String,
    pub(super) client_dir: String,
    pub(super) server_vars: Vars,
    pub(super) client_vars: Vars,
    pub(super) ts: String,
    /// The environment's CPU placement.
    pub(super) cpus: crate::config::Cpus,
}

/// What the run started, by host: (host, what, record), to be stopped after.
pub(super) type Started = Vec<(String, String, ProcessRecord)>;

/// When `host` is monitored, lines that start its window (its clock and
/// CPU counters, see [`super::window`]), to ride in the round trip that
/// starts the run there.
fn window_start(r: &Runner, host: &str) -> String {
    if r.fixtures.monitors.iter().any(|a| a.host == host) {
        super::window::start_line()
    } else {
        String::new()
    }
}

/// Keeps the window start of `host` when [`window_start`] read one.
fn keep_start(r: &Runner, host: &str, stdout: &str, clocks: &mut Starts) -> Result<(), StepError> {
    if r.fixtures.monitors.iter().any(|a| a.host == host) {
        clocks.insert(host.to_string(), super::window::take_start(host, stdout)?);
    }
    Ok(())
}

pub(super) fn run(
    r: &Runner,
    ctx: &Ctx,
    v: &Variant,
    trace: &mut Trace,
    started: &mut Started,
    clocks: &mut Starts,
) -> Result<Metrics, StepError> {
    let plan = perf::plan(&r.cfg.perf, v)
        .ok_or_else(|| StepError::new("plan", "the spec lacks this test's commands"))?;
    if let Some(us) = plan.cpu_latency_us {
        hold_cpu_latency(r, ctx, us, trace, started)?;
    }
    start_servers(r, ctx, &plan, trace, (started, clocks))?;
    let sar = match (v, &plan.sar_cmd) {
        (Variant::Pps { .. }, Some(t)) => Some(start_sar(r, ctx, &plan, t, trace, started)?),
        _ => None,
    };
    let outputs = run_clients(r, ctx, &plan, trace, (started, clocks))?;
    let sar_text = match &sar {
        Some((rec, file)) => Some(read_sar(r, ctx, &plan, rec, file, trace)?),
        None => None,
    };
    let iface = ctx
        .server_vars
        .get("server_interface")
        .unwrap_or_default()
        .to_string();
    perf::metrics(
        v,
        &outputs,
        sar_text.as_deref().map(|s| (s, iface.as_str())),
    )
    .map_err(|e| {
        // Name the file the bad output is in.
        let (host, file) = match (e.input, &sar) {
            (perf::Input::Sar, Some((_, file))) => (&ctx.server, file.to_string()),
            (perf::Input::Sar, None) => (&ctx.server, "(no sar output)".to_string()),
            (perf::Input::Stream(s), _) => (
                &ctx.client,
                format!("{}/stream_{s}.{}", clients_dir(ctx), plan.output_ext),
            ),
        };
        StepError::new("parse results", format!("{} (in {host}:{file})", e.message)).on(host)
    })
}

fn render(vars: &Vars, t: &str, step: &str, host: &str) -> Result<String, StepError> {
    vars.render(t)
        .map_err(|e| StepError::new(step, e.to_string()).on(host))
}

/// The variables of stream `s` (1-based) on `port`.
fn stream_vars(vars: &Vars, plan: &perf::Plan, port: u16, s: usize, result_file: &str) -> Vars {
    vars.with("port", port.to_string())
        .with("stream", s.to_string())
        .with("target_bw", plan.target_bw.clone().unwrap_or_default())
        .with("result_file", result_file)
}

/// Servers, one per port, started in one round trip, then waited for until
/// every port listens (polled, no fixed sleep); a server that exits instead
/// fails the step with the tail of its log.
fn start_servers(
    r: &Runner,
    ctx: &Ctx,
    plan: &perf::Plan,
    trace: &mut Trace,
    (started, clocks): (&mut Started, &mut Starts),
) -> Result<(), StepError> {
    let n = plan.ports.len();
    let mut files = Vec::new();
    for (i, port) in plan.ports.iter().enumerate() {
        let log = if n == 1 {
            "server.log".to_string()
        } else {
            format!("server_{}.log", i + 1)
        };
        let out = format!("{}/server_results/{log}", ctx.server_dir);
        let sv = stream_vars(&ctx.server_vars, plan, *port, i + 1, &out);
        let cmd = render(&sv, &plan.server_cmd, "start server", &ctx.server)?;
        let cmd = steps::pinned(&cmd, ctx.cpus.server.as_deref());
        let pid = format!("{}/server_results/server_{}.pid", ctx.server_dir, i + 1);
        files.push((cmd, out, pid));
    }
    let (sampler, sampler_log, sampler_pid) = placement_spec(
        &format!("{}/server_results", ctx.server_dir),
        files.iter().map(|(_, _, pid)| pid.clone()).collect(),
    );
    let specs: Vec<Spawn<'_>> = files
        .iter()
        .map(|(command, out, pid_file)| Spawn {
            command,
            stdout: out,
            stderr: out,
            pid_file,
        })
        .chain(std::iter::once(Spawn {
            command: &sampler,
            stdout: &sampler_log,
            stderr: &sampler_log,
            pid_file: &sampler_pid,
        }))
        .collect();
    let mut wait = window_start(r, &ctx.server) + &steps::ready_prelude(READY_TIMEOUT_S);
    for ((_, log, pid_file), port) in files.iter().zip(&plan.ports) {
        wait += &steps::ready(*port, pid_file, log);
    }
    let (recs, out) = trace.spawn_many_then(
        &r.remote,
        &ctx.server,
        ("start servers", "wait for servers"),
        &specs,
        &wait,
        SHORT,
    )?;
    let mut recs = recs.into_iter();
    // The ports first: a zip takes one more from its first side than it
    // pairs, and the sampler's record must not be lost.
    for (port, rec) in plan.ports.iter().zip(recs.by_ref()) {
        started.push((ctx.server.clone(), format!("server on port {port}"), rec));
    }
    started.extend(recs.map(|rec| (ctx.server.clone(), "placement sampler".into(), rec)));
    let out = out.checked(&ctx.server, &wait).map_err(|e| {
        let mut e = StepError::remote("wait for servers", &e);
        // The server command is what the user can fix, not the wait script.
        e.command = files.first().map(|(cmd, _, _)| cmd.clone());
        e
    })?;
    keep_start(r, &ctx.server, &out.stdout, clocks)
}

/// On the server's host and the client's (once where they are one), a
/// holder of the CPU wake-up latency limit `us` (see
/// [`crate::shell::cpu_latency`]), started and waited for until it holds,
/// in one round trip each; it is stopped with the run's other processes.
fn hold_cpu_latency(
    r: &Runner,
    ctx: &Ctx,
    us: u32,
    trace: &mut Trace,
    started: &mut Started,
) -> Result<(), StepError> {
    const STEP: &str = "hold CPU wake-up latency";
    let command = crate::shell::cpu_latency::holder(us);
    let mut hosts = vec![
        (&ctx.server, format!("{}/server_results", ctx.server_dir)),
        (&ctx.client, clients_dir(ctx)),
    ];
    hosts.dedup_by(|a, b| a.0 == b.0);
    for (host, dir) in hosts {
        let (log, pid_file) = (
            format!("{dir}/cpu_latency.log"),
            format!("{dir}/cpu_latency.pid"),
        );
        let wait = crate::shell::cpu_latency::wait_held(&pid_file, &log, READY_TIMEOUT_S);
        let (recs, out) = trace.spawn_many_then(
            &r.remote,
            host,
            (STEP, STEP),
            &[Spawn {
                command: &command,
                stdout: &log,
                stderr: &log,
                pid_file: &pid_file,
            }],
            &wait,
            SHORT,
        )?;
        started.extend(
            recs.into_iter()
                .map(|rec| (host.clone(), "CPU latency holder".into(), rec)),
        );
        out.checked(host, &wait).map_err(|e| {
            let mut e = StepError::remote(STEP, &e);
            e.command = Some(command.clone());
            e.message += "; the spec's cpu_latency_us asks for it: log in as root on this host, or remove cpu_latency_us from performance-test-spec.yaml";
            e
        })?;
    }
    Ok(())
}

/// sar for pps, on the server's test interface; its record and its file.
fn start_sar(
    r: &Runner,
    ctx: &Ctx,
    plan: &perf::Plan,
    template: &str,
    trace: &mut Trace,
    started: &mut Started,
) -> Result<(ProcessRecord, String), StepError> {
    // Not network_stats_*: that name is the monitor slice of the same window.
    let file = format!("{}/monitoring/sar_dev_{}.log", ctx.server_dir, ctx.ts);
    // Written as .part, renamed in place once read (see `read sar`). A
    // template that writes `> {result_file}` itself runs as written.
    let part = format!("{file}.part");
    let port = plan.ports.first().copied().unwrap_or_default();
    let sv = stream_vars(&ctx.server_vars, plan, port, 1, &part)
        .with("duration", plan.duration.to_string());
    let cmd = format!(
        "export LC_ALL=C S_TIME_FORMAT=ISO; {}",
        render(&sv, template, "start sar", &ctx.server)?
    );
    let stdout = if template.contains("{result_file}") {
        format!("{file}.out")
    } else {
        part.clone()
    };
    let rec = trace.spawn(
        &r.remote,
        &ctx.server,
        "start sar",
        &cmd,
        (&stdout, &format!("{file}.err"), &format!("{file}.pid")),
    )?;
    started.push((ctx.server.clone(), "sar".into(), rec.clone()));
    Ok((rec, file))
}

/// The placement sampler of the processes recorded in `pid_files`, in
/// `dir`: its command, log and pid file (its samples go to
/// [`placement_file`]).
fn placement_spec(dir: &str, pid_files: Vec<String>) -> (String, String, String) {
    (
        crate::shell::placement::sampler(&pid_files, &placement_file(dir)),
        format!("{dir}/placement.log"),
        format!("{dir}/placement.pid"),
    )
}

/// Where a role's placement samples are, in its results directory.
pub(super) fn placement_file(dir: &str) -> String {
    format!("{dir}/placement.txt")
}

fn clients_dir(ctx: &Ctx) -> String {
    format!("{}/client_results", ctx.client_dir)
}

/// Clients, all started together as one recorded process group, waited
/// for, and their outputs read back (each written as .part and renamed in
/// place only after the run, when its disk still has room).
fn run_clients(
    r: &Runner,
    ctx: &Ctx,
    plan: &perf::Plan,
    trace: &mut Trace,
    (started, clocks): (&mut Started, &mut Starts),
) -> Result<Vec<String>, StepError> {
    let dir = clients_dir(ctx);
    let mut streams = Vec::new();
    for (i, port) in plan.ports.iter().enumerate() {
        let s = i + 1;
        let result_file = format!("{dir}/stream_{s}.{}.part", plan.output_ext);
        let cv = stream_vars(&ctx.client_vars, plan, *port, s, &result_file);
        let cmd = render(&cv, &plan.client_cmd, "run client", &ctx.client)?;
        let writes_own_file = plan.client_cmd.contains("{result_file}");
        streams.push((cmd, writes_own_file));
    }
    let script = steps::clients(&dir, &streams, plan.output_ext);
    let log = format!("{dir}/clients.log");
    let pid = format!("{dir}/clients.pid");
    let script = steps::pinned(&script, ctx.cpus.client.as_deref());
    let (sampler, sampler_log, sampler_pid) = placement_spec(&dir, vec![pid.clone()]);
    let specs = [
        Spawn {
            command: &script,
            stdout: &log,
            stderr: &log,
            pid_file: &pid,
        },
        Spawn {
            command: &sampler,
            stdout: &sampler_log,
            stderr: &sampler_log,
            pid_file: &sampler_pid,
        },
    ];
    let clock = window_start(r, &ctx.client);
    let (mut recs, out) = trace.spawn_many_then(
        &r.remote,
        &ctx.client,
        ("start clients", "read host clock"),
        &specs,
        if clock.is_empty() { ":" } else { &clock },
        SHORT,
    )?;
    let clients = recs.remove(0);
    started.push((ctx.client.clone(), "clients".into(), clients.clone()));
    started.extend(
        recs.into_iter()
            .map(|rec| (ctx.client.clone(), "placement sampler".into(), rec)),
    );
    keep_start(r, &ctx.client, &out.stdout, clocks)?;
    // One round trip: wait for the clients, then read what they wrote.
    let expected = Duration::from_secs(u64::from(plan.duration));
    let n = plan.ports.len();
    let script = format!(
        "{}{}",
        process::wait_script(&clients, expected.saturating_sub(SETTLE_MARGIN)),
        steps::collect_streams(&dir, n, plan.output_ext, MARK, &super::space::guard(&dir))
    );
    let out = trace
        .exec(
            &r.remote,
            &ctx.client,
            "run clients",
            &script,
            expected + CLIENT_GRACE,
            Some(&r.cancel),
        )?
        .checked(&ctx.client, &script)
        .map_err(|e| StepError::remote("run clients", &e))?;
    let mut outputs = Vec::new();
    for (i, chunk) in out.stdout.split(&format!("\n{MARK} ")).skip(1).enumerate() {
        let (head, body) = chunk.split_once("@@\n").unwrap_or((chunk, ""));
        let rc = head.rsplit(' ').next().unwrap_or("").trim();
        if rc != "0" {
            let mut e = StepError::exited(
                "run client",
                format!(
                    "client of stream {} exited with {}",
                    i + 1,
                    if rc.is_empty() { "no status" } else { rc }
                ),
                rc.parse().ok(),
            )
            .on(&ctx.client);
            e.command = Some(plan.client_cmd.clone());
            e.stderr_tail = crate::host::remote::tail(&format!("{}\n{}", out.stderr, body), 1000);
            return Err(e);
        }
        outputs.push(body.to_string());
    }
    if outputs.len() != n {
        return Err(StepError::new(
            "run clients",
            format!("expected {n} client outputs, got {}", outputs.len()),
        )
        .on(&ctx.client));
    }
    Ok(outputs)
}

/// sar ends with its interval count: waits for it (bounded), then reads it.
fn read_sar(
    r: &Runner,
    ctx: &Ctx,
    plan: &perf::Plan,
    rec: &ProcessRecord,
    file: &str,
    trace: &mut Trace,
) -> Result<String, StepError> {
    let until = Instant::now() + Duration::from_secs(u64::from(plan.duration) + 5);
    while r.remote.is_alive(&ctx.server, rec).unwrap_or(false) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    let script = steps::publish_and_cat(file, &super::space::guard(&ctx.server_dir));
    Ok(trace
        .check(&r.remote, &ctx.server, "read sar", &script, SHORT)?
        .stdout)
}
