//! Setup of the global, tool and case scopes: the user's hooks first, then
//! the built-in steps, each of which registers its own undo step.
//! Global: the lab (when the config is one), result roots, required tools,
//! host facts into the session metadata. Case: the eBPF program, started
//! detached on its target host(s) and confirmed alive after a settle time.

use super::error::StepError;
use super::fixtures::ScopeKey;
use super::hooks::{self, Target};
use super::trace::Trace;
use super::vars::{self, Role};
use super::{Active, Program, Runner, Undo};
use crate::config::{Config, HookTask, LayerHooks, Target as CaseTarget};
use crate::host::remote::SHORT;
use crate::matrix::Matrix;
use crate::naming;
use crate::template::quote;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long an eBPF program may take to load its BPF programs.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(20);
/// How long it must then stay alive before tests begin.
pub const SETTLE: Duration = Duration::from_millis(300);
/// What /proc/PID/fd shows for a loaded BPF program.
const BPF_PROG_FD: &str = "anon_inode:bpf-prog";

pub fn layer(key: &ScopeKey) -> &'static str {
    match key {
        ScopeKey::Global => "global",
        ScopeKey::Tool { .. } => "tool",
        ScopeKey::Case { .. } => "case",
    }
}

pub fn layer_hooks<'a>(cfg: &'a Config, key: &ScopeKey) -> &'a LayerHooks {
    match key {
        ScopeKey::Global => &cfg.hooks.global,
        ScopeKey::Tool { .. } => &cfg.hooks.tool,
        ScopeKey::Case { .. } => &cfg.hooks.case,
    }
}

/// For `when:` of case tasks: is this the baseline?
pub fn baseline_flag(m: &Matrix, key: &ScopeKey) -> Option<bool> {
    match key {
        ScopeKey::Case { cycle } => Some(m.cycles[*cycle].is_baseline()),
        _ => None,
    }
}

/// `{root}/session_{ts}` on a host.
pub fn session_dir(cfg: &Config, host: &str, ts: &str) -> String {
    format!(
        "{}/session_{ts}",
        naming::results_root(&cfg.ssh_hosts[host].workdir)
    )
}

/// Hosts of the selected environments with their roles (deduplicated).
fn global_hosts(r: &Runner) -> Vec<(String, Role)> {
    let mut v: Vec<(String, Role)> = Vec::new();
    for env in &r.envs {
        for role in [Role::Server, Role::Client] {
            let h = vars::host_of(&r.cfg, env, role);
            if !v.iter().any(|(x, _)| *x == h) {
                v.push((h, role));
            }
        }
    }
    v
}

pub fn setup(r: &mut Runner, a: &mut Active) -> Result<(), StepError> {
    let mut trace = Trace::default();
    let key = a.key.clone();
    let ts = naming::name_timestamp(chrono::Utc::now());
    a.hooks.file_name = format!("hook_results_{ts}.json");
    a.hook_targets = hook_targets(r, &key);
    for t in &mut a.hook_targets {
        t.vars.set("timestamp", &ts);
    }
    let tasks = layer_hooks(&r.cfg, &key).setup.clone();
    let baseline = baseline_flag(&r.matrix, &key);
    let user = hooks::run(
        &r.remote,
        &mut trace,
        &mut a.hooks,
        layer(&key),
        "setup",
        &tasks,
        &a.hook_targets,
        baseline,
    );
    let saved = hooks::save(&r.remote, &mut trace, &a.hooks, &a.hook_targets);
    user.and(saved)?;
    match key {
        ScopeKey::Global => global(r, a, &mut trace),
        ScopeKey::Tool { .. } => Ok(()),
        ScopeKey::Case { cycle } => case(r, a, &mut trace, cycle, &ts),
    }?;
    // The setup is done: the layer's background tasks start.
    let mut started = Vec::new();
    let res = hooks::start_background(
        &r.remote,
        &mut trace,
        &mut a.hooks,
        layer(&key),
        &tasks,
        &a.hook_targets,
        baseline,
        &ts,
        &mut started,
    );
    if !started.is_empty() {
        a.undo.push(Undo::StopBackground(started));
        // Their PIDs are in the data before anything else can go wrong.
        hooks::save(&r.remote, &mut trace, &a.hooks, &a.hook_targets)?;
    }
    res
}

