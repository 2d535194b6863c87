//! The run stage's side of monitoring: deploying the agent to each host
//! (global), turning `kernel.bpf_stats_enabled` on and starting one host
//! agent per host for the case, one tool agent per host of a tool episode,
//! and slicing each run's window out of their files into the block's
//! directories, with summaries (test).

use super::error::StepError;
use super::trace::Trace;
use super::vars::{self, Role};
use super::window::{self, Starts};
use super::{Active, Runner, Undo};
use crate::host::remote::SHORT;
use crate::matrix::Cycle;
use crate::monitor::costs::{self, HostCost, ToolCost};
use crate::naming;
use crate::shell::process::ProcessRecord;
use crate::shell::{monitor, steps};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

pub const TOOL_FILES: [&str; 4] = [
    "tool_cpu_usage",
    "tool_memory",
    "tool_logsize",
    "bpf_prog_stats",
];
pub const HOST_FILES: [&str; 3] = ["cpu_mem", "network_stats", "disk_io"];
const BPF_STATS: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// A running agent: a host agent of the case (`host_dir`), or a tool
/// agent of the episode (`tool_dir`, and its record to stop it by).
#[derive(Debug, Clone)]
pub struct Agent {
    pub host: String,
    pub ts: String,
    /// `{cycle_root}/ebpf_monitoring` when it watches the tool.
    pub tool_dir: Option<String>,
    pub host_dir: Option<String>,
    pub record: Option<ProcessRecord>,
}

/// The agent binary, stripped of debug info when `strip` is at hand.
fn agent_bytes(exe: &Path) -> std::io::Result<Vec<u8>> {
    let tmp = tempfile::NamedTempFile::new()?;
    let stripped = std::process::Command::new("strip")
        .arg("-o")
        .arg(tmp.path())
        .arg(exe)
        .status()
        .is_ok_and(|s| s.success());
    std::fs::read(if stripped { tmp.path() } else { exe })
}

/// Copies the agent to every host that lacks this build of it (same
/// architecture only); hosts without it run unmonitored, with a warning.
pub fn deploy(r: &mut Runner, trace: &mut Trace, hosts: &[String]) -> Result<(), StepError> {
    let Some(exe) = r.options.monitor_exe.clone() else {
        eprintln!("ebpf-perf: warning: no monitor agent binary; trials run without monitoring");
        return Ok(());
    };
    let data = agent_bytes(&exe)
        .map_err(|e| StepError::new("deploy monitor", format!("reading {}: {e}", exe.display())))?;
    let sha256: String = <sha2::Sha256 as sha2::Digest>::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for h in hosts {
        let own = crate::naming::own_dir(&r.cfg.ssh_hosts[h].workdir);
        let path = format!("{own}/ebpf-perf-monitor-{}", &sha256[..12]);
        // `present` only when the file there is this build, byte for byte:
        // anything else at that name is replaced before it runs.
        let script = monitor::agent_probe(&own, &path, &sha256);
        let probe = trace.check(&r.remote, h, "deploy monitor", &script, SHORT)?;
        let mut lines = probe.stdout.lines();
        // The host's words: shown, not obeyed.
        let arch = crate::untrusted::visible(lines.next().unwrap_or("").trim()).into_owned();
        if arch != std::env::consts::ARCH {
            eprintln!(
                "ebpf-perf: warning: {h} is {arch}, the monitor agent is {}; {h} runs unmonitored",
                std::env::consts::ARCH
            );
            continue;
        }
        if lines.next() != Some("present") {
            trace.write_file(&r.remote, h, "deploy monitor", &path, &data)?;
            trace.check(
                &r.remote,
                h,
                "deploy monitor",
                &steps::chmod_exec(&path),
                SHORT,
            )?;
        }
        r.fixtures.agents.insert(h.clone(), path);
    }
    Ok(())
}

/// Turns BPF run-time statistics on for the case; the previous value is
/// restored at case teardown.
pub fn enable_bpf_stats(
    r: &Runner,
    a: &mut Active,
    trace: &mut Trace,
    host: &str,
) -> Result<(), StepError> {
    let out = trace.check(
        &r.remote,
        host,
        "enable bpf_stats",
        &format!("cat {BPF_STATS} && echo 1 > {BPF_STATS}"),
        SHORT,
    )?;
    a.undo.push(Undo::RestoreBpfStats {
        host: host.to_string(),
        value: out.stdout.trim().to_string(),
    });
    Ok(())
}

pub fn restore_bpf_stats(
    r: &Runner,
    trace: &mut Trace,
    host: &str,
    value: &str,
) -> Result<(), StepError> {
    let v: u8 = value.parse().unwrap_or(0);
    trace
        .check(
            &r.remote,
            host,
            "restore bpf_stats",
            &format!("echo {v} > {BPF_STATS}"),
            SHORT,
        )
        .map(drop)
}

