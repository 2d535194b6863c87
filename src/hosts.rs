//! `ebpf-perf hosts check`: connects to every configured host and reports
//! reachability, authentication, host key status, a writable workdir, and
//! every program the configuration could run there.

use crate::config::Config;
use crate::host::probe::probe;
pub use crate::host::probe::HostCheck;
use crate::host::remote::Remote;
use crate::run::needs::all_tools;

pub fn check(cfg: &Config, remote: &Remote) -> Vec<HostCheck> {
    cfg.ssh_hosts
        .keys()
        .map(|name| probe(cfg, remote, name, &all_tools(cfg, name)))
        .collect()
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