fn hook_targets(r: &Runner, key: &ScopeKey) -> Vec<Target> {
    match key {
        ScopeKey::Global => global_hosts(r)
            .into_iter()
            .map(|(h, role)| Target {
                dir: session_dir(&r.cfg, &h, &r.session_ts),
                vars: vars::host(&r.cfg, &h).with("role", role.as_str()),
                host: h,
                role,
            })
            .collect(),
        ScopeKey::Tool { tool, env } => [Role::Server, Role::Client]
            .into_iter()
            .map(|role| {
                let h = vars::host_of(&r.cfg, env, role);
                Target {
                    dir: format!(
                        "{}/tool_{tool}_{env}",
                        session_dir(&r.cfg, &h, &r.session_ts)
                    ),
                    vars: vars::env(&r.cfg, env, role).with("tool_id", tool),
                    host: h,
                    role,
                }
            })
            .collect(),
        ScopeKey::Case { cycle } => {
            let c = &r.matrix.cycles[*cycle];
            [Role::Server, Role::Client]
                .into_iter()
                .map(|role| {
                    let h = vars::host_of(&r.cfg, &c.env, role);
                    let mut v = vars::env(&r.cfg, &c.env, role);
                    v.set("cycle", &c.id);
                    if let Some(cc) = &c.case {
                        v.set("tool_id", &cc.tool_id)
                            .set("case_id", cc.case.id.to_string());
                    }
                    Target {
                        dir: format!(
                            "{}/{}",
                            naming::results_root(&r.cfg.ssh_hosts[&h].workdir),
                            c.root
                        ),
                        vars: v,
                        host: h,
                        role,
                    }
                })
                .collect()
        }
    }
}

fn global(r: &mut Runner, a: &mut Active, trace: &mut Trace) -> Result<(), StepError> {
    if r.cfg.lab.is_some() {
        let plan = crate::host::lab::Plan::from_config(&r.cfg)
            .map_err(|e| StepError::new("lab up", e.to_string()))?;
        crate::host::lab::up(&plan).map_err(|e| StepError::new("lab up", e.to_string()))?;
    }
    let hosts = global_hosts(r);
    let mut missing = Vec::new();
    for (h, _) in &hosts {
        let tools: Vec<String> = r
            .tools
            .get(h)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default();
        let probe = crate::host::probe::probe(&r.cfg, &r.remote, h, &tools);
        if let Err(e) = &probe.reachable {
            return Err(StepError::new("connect", e.clone()).on(h));
        }
        if !probe.workdir_writable {
            return Err(StepError::new(
                "check workdir",
                format!("{} is not writable", r.cfg.ssh_hosts[h].workdir),
            )
            .on(h));
        }
        if !probe.missing.is_empty() {
            missing.push(format!("{h}: {}", probe.missing.join(", ")));
        }
    }
    if !missing.is_empty() {
        return Err(StepError::new(
            "check required tools",
            format!(
                "missing on the hosts (install them, e.g. `ebpf-perf lab up` for the lab): {}",
                missing.join("; ")
            ),
        ));
    }
    // Hold the hosts for the run (in name order, so that two runs waiting
    // for each other's hosts cannot deadlock); stop what a run killed hard
    // left behind.
    let me = super::leftovers::Owner::me(&r.session_ts);
    let mut by_name: Vec<&String> = hosts.iter().map(|(h, _)| h).collect();
    by_name.sort();
    let cancel = r.cancel.clone();
    let wait = (!r.no_wait).then_some(&*cancel);
    for h in by_name {
        let workdir = r.cfg.ssh_hosts[h].workdir.clone();
        for note in super::leftovers::take(&r.remote, trace, h, &workdir, &me, false, wait)? {
            eprintln!("ebpf-perf: {h}: {note}");
        }
        r.leased.push(h.clone());
    }
    a.undo.push(Undo::ReleaseLeases);
    let names: Vec<String> = hosts.iter().map(|(h, _)| h.clone()).collect();
    super::monitoring::deploy(r, trace, &names)?;
    for (h, role) in &hosts {
        let dir = session_dir(&r.cfg, h, &r.session_ts);
        trace.check(
            &r.remote,
            h,
            "create result roots",
            &format!(
                "mkdir -p {}/baseline {}/ebpf {}",
                quote(&naming::results_root(&r.cfg.ssh_hosts[h].workdir)),
                quote(&naming::results_root(&r.cfg.ssh_hosts[h].workdir)),
                quote(&dir)
            ),
            SHORT,
        )?;
        let ifaces: Vec<String> = r
            .envs
            .iter()
            .map(|e| vars::env(&r.cfg, e, *role))
            .filter(|v| v.get("host") == Some(h.as_str()))
            .filter_map(|v| v.get("interface").map(str::to_string))
            .collect();
        let out = trace.check(
            &r.remote,
            h,
            "record host facts",
            &facts_script(&ifaces),
            SHORT,
        )?;
        let facts = parse_facts(&out.stdout);
        r.facts.insert(h.clone(), facts.clone());
        let meta = json!({
            "session": r.session_ts,
            "generator": format!("ebpf-perf {}", env!("CARGO_PKG_VERSION")),
            "config_dir": r.cfg.dir.display().to_string(),
            "host": h,
            "environments": r.envs,
            "selected_trials": r.last.len(),
            "facts": facts,
            "commands": trace.commands,
        });
        let data = serde_json::to_vec_pretty(&meta).unwrap_or_default();
        trace.write_file(
            &r.remote,
            h,
            "write session metadata",
            &format!("{dir}/session_metadata_{}.json", r.session_ts),
            &data,
        )?;
    }
    a.undo.push(Undo::Summary);
    Ok(())
}

