//! `lab up`, `lab down`, `lab status`: making the plan real, idempotently,
//! and removing exactly what it made. sshd runs as a process started and
//! stopped by PID through [`crate::shell::process`], like every other process.

use super::plan::{netns_name, LabHost, Plan, BRIDGE, GUARD_ROUTE};
use super::{packages, sys, LabError};
use crate::shell::process::{self, ProcessRecord, Stopped};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

const SSHD_READY: Duration = Duration::from_secs(10);
const SSHD_GRACE: Duration = Duration::from_secs(3);

/// What `up` had to do.
#[derive(Debug, Default)]
pub struct UpReport {
    pub installed: Vec<&'static str>,
    pub created: Vec<String>,
    pub started: Vec<String>,
}

fn netns_exists(ns: &str) -> bool {
    Path::new("/run/netns").join(ns).exists()
}

fn ns_link_exists(ns: &str, ifname: &str) -> bool {
    sys::ok("ip", &["-n", ns, "link", "show", ifname])
}

fn link_exists(ifname: &str) -> bool {
    sys::ok("ip", &["link", "show", ifname])
}

/// How long the kernel may take to remove a veth whose peer went away with
/// its namespace (it does so asynchronously, after `ip netns del` returned).
const LINK_GONE: Duration = Duration::from_secs(5);

