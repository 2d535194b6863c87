//! The global scope's built-in steps: the lab (when the config is one),
//! the leases on the hosts, result roots, required tools, host facts into
//! the session metadata; at teardown, the session summary and the leases
//! given back.

use super::error::StepError;
use super::metadata::{SessionMetadata, SessionSummary, TrialCounts};
use super::trace::Trace;
use super::vars::{self};
use super::{Active, Runner, Undo};
use crate::host::remote::SHORT;
use crate::naming;
use crate::shell::steps;
use serde_json::json;

/// Set by the nextest setup script (scripts/nextest-lab-up) to the
/// configuration directory whose lab it brought up for the run.
pub const LAB_UP_ENV: &str = "EBPF_PERF_LAB_UP";

/// Did this run's nextest setup script bring up the lab of `dir`? Then a
/// trial's process does not do it again.
fn lab_is_up(dir: &std::path::Path) -> bool {
    let up = std::env::var_os(LAB_UP_ENV)
        .is_some_and(|v| std::fs::canonicalize(dir).is_ok_and(|d| d == std::path::Path::new(&v)));
    if up {
        eprintln!("ebpf-perf: the lab is up (brought up once by the nextest setup script)");
    }
    up
}

pub fn setup(r: &mut Runner, a: &mut Active, trace: &mut Trace) -> Result<(), StepError> {
    if r.cfg.lab.is_some() && !lab_is_up(&r.cfg.dir) {
        let plan = crate::host::lab::Plan::from_config(&r.cfg)
            .map_err(|e| StepError::new("lab up", e.to_string()))?;
        crate::host::lab::up(&plan).map_err(|e| StepError::new("lab up", e.to_string()))?;
    }
    let hosts = r.global_hosts();
    let mut missing = Vec::new();
    for (h, _) in &hosts {
        let tools: Vec<String> = r
            .selection
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
    let me = super::leftovers::Owner::me(&r.ledger.session_ts);
    let mut by_name: Vec<&String> = hosts.iter().map(|(h, _)| h).collect();
    by_name.sort();
    let cancel = r.cancel.clone();
    let wait = (!r.options.no_wait).then_some(&*cancel);
    for h in by_name {
        let workdir = r.cfg.ssh_hosts[h].workdir.clone();
        for note in super::leftovers::take(&r.remote, trace, h, &workdir, &me, false, wait)? {
            eprintln!("ebpf-perf: {h}: {note}");
        }
        r.ledger.leased.push(h.clone());
    }
    a.undo.push(Undo::ReleaseLeases);
    let names: Vec<String> = hosts.iter().map(|(h, _)| h.clone()).collect();
    super::monitoring::deploy(r, trace, &names)?;
    for (h, role) in &hosts {
        let dir = r.session_dir(h);
        let root = naming::results_root(&r.cfg.ssh_hosts[h].workdir);
        trace.check(
            &r.remote,
            h,
            "create result roots",
            &steps::mkdir_p(&[
                format!("{root}/baseline"),
                format!("{root}/ebpf"),
                dir.clone(),
            ]),
            SHORT,
        )?;
        let ifaces: Vec<String> = r
            .selection
            .envs
            .iter()
            .map(|e| vars::env(&r.cfg, e, *role))
            .filter(|v| v.get("host") == Some(h.as_str()))
            .filter_map(|v| v.get("interface").map(str::to_string))
            .collect();
        let script = steps::host_facts(&ifaces, &r.cfg.ssh_hosts[h].workdir);
        let out = trace.check(&r.remote, h, "record host facts", &script, SHORT)?;
        let facts = parse_facts(&out.stdout);
        r.ledger.facts.insert(h.clone(), facts.clone());
        let meta = SessionMetadata {
            session: &r.ledger.session_ts,
            generator: format!("ebpf-perf {}", env!("CARGO_PKG_VERSION")),
            config_dir: r.cfg.dir.display().to_string(),
            host: h,
            environments: &r.selection.envs,
            selected_trials: r.selection.trials,
            facts: &facts,
            commands: &trace.commands,
        };
        let data = serde_json::to_vec_pretty(&meta).unwrap_or_default();
        trace.write_file(
            &r.remote,
            h,
            "write session metadata",
            &format!("{dir}/session_metadata_{}.json", r.ledger.session_ts),
            &data,
        )?;
    }
    a.undo.push(Undo::Summary);
    Ok(())
}

/// Host facts as JSON: kernel, CPUs, per-NIC driver and offloads, net.*
/// sysctls, and (when bpftool could probe) `bpf_program_types`, the BPF
/// program types the kernel offers, each a name [`crate::compat`] knows.
pub fn parse_facts(text: &str) -> serde_json::Value {
    let mut top = serde_json::Map::new();
    let mut nics = serde_json::Map::new();
    let mut sysctl = serde_json::Map::new();
    let mut bpf: Option<Vec<serde_json::Value>> = None;
    enum Sec {
        Top,
        Nic(String),
        Offload(String),
        Sysctl,
        Bpf,
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
        if line == "@bpf" {
            sec = Sec::Bpf;
            bpf.get_or_insert_with(Vec::new);
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
            Sec::Bpf => {
                if let (Some(list), Some(name)) = (bpf.as_mut(), crate::compat::prog_type(line)) {
                    list.push(json!(name));
                }
            }
        }
    }
    top.insert("nics".into(), serde_json::Value::Object(nics));
    top.insert("sysctl_net".into(), serde_json::Value::Object(sysctl));
    if let Some(list) = bpf {
        top.insert("bpf_program_types".into(), serde_json::Value::Array(list));
    }
    serde_json::Value::Object(top)
}

/// Gives back the leases taken at global setup.
pub fn release_leases(r: &mut Runner, trace: &mut Trace) -> Result<(), StepError> {
    let me = super::leftovers::Owner::me(&r.ledger.session_ts);
    let mut first = Ok(());
    for h in std::mem::take(&mut r.ledger.leased) {
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
    let (passed, failed) = r.ledger.outcomes;
    for (h, _) in r.global_hosts() {
        let dirs = r.ledger.dirs.get(&h).cloned().unwrap_or_default();
        let dir = r.session_dir(&h);
        // The session's directories on this host, one a line: the count
        // reads them from the file (there can be hundreds).
        let list_file = format!("{dir}/directories_{}.txt", r.ledger.session_ts);
        let list: String = dirs
            .iter()
            .chain(std::iter::once(&dir))
            .map(|d| format!("{d}\n"))
            .collect();
        trace.write_file(
            &r.remote,
            &h,
            "list result directories",
            &list_file,
            list.as_bytes(),
        )?;
        let out = trace.check(
            &r.remote,
            &h,
            "count result files",
            &steps::count_files(&list_file),
            SHORT,
        )?;
        let mut it = out.stdout.split_whitespace();
        let files: u64 = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        let bytes: u64 = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        let summary = SessionSummary {
            session: &r.ledger.session_ts,
            host: &h,
            trials: TrialCounts {
                total: passed + failed,
                passed,
                failed,
            },
            trial_directories: &dirs,
            files,
            bytes,
        };
        let data = serde_json::to_vec_pretty(&summary).unwrap_or_default();
        trace.write_file(
            &r.remote,
            &h,
            "write session summary",
            &format!("{dir}/summary_{}.json", r.ledger.session_ts),
            &data,
        )?;
        // Where seed 001 puts it: the results root.
        trace.write_file(
            &r.remote,
            &h,
            "write session summary",
            &format!(
                "{}/session_summary_{}.json",
                crate::naming::results_root(&r.cfg.ssh_hosts[&h].workdir),
                r.ledger.session_ts
            ),
            &data,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_facts;

    #[test]
    fn facts_keep_the_program_types_bpftool_found_and_nothing_else() {
        // The @bpf section as `steps::host_facts` prints it on this lab
        // (bpftool 7, kernel 6.18: no tracing, ext, lsm or lirc_mode2),
        // shortened, with a line that is no program type.
        let text = "kernel=6.18.44-fc-v595\ncpus=2\n@sysctl\nnet.core.somaxconn = 4096\n\
                    @bpf\nsocket_filter\nkprobe\ntracepoint\nperf_event\nsyscall\n<b>junk</b>\n";
        let f = parse_facts(text);
        assert_eq!(f["kernel"], "6.18.44-fc-v595");
        assert_eq!(f["sysctl_net"]["net.core.somaxconn"], "4096");
        let types: Vec<&str> = f["bpf_program_types"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(
            types,
            [
                "socket_filter",
                "kprobe",
                "tracepoint",
                "perf_event",
                "syscall"
            ]
        );
        // Without bpftool there is no @bpf section and no claim either way.
        let f = parse_facts("kernel=6.1.0\n@sysctl\n");
        assert!(f.get("bpf_program_types").is_none());
    }
}