fn facts_script(ifaces: &[String]) -> String {
    let mut s = String::from(
        "echo \"kernel=$(uname -r)\"; echo \"cpus=$(nproc)\"; \
         echo \"cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)\"\n",
    );
    for i in ifaces {
        let q = quote(i);
        s += &format!("echo @nic {q}; ethtool -i {q} 2>/dev/null; echo @offload {q}; ethtool -k {q} 2>/dev/null\n");
    }
    s + "echo @sysctl; sysctl -a 2>/dev/null | grep '^net\\.' || true\n"
}

/// Host facts as JSON: kernel, CPUs, per-NIC driver and offloads, net.* sysctls.
pub fn parse_facts(text: &str) -> serde_json::Value {
    let mut top = serde_json::Map::new();
    let mut nics = serde_json::Map::new();
    let mut sysctl = serde_json::Map::new();
    enum Sec {
        Top,
        Nic(String),
        Offload(String),
        Sysctl,
    }
    let mut sec = Sec::Top;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("@nic ") {
            sec = Sec::Nic(n.to_string());
            continue;
        }
        if let Some(n) = line.strip_prefix("@offload ") {
            sec = Sec::Offload(n.to_string());
            continue;
        }
        if line == "@sysctl" {
            sec = Sec::Sysctl;
            continue;
        }
        match &sec {
            Sec::Top => {
                if let Some((k, v)) = line.split_once('=') {
                    top.insert(k.into(), json!(v));
                }
            }
            Sec::Nic(n) | Sec::Offload(n) => {
                let Some((k, v)) = line.split_once(':') else {
                    continue;
                };
                let entry = nics
                    .entry(n.clone())
                    .or_insert_with(|| json!({"driver_info": {}, "offloads": {}}));
                let part = if matches!(sec, Sec::Nic(_)) {
                    "driver_info"
                } else {
                    "offloads"
                };
                entry[part][k.trim()] = json!(v.trim());
            }
            Sec::Sysctl => {
                if let Some((k, v)) = line.split_once(" = ") {
                    sysctl.insert(k.into(), json!(v));
                }
            }
        }
    }
    top.insert("nics".into(), serde_json::Value::Object(nics));
    top.insert("sysctl_net".into(), serde_json::Value::Object(sysctl));
    serde_json::Value::Object(top)
}