/// Deletes a link on this machine, idempotently: a link that is already gone,
/// or that the kernel removes by itself while we ask (the peer of a veth
/// whose namespace was deleted), is success. Returns once the link is gone,
/// or an error naming it after [`LINK_GONE`].
/// `netns`: the namespace the link is in (`None`: this machine's).
fn del_link(netns: Option<&str>, ifname: &str) -> Result<(), LabError> {
    let exists = || match netns {
        Some(ns) => ns_link_exists(ns, ifname),
        None => link_exists(ifname),
    };
    let args: Vec<&str> = match netns {
        Some(ns) => vec!["-n", ns, "link", "del", ifname],
        None => vec!["link", "del", ifname],
    };
    let start = Instant::now();
    loop {
        if !exists() {
            return Ok(());
        }
        match sys::run("ip", &args) {
            Ok(_) => return Ok(()),
            // Raced with the kernel: check again whether it is gone.
            Err(_) if !exists() => return Ok(()),
            Err(e) if start.elapsed() >= LINK_GONE => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Waits until the kernel has removed a link by itself (see [`del_link`]).
fn wait_link_gone(ifname: &str) -> bool {
    let start = Instant::now();
    while link_exists(ifname) {
        if start.elapsed() >= LINK_GONE {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

pub fn up(plan: &Plan) -> Result<UpReport, LabError> {
    if !sys::is_root() {
        return Err(LabError::NotRoot);
    }
    let _lock = sys::lock(&plan.dir)?;
    let mut report = UpReport {
        installed: packages::ensure()?,
        ..Default::default()
    };
    if !Path::new("/sys/kernel/tracing/events").exists() {
        sys::run("mount", &["-t", "tracefs", "nodev", "/sys/kernel/tracing"])?;
        report.created.push("tracefs on /sys/kernel/tracing".into());
    }
    keys(plan)?;
    if !sys::run("ip", &["route", "show", "type", "unreachable", GUARD_ROUTE])?
        .contains(GUARD_ROUTE)
    {
        sys::run("ip", &["route", "add", "unreachable", GUARD_ROUTE])?;
        report.created.push(format!(
            "unreachable route {GUARD_ROUTE} (lab traffic stays on this machine)"
        ));
    }
    let renamed = super::bridge::ensure(plan, &mut report)?;
    for h in &plan.hosts {
        host_net(h, &mut report)?;
        if renamed {
            sys::run("ip", &["-n", &h.netns, "neigh", "flush", "dev", &h.ctrl_if])?;
        }
        std::fs::create_dir_all(&h.workdir)
            .map_err(|e| LabError::io(format!("creating {}", h.workdir.display()), e))?;
    }
    for l in &plan.links {
        let [a, b] = &l.ends;
        let ns = |host: &str| netns_name(host);
        if ns_link_exists(&ns(&a.0), &a.1) && ns_link_exists(&ns(&b.0), &b.1) {
            continue;
        }
        for end in [a, b] {
            del_link(Some(&ns(&end.0)), &end.1)?;
        }
        let [ta, tb] = &l.tmp_names;
        sys::run(
            "ip",
            &["link", "add", ta, "type", "veth", "peer", "name", tb],
        )?;
        for (tmp, (host, ifname, ip)) in [(ta, a), (tb, b)] {
            let n = ns(host);
            sys::run("ip", &["link", "set", tmp, "netns", &n])?;
            sys::run("ip", &["-n", &n, "link", "set", tmp, "name", ifname])?;
            sys::run(
                "ip",
                &["-n", &n, "addr", "add", &format!("{ip}/24"), "dev", ifname],
            )?;
            sys::run("ip", &["-n", &n, "link", "set", ifname, "up"])?;
        }
        report.created.push(format!(
            "test link {} {}:{} <-> {}:{}",
            l.env, a.0, a.1, b.0, b.1
        ));
    }
    std::fs::create_dir_all("/run/sshd")
        .map_err(|e| LabError::io("creating /run/sshd".into(), e))?;
    for h in &plan.hosts {
        let current = std::fs::read_to_string(plan.sshd_config(h)).ok();
        let running = sshd_record(plan, h).is_some_and(|r| alive(&r));
        if running && current.as_deref() == Some(sshd_config_text(plan, h).as_str()) {
            continue;
        }
        if running {
            stop_sshd(plan, h)?;
        }
        start_sshd(plan, h)?;
        report
            .started
            .push(format!("sshd for {} on {}:22", h.name, h.ip));
    }
    Ok(report)
}

fn host_net(h: &LabHost, report: &mut UpReport) -> Result<(), LabError> {
    if !netns_exists(&h.netns) {
        sys::run("ip", &["netns", "add", &h.netns])?;
        report.created.push(format!("netns {}", h.netns));
    }
    sys::run("ip", &["-n", &h.netns, "link", "set", "lo", "up"])?;
    if ns_link_exists(&h.netns, &h.ctrl_if) {
        return Ok(());
    }
    del_link(None, &h.veth)?;
    let peer = format!("{}p", h.veth);
    sys::run(
        "ip",
        &[
            "link", "add", &h.veth, "type", "veth", "peer", "name", &peer,
        ],
    )?;
    sys::run("ip", &["link", "set", &peer, "netns", &h.netns])?;
    sys::run(
        "ip",
        &["-n", &h.netns, "link", "set", &peer, "name", &h.ctrl_if],
    )?;
    sys::run(
        "ip",
        &[
            "-n",
            &h.netns,
            "addr",
            "add",
            &format!("{}/24", h.ip),
            "dev",
            &h.ctrl_if,
        ],
    )?;
    sys::run("ip", &["-n", &h.netns, "link", "set", &h.ctrl_if, "up"])?;
    sys::run("ip", &["link", "set", &h.veth, "master", BRIDGE, "up"])?;
    // A new veth has a new MAC address: forget the one this machine may
    // have cached for the host's address, or connections to it time out
    // until the kernel gives up on the old one (seconds to a minute).
    sys::run(
        "ip",
        &["neigh", "flush", "to", &h.ip.to_string(), "dev", BRIDGE],
    )?;
    report
        .created
        .push(format!("{} {}/24 in {}", h.ctrl_if, h.ip, h.netns));
    Ok(())
}

fn public_key(private: &Path) -> Result<String, LabError> {
    let pubf = private.with_extension("pub");
    let pubf = if pubf.exists() {
        pubf
    } else {
        format!("{}.pub", private.display()).into()
    };
    let text = std::fs::read_to_string(&pubf)
        .map_err(|e| LabError::io(format!("reading {}", pubf.display()), e))?;
    Ok(text
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" "))
}

fn keygen(path: &Path, comment: &str) -> Result<(), LabError> {
    if path.exists() {
        return Ok(());
    }
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)
            .map_err(|e| LabError::io(format!("creating {}", d.display()), e))?;
    }
    sys::run(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            comment,
            "-f",
            &p(path),
        ],
    )
    .map(drop)
}

/// User key, host keys, authorized_keys, and the lab's known_hosts lines.
fn keys(plan: &Plan) -> Result<(), LabError> {
    keygen(&plan.identity_file, "ebpf-perf-lab")?;
    let auth = public_key(&plan.identity_file)? + "\n";
    std::fs::write(plan.authorized_keys(), auth)
        .map_err(|e| LabError::io("writing authorized_keys".into(), e))?;
    let mut ours = Vec::new();
    for h in &plan.hosts {
        keygen(&plan.host_key(h), &h.name)?;
        ours.push(format!("{} {}", h.ip, public_key(&plan.host_key(h))?));
    }
    // Keep other people's lines; replace the lab hosts' own.
    let lab_ips: Vec<String> = plan.hosts.iter().map(|h| h.ip.to_string()).collect();
    let old = std::fs::read_to_string(&plan.known_hosts).unwrap_or_default();
    let mut lines: Vec<String> = old
        .lines()
        .filter(|l| {
            !l.split_whitespace()
                .next()
                .is_some_and(|f| lab_ips.iter().any(|ip| ip == f))
        })
        .map(str::to_string)
        .collect();
    lines.extend(ours);
    if let Some(d) = plan.known_hosts.parent() {
        std::fs::create_dir_all(d)
            .map_err(|e| LabError::io(format!("creating {}", d.display()), e))?;
    }
    std::fs::write(&plan.known_hosts, lines.join("\n") + "\n")
        .map_err(|e| LabError::io(format!("writing {}", plan.known_hosts.display()), e))
}

fn sshd_record(plan: &Plan, h: &LabHost) -> Option<ProcessRecord> {
    let pid_file = p(&plan.sshd_pid_file(h));
    let text = std::fs::read_to_string(&pid_file).ok()?;
    process::parse_started(&format!("started {text}"), &pid_file)
}

fn alive(r: &ProcessRecord) -> bool {
    sys::sh(&process::alive_script(r)).is_ok_and(|o| o.trim() == "alive")
}

/// The lab's sshd configuration. `SetEnv SHLVL=1`: Debian's bash sources
/// ~/.bashrc for commands run by sshd unless SHLVL is set; lab hosts need
/// nothing from it, and on a machine whose .bashrc is slow (pyenv init: ~48 ms)
/// every remote command would pay for it.
fn sshd_config_text(plan: &Plan, h: &LabHost) -> String {
    format!(
        "# ebpf-perf lab sshd (v2: tracefs, debugfs and bpffs mounted in its namespace)\n\
         Port 22\nListenAddress {ip}\nHostKey {key}\nPidFile none\nAuthorizedKeysFile {auth}\n\
         PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
         UsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\nMaxSessions 64\nMaxStartups 64:30:128\n\
         SetEnv SHLVL=1\nLogLevel ERROR\n",
        ip = h.ip,
        key = p(&plan.host_key(h)),
        auth = p(&plan.authorized_keys()),
    )
}

fn start_sshd(plan: &Plan, h: &LabHost) -> Result<(), LabError> {
    let conf = sshd_config_text(plan, h);
    let conf_path = plan.sshd_config(h);
    if let Some(d) = conf_path.parent() {
        std::fs::create_dir_all(d)
            .map_err(|e| LabError::io(format!("creating {}", d.display()), e))?;
    }
    std::fs::write(&conf_path, conf)
        .map_err(|e| LabError::io(format!("writing {}", conf_path.display()), e))?;
    let cmd = crate::shell::steps::lab_sshd(&h.netns, &p(&conf_path));
    let log = p(&plan.sshd_log(h));
    let pid_file = p(&plan.sshd_pid_file(h));
    let out = sys::sh(&process::start_script(&cmd, &log, &log, &pid_file))?;
    process::parse_started(&out, &pid_file).ok_or_else(|| LabError::Command {
        command: cmd.clone(),
        detail: format!("printed no PID: {out}"),
    })?;
    let addr = SocketAddr::from((h.ip, 22));
    let start = Instant::now();
    while start.elapsed() < SSHD_READY {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(LabError::SshdNotReady {
        host: h.name.clone(),
        addr: addr.to_string(),
        secs: SSHD_READY.as_secs(),
        log: plan.sshd_log(h),
    })
}

fn stop_sshd(plan: &Plan, h: &LabHost) -> Result<Option<Stopped>, LabError> {
    let Some(r) = sshd_record(plan, h) else {
        return Ok(None);
    };
    let out = sys::sh(&process::stop_script(&r, SSHD_GRACE))?;
    let _ = std::fs::remove_file(plan.sshd_pid_file(h));
    Ok(process::parse_stopped(&out))
}

/// Stops and starts one host's sshd, with its open sessions (as a reboot
/// would end them).
pub fn restart_sshd(plan: &Plan, host: &str) -> Result<(), LabError> {
    let h = plan
        .hosts
        .iter()
        .find(|h| h.name == host)
        .ok_or_else(|| LabError::Plan(format!("{host} is not a lab host")))?;
    let _lock = sys::lock(&plan.dir)?;
    stop_sshd(plan, h)?;
    start_sshd(plan, h)
}

/// Removes the namespaces, links and sshd processes of the plan; reports what
/// could not be removed. Keys stay, so strict host key checking survives, and
/// so does the unreachable guard route, so that nothing sent to a lab address
/// while the lab is down leaves this machine.
pub fn down(plan: &Plan) -> Result<Vec<String>, LabError> {
    if !sys::is_root() {
        return Err(LabError::NotRoot);
    }
    let _lock = sys::lock(&plan.dir)?;
    let mut removed = Vec::new();
    let mut left = Vec::new();
    for h in &plan.hosts {
        match stop_sshd(plan, h) {
            Ok(Some(Stopped::NotOurs { detail })) => left.push(format!(
                "{}: recorded sshd PID now belongs to another process ({detail}); left alone",
                h.name
            )),
            Ok(Some(s)) => removed.push(format!("sshd of {} ({s:?})", h.name)),
            Ok(None) => {}
            Err(e) => left.push(format!("{}: stopping sshd: {e}", h.name)),
        }
        if netns_exists(&h.netns) {
            let pids = sys::run("ip", &["netns", "pids", &h.netns]).unwrap_or_default();
            let pids: Vec<&str> = pids.split_whitespace().collect();
            if !pids.is_empty() {
                left.push(format!(
                    "{}: processes still inside, not started by the lab: PIDs {} (stop them by PID)",
                    h.netns,
                    pids.join(" ")
                ));
            }
            match sys::run("ip", &["netns", "del", &h.netns]) {
                Ok(_) => removed.push(format!("netns {}", h.netns)),
                Err(e) => left.push(e.to_string()),
            }
        }
        if let Err(e) = del_link(None, &h.veth) {
            left.push(e.to_string());
        }
    }
    if link_exists(BRIDGE) {
        match del_link(None, BRIDGE) {
            Ok(_) => removed.push(format!("bridge {BRIDGE}")),
            Err(e) => left.push(e.to_string()),
        }
    }
    for l in &plan.links {
        for t in &l.tmp_names {
            if !wait_link_gone(t) {
                left.push(format!(
                    "link {t} still exists {} s after its namespace was deleted",
                    LINK_GONE.as_secs()
                ));
            }
        }
    }
    if !left.is_empty() {
        return Err(LabError::Leftovers(left));
    }
    Ok(removed)
}

/// One row of `lab status`.
#[derive(Debug, Clone)]
pub struct HostStatus {
    pub name: String,
    pub netns: String,
    pub netns_present: bool,
    pub address: String,
    pub sshd_pid: Option<u32>,
    pub sshd_alive: bool,
    pub reachable: bool,
}

pub fn status(plan: &Plan) -> Vec<HostStatus> {
    plan.hosts
        .iter()
        .map(|h| {
            let rec = sshd_record(plan, h);
            HostStatus {
                name: h.name.clone(),
                netns: h.netns.clone(),
                netns_present: netns_exists(&h.netns),
                address: format!("{}/24 {}", h.ip, h.ctrl_if),
                sshd_pid: rec.as_ref().map(|r| r.pid),
                sshd_alive: rec.as_ref().is_some_and(alive),
                // Probe only a present namespace: an absent lab address must not be tried.
                reachable: netns_exists(&h.netns)
                    && TcpStream::connect_timeout(
                        &SocketAddr::from((h.ip, 22)),
                        Duration::from_millis(500),
                    )
                    .is_ok(),
            }
        })
        .collect()
}