/// Starts one host agent per host of the case, for the whole case.
pub fn start(
    r: &mut Runner,
    a: &mut Active,
    trace: &mut Trace,
    cycle: &Cycle,
    ts: &str,
) -> Result<(), StepError> {
    for role in [Role::Server, Role::Client] {
        let host = vars::host_of(&r.cfg, &cycle.env, role);
        if r.fixtures.monitors.iter().any(|m| m.host == host) {
            continue;
        }
        let Some(agent) = r.fixtures.agents.get(&host).cloned() else {
            continue;
        };
        let host_dir = format!(
            "{}/{}/monitoring",
            naming::results_root(&r.cfg.ssh_hosts[&host].workdir),
            cycle.root
        );
        let iface = vars::env(&r.cfg, &cycle.env, role)
            .get("interface")
            .unwrap_or("")
            .to_string();
        let cmd = monitor::agent_cmd(&agent, ts, &host_dir, &iface);
        let log = format!("{host_dir}/monitor_{ts}.log");
        let pid = format!("{host_dir}/monitor_{ts}.pid");
        let record = trace.spawn(&r.remote, &host, "start monitor", &cmd, (&log, &log, &pid))?;
        a.undo.push(Undo::Stop {
            host: host.clone(),
            what: "monitor".into(),
            record,
        });
        r.fixtures.monitors.push(Agent {
            host,
            ts: ts.to_string(),
            tool_dir: None,
            host_dir: Some(host_dir),
            record: None,
        });
    }
    Ok(())
}

/// Starts one tool agent per host of the running episode's programs, when
/// the tool is monitored; each is stopped with the episode.
pub fn start_tool(
    r: &mut Runner,
    trace: &mut Trace,
    cycle: &Cycle,
    ts: &str,
) -> Result<(), StepError> {
    let Some(m) = cycle
        .case
        .as_ref()
        .and_then(|c| r.cfg.tools.get(&c.tool_id))
        .map(|t| t.monitoring.clone())
        .filter(|m| m.enabled)
    else {
        return Ok(());
    };
    for p in r.fixtures.programs.clone() {
        let Some(agent) = r.fixtures.agents.get(&p.host).cloned() else {
            continue;
        };
        let dir = format!(
            "{}/{}/ebpf_monitoring",
            naming::results_root(&r.cfg.ssh_hosts[&p.host].workdir),
            cycle.root
        );
        let mut cmd = monitor::agent_tool_cmd(
            &agent,
            ts,
            &dir,
            p.record.pid,
            p.record.start_time,
            &p.stdout_file,
        );
        for (on, flag) in [
            (m.cpu, "--no-cpu"),
            (m.memory, "--no-memory"),
            (m.log_size, "--no-log-size"),
        ] {
            if !on {
                cmd += &format!(" {flag}");
            }
        }
        let log = format!("{dir}/monitor_{ts}.log");
        let pid = format!("{dir}/monitor_{ts}.pid");
        let record = trace.spawn(
            &r.remote,
            &p.host,
            "start tool monitor",
            &cmd,
            (&log, &log, &pid),
        )?;
        r.case_undo(Undo::Stop {
            host: p.host.clone(),
            what: "tool monitor".into(),
            record: record.clone(),
        });
        r.fixtures.monitors.push(Agent {
            host: p.host.clone(),
            ts: ts.to_string(),
            tool_dir: Some(dir),
            host_dir: None,
            record: Some(record),
        });
    }
    Ok(())
}

/// What the tool and the hosts spent during one trial.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Costs {
    pub tool: BTreeMap<String, ToolCost>,
    pub hosts: BTreeMap<String, HostCost>,
    /// The tool's samples of the window, per host (kept in the results file).
    #[serde(skip)]
    pub series: BTreeMap<String, crate::results::Series>,
}

impl Costs {
    pub fn lines(&self) -> Vec<String> {
        let f = |v: Option<f64>, unit: &str| v.map_or("-".to_string(), |x| format!("{x:.1}{unit}"));
        let mut out = Vec::new();
        for (h, t) in &self.tool {
            let [ca, cp] = [t.cpu_avg_percent, t.cpu_peak_percent].map(|v| f(v, "%"));
            let [ra, rp, rg] = [
                t.rss_avg_kb,
                t.rss_peak_kb,
                t.rss_growth_since_case_start_kb,
            ]
            .map(|v| f(v, " kB"));
            let log = f(t.log_growth_bytes_per_second, " B/s");
            out.push(format!(
                "tool[{h}] cpu avg {ca} peak {cp}, rss avg {ra} peak {rp} growth {rg}, log {log}"
            ));
            if let Some(b) = &t.bpf {
                out.push(format!(
                    "bpf[{h}] {} programs, {:.0} events/s, {} ns/event, {:.3}% of one CPU",
                    b.programs,
                    b.events_per_second,
                    b.ns_per_event.map_or("-".into(), |n| format!("{n:.0}")),
                    b.cpu_share_percent
                ));
            }
        }
        for (h, c) in &self.hosts {
            let [ba, bp, si] = [
                c.cpu_busy_avg_percent,
                c.cpu_busy_peak_percent,
                c.softirq_avg_percent,
            ]
            .map(|v| f(v, "%"));
            let [rx, tx] = [c.rx_pps_avg, c.tx_pps_avg].map(|v| f(v, ""));
            out.push(format!(
                "host[{h}] cpu busy avg {ba} peak {bp}, softirq {si}, rx {rx} pps, tx {tx} pps"
            ));
        }
        out
    }
}

