//! `ebpf-perf hosts check`: connects to every configured host and reports
//! reachability, authentication, host key status, a writable workdir, and the
//! required tools.

use crate::config::Config;
use crate::remote::{Remote, SHORT};
use crate::template::quote;

/// Tools every host needs for the performance tests.
pub const REQUIRED_TOOLS: &[&str] = &["iperf3", "netperf", "netserver", "sar", "bpftrace"];

#[derive(Debug, Clone)]
pub struct HostCheck {
    pub host: String,
    pub address: String,
    pub reachable: Result<(), String>,
    pub auth: String,
    pub host_key: String,
    pub workdir_writable: bool,
    pub missing: Vec<String>,
}

impl HostCheck {
    pub fn ok(&self) -> bool {
        self.reachable.is_ok() && self.workdir_writable && self.missing.is_empty()
    }
}

/// The first word of every eBPF command that runs on `host`.
fn ebpf_programs(cfg: &Config, host: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tool in cfg.tools.values() {
        for env_name in &tool.environments {
            let Some(env) = cfg.environments.get(env_name) else {
                continue;
            };
            for case in &tool.cases {
                let runs_here = match case.target {
                    crate::config::Target::Server => env.server.ssh_ref == host,
                    crate::config::Target::Client => env.client.ssh_ref == host,
                    crate::config::Target::Both => {
                        env.server.ssh_ref == host || env.client.ssh_ref == host
                    }
                };
                let first = case.command.split_whitespace().next().unwrap_or_default();
                if runs_here && !first.contains('{') && !out.iter().any(|p| p == first) {
                    out.push(first.to_string());
                }
            }
        }
    }
    out
}

pub fn check(cfg: &Config, remote: &Remote) -> Vec<HostCheck> {
    cfg.ssh_hosts
        .keys()
        .map(|name| probe(cfg, remote, name))
        .collect()
}

/// Connects to one host and checks its workdir and tools.
pub fn probe(cfg: &Config, remote: &Remote, name: &str) -> HostCheck {
    let Some(h) = cfg.ssh_hosts.get(name) else {
        return HostCheck {
            host: name.to_string(),
            address: "-".into(),
            reachable: Err(format!("{name} is not in ssh-config.yaml")),
            auth: "-".into(),
            host_key: "-".into(),
            workdir_writable: false,
            missing: Vec::new(),
        };
    };
    let mut row = HostCheck {
        host: name.to_string(),
        address: format!("{}@{}:{}", h.user, h.host, h.port),
        reachable: Ok(()),
        auth: "-".into(),
        host_key: "-".into(),
        workdir_writable: false,
        missing: Vec::new(),
    };
    match remote.connect(name) {
        Ok(info) => {
            row.auth = info.auth.as_str().into();
            row.host_key = info.key.to_string();
        }
        Err(e) => {
            row.reachable = Err(e.to_string());
            return row;
        }
    }
    let mut tools: Vec<String> = REQUIRED_TOOLS.iter().map(|s| s.to_string()).collect();
    tools.extend(ebpf_programs(cfg, name));
    let probe = format!(
        "d={wd}; mkdir -p \"$d\" && t=\"$d/.ebpf-perf-write-test.$$\" && : > \"$t\" && rm -f \"$t\" && echo workdir-ok\n\
         for t in {tools}; do command -v \"$t\" >/dev/null 2>&1 || echo \"missing $t\"; done",
        wd = quote(&h.workdir),
        tools = tools.iter().map(|t| quote(t).into_owned()).collect::<Vec<_>>().join(" ")
    );
    match remote.exec(name, &probe, SHORT) {
        Ok(out) => {
            row.workdir_writable = out.stdout.lines().any(|l| l == "workdir-ok");
            row.missing = out
                .stdout
                .lines()
                .filter_map(|l| l.strip_prefix("missing "))
                .map(str::to_string)
                .collect();
        }
        Err(e) => row.reachable = Err(e.to_string()),
    }
    row
}

/// The table `hosts check` prints.
pub fn table(rows: &[HostCheck]) -> String {
    let mut s = format!(
        "{:<14} {:<24} {:<10} {:<14} {:<8} {}\n",
        "HOST", "ADDRESS", "REACHABLE", "AUTH", "WORKDIR", "MISSING TOOLS / HOST KEY"
    );
    for r in rows {
        let reach = if r.reachable.is_ok() { "yes" } else { "NO" };
        s += &format!(
            "{:<14} {:<24} {:<10} {:<14} {:<8} {}\n",
            r.host,
            r.address,
            reach,
            r.auth,
            if r.workdir_writable { "ok" } else { "NO" },
            if r.missing.is_empty() {
                format!("none; key {}", r.host_key)
            } else {
                r.missing.join(", ")
            }
        );
        if let Err(e) = &r.reachable {
            s += &format!("    {e}\n");
        }
    }
    s
}