fn case(
    r: &mut Runner,
    a: &mut Active,
    trace: &mut Trace,
    cycle: usize,
    ts: &str,
) -> Result<(), StepError> {
    let c = r.matrix.cycles[cycle].clone();
    for t in &a.hook_targets {
        trace.check(
            &r.remote,
            &t.host,
            "create case directory",
            &format!("mkdir -p {}", quote(&t.dir)),
            SHORT,
        )?;
    }
    let Some(cc) = &c.case else {
        // A baseline measured while an eBPF program of ours still runs would
        // carry its cost.
        for role in [Role::Server, Role::Client] {
            let host = vars::host_of(&r.cfg, &c.env, role);
            let workdir = r.cfg.ssh_hosts[&host].workdir.clone();
            let left = super::leftovers::running(&r.remote, trace, &host, &workdir, true)?;
            if let Some((file, p)) = left.first() {
                return Err(StepError::new(
                    "check for eBPF programs",
                    format!(
                        "an eBPF program of ours still runs (PID {}, {file}); refusing to measure a baseline \
                         beside it; `ebpf-perf hosts clean` stops it",
                        p.pid
                    ),
                )
                .on(&host));
            }
        }
        // The hosts are monitored all the same.
        return super::monitoring::start(r, a, trace, &c, ts, &[]);
    };
    let roles: &[Role] = match cc.case.target {
        CaseTarget::Server => &[Role::Server],
        CaseTarget::Client => &[Role::Client],
        CaseTarget::Both => &[Role::Server, Role::Client],
    };
    let monitored = r
        .cfg
        .tools
        .get(&cc.tool_id)
        .is_some_and(|t| t.monitoring.enabled);
    let mut watched = Vec::new();
    for &role in roles {
        let host = vars::host_of(&r.cfg, &c.env, role);
        if monitored && r.agents.contains_key(&host) {
            super::monitoring::enable_bpf_stats(r, a, trace, &host)?;
        }
        let case_dir = format!(
            "{}/{}",
            naming::results_root(&r.cfg.ssh_hosts[&host].workdir),
            c.root
        );
        let mon = format!("{case_dir}/ebpf_monitoring");
        let mut v = vars::env(&r.cfg, &c.env, role);
        v.set("tool_id", &cc.tool_id)
            .set("case_id", cc.case.id.to_string())
            .set("duration", cc.case.duration.to_string())
            .set("result_dir", &case_dir);
        for (k, val) in &cc.case.parameters {
            v.set(k, val.text());
        }
        let command = v
            .render(&cc.case.command)
            .map_err(|e| StepError::new("start eBPF program", e.to_string()).on(&host))?;
        let stderr_file = format!("{mon}/tool_error_{ts}.log");
        let stdout_file = format!("{mon}/tool_output_{ts}.log");
        let record = trace.spawn(
            &r.remote,
            &host,
            "start eBPF program",
            &command,
            (
                &format!("{mon}/tool_output_{ts}.log"),
                &stderr_file,
                &format!("{mon}/ebpf_pid_{ts}.txt"),
            ),
        )?;
        a.undo.push(Undo::Stop {
            host: host.clone(),
            what: format!("eBPF program of case {}", cc.case.id),
            record: record.clone(),
        });
        // The command as it ran, next to its output.
        trace.write_file(
            &r.remote,
            &host,
            "record eBPF command",
            &format!("{mon}/ebpf_command_{ts}.txt"),
            format!("{command}\n").as_bytes(),
        )?;
        watched.push((host.clone(), record.clone(), stdout_file));
        r.programs.push(Program {
            host,
            record,
            stderr_file,
            command,
            pid: None,
        });
    }
    // Ready once its BPF programs are loaded (an fd of the process group links
    // to a bpf-prog); then it must stay alive for the settle time.
    // A tool that loads none says so (`allow_no_bpf`); otherwise measuring
    // without its program would report a baseline as the tool's cost.
    for p in r.programs.clone().iter().filter(|_| !cc.case.allow_no_bpf) {
        let state = r
            .remote
            .wait_fd(&p.host, &p.record, BPF_PROG_FD, LOAD_TIMEOUT)
            .map_err(|e| StepError::remote("wait for eBPF program", &e))?;
        if state == "timeout" {
            return Err(StepError::new(
                "wait for eBPF program",
                format!(
                    "case {} loaded no BPF program within {}s (no bpf-prog fd in its process group); \
                     check that it attaches, or set \"allow_no_bpf\": true on the case if the tool loads none",
                    cc.case.id,
                    LOAD_TIMEOUT.as_secs()
                ),
            )
            .on(&p.host));
        }
    }
    let until = Instant::now() + SETTLE;
    while Instant::now() < until && !r.cancel.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
    r.check_programs()?;
    // Only hooks ask for the command's own PID.
    let h = &r.cfg.hooks;
    if [&h.case, &h.test]
        .iter()
        .any(|l| l.setup.iter().chain(&l.teardown).any(HookTask::uses_ebpf))
    {
        command_pids(r, trace)?;
    }
    hooks::with_programs(&mut a.hook_targets, &r.programs);
    super::monitoring::start(r, a, trace, &c, ts, &watched)
}