const SLICE_MARK: &str = "@@ebpf-perf-slice";

/// The windows of the monitored hosts in `hosts` starting now, read on
/// the host that wrote the samples, so that a controller whose clock
/// differs from the hosts' cuts the right samples.
pub fn host_clocks(r: &Runner, trace: &mut Trace, hosts: &[&str]) -> Result<Starts, StepError> {
    let read = super::trace::per_host(r, trace, hosts, |r, host, t| {
        let out = t.check(
            &r.remote,
            host,
            "read host clock",
            &window::start_line(),
            SHORT,
        )?;
        Ok((host.to_string(), window::take_start(host, &out.stdout)?))
    });
    read.into_iter().collect()
}

/// The script that copies `host`'s window (from its clock in `from` to its
/// clock now, plus the sample before it) of every case-long file into the
/// trial's directory `trial_dir` there and prints it for [`costs_of`];
/// `None` when no agent runs there or its window has no start.
pub(super) fn slice_script(
    r: &Runner,
    host: &str,
    trial_dir: &str,
    trial_ts: &str,
    from: &Starts,
) -> Option<String> {
    let agents: Vec<&Agent> = r
        .fixtures
        .monitors
        .iter()
        .filter(|a| a.host == host)
        .collect();
    if agents.is_empty() {
        return None;
    }
    let start = &from.get(host)?.clock;
    let mut files: Vec<(&str, String, Option<String>)> = Vec::new();
    for a in agents {
        if let Some(hd) = &a.host_dir {
            files.extend(HOST_FILES.iter().map(|n| {
                (
                    *n,
                    format!("{hd}/{n}_{}.log", a.ts),
                    Some(format!("{trial_dir}/monitoring/{n}_{trial_ts}.log")),
                )
            }));
        }
        if let Some(td) = &a.tool_dir {
            files.extend(TOOL_FILES.iter().map(|n| {
                (
                    *n,
                    format!("{td}/{n}_{}.log", a.ts),
                    Some(format!("{trial_dir}/ebpf_monitoring/{n}_{trial_ts}.log")),
                )
            }));
            files.push((
                "first_memory",
                format!("{td}/tool_memory_{}.log", a.ts),
                None,
            ));
        }
    }
    let slices: Vec<monitor::Slice<'_>> = files
        .iter()
        .map(|(name, src, dst)| monitor::Slice {
            name,
            src,
            dst: dst.as_deref(),
        })
        .collect();
    Some(monitor::slices(
        SLICE_MARK,
        start,
        window::HOST_NOW,
        &super::space::guard(trial_dir),
        trial_ts,
        &slices,
    ))
}

/// What the tool and the hosts spent, from each monitored host's output of
/// its [`slice_script`] (`sliced`: host and stdout).
pub(super) fn costs_of(r: &Runner, sliced: &[(String, String)], from: &Starts) -> Costs {
    let mut costs = Costs::default();
    for (host, stdout) in sliced {
        let mine = || r.fixtures.monitors.iter().filter(|a| a.host == *host);
        if mine().next().is_none() {
            continue;
        }
        let watches_tool = mine().any(|a| a.tool_dir.is_some());
        let mut p: BTreeMap<&str, &str> = BTreeMap::new();
        for chunk in stdout.split(&format!("{SLICE_MARK} ")).skip(1) {
            let (name, body) = chunk.split_once('\n').unwrap_or((chunk, ""));
            p.insert(name.trim(), body);
        }
        let start = from.get(host);
        let from = start.map_or("", |s| s.clock.as_str());
        let get = |k: &str| p.get(k).copied().unwrap_or("");
        let mut hc = costs::host_cost(from, get("cpu_mem"), get("network_stats"));
        window::exact_cpu(&mut hc, start, stdout);
        costs.hosts.insert(host.clone(), hc);
        if watches_tool {
            let first_rss = get("first_memory")
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix("rss_kb="))
                .and_then(|v| v.parse().ok());
            costs.series.insert(
                host.clone(),
                costs::tool_series(
                    from,
                    get("tool_cpu_usage"),
                    get("tool_memory"),
                    get("tool_logsize"),
                    get("bpf_prog_stats"),
                ),
            );
            costs.tool.insert(
                host.clone(),
                costs::tool_cost(
                    from,
                    get("tool_cpu_usage"),
                    get("tool_memory"),
                    get("tool_logsize"),
                    get("bpf_prog_stats"),
                    first_rss,
                ),
            );
        }
    }
    costs
}