/// Finds each program's own process under its recording wrapper: the
/// wrapper's child, and below it while that is a shell (`sh -c`) with one
/// child (a shell that did not exec its command).
fn command_pids(r: &mut Runner, trace: &mut Trace) -> Result<(), StepError> {
    for p in &mut r.programs {
        let pid = p.record.pid;
        let out = trace.check(
            &r.remote,
            &p.host,
            "find eBPF program's PID",
            &format!(
                "kids() {{ cat /proc/$1/task/$1/children 2>/dev/null; }}\n\
                 set -- $(kids {pid}); c=$1\n\
                 while [ -n \"$c\" ] && [ \"$(cat /proc/$c/comm 2>/dev/null)\" = sh ]; do\n\
                 set -- $(kids $c); [ $# -eq 1 ] || break; c=$1; done\n\
                 echo \"$c\""
            ),
            SHORT,
        )?;
        p.pid = out
            .stdout
            .split_whitespace()
            .next()
            .and_then(|w| w.parse().ok());
    }
    Ok(())
}

/// Gives back the leases taken at global setup.
pub fn release_leases(r: &mut Runner, trace: &mut Trace) -> Result<(), StepError> {
    let me = super::leftovers::Owner::me(&r.session_ts);
    let mut first = Ok(());
    for h in std::mem::take(&mut r.leased) {
        let workdir = r.cfg.ssh_hosts[&h].workdir.clone();
        let res = super::leftovers::release(&r.remote, trace, &h, &workdir, &me);
        if first.is_ok() {
            first = res;
        }
    }
    first
}

/// Session summary at global teardown: trial counts by status, files and bytes.
pub fn write_summary(r: &mut Runner, trace: &mut Trace) -> Result<(), StepError> {
    let (passed, failed) = r.outcomes;
    for (h, _) in global_hosts(r) {
        let dirs = r.dirs.get(&h).cloned().unwrap_or_default();
        let dir = session_dir(&r.cfg, &h, &r.session_ts);
        let list: Vec<String> = dirs
            .iter()
            .chain(std::iter::once(&dir))
            .map(|d| quote(d).into_owned())
            .collect();
        let out = trace.check(
            &r.remote,
            &h,
            "count result files",
            &format!("echo \"$(find {l} -type f 2>/dev/null | wc -l) $(du -scb {l} 2>/dev/null | tail -n 1 | cut -f1)\"", l = list.join(" ")),
            SHORT,
        )?;
        let mut it = out.stdout.split_whitespace();
        let files: u64 = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        let bytes: u64 = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        let summary = json!({
            "session": r.session_ts,
            "host": h,
            "trials": {"total": passed + failed, "passed": passed, "failed": failed},
            "trial_directories": dirs,
            "files": files,
            "bytes": bytes,
        });
        let data = serde_json::to_vec_pretty(&summary).unwrap_or_default();
        trace.write_file(
            &r.remote,
            &h,
            "write session summary",
            &format!("{dir}/summary_{}.json", r.session_ts),
            &data,
        )?;
    }
    Ok(())
}
