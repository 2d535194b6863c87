//! The built-in lab (docs/design.md §8): network namespaces on this machine, one per
//! configured host, each with its own sshd, joined to the controller by a
//! bridge, plus the separate test links the environments name. The plan is
//! derived from the configuration (`lab: netns`); `up` makes it real, `down`
//! removes exactly what `up` made.

mod bridge;
mod packages;
mod plan;
mod provision;
mod sys;

pub use packages::{install, PACKAGES};
pub use plan::{host_present, netns_name, LabHost, LabLink, Plan, GUARD_ROUTE, LAB_DIR};
pub use provision::{down, restart_sshd, status, up, HostStatus, UpReport};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("the lab needs root (network namespaces, sshd, packages); run as root, e.g. sudo ebpf-perf lab up")]
    NotRoot,
    #[error("{0}")]
    Plan(String),
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{host}: sshd did not accept connections on {addr} within {secs} s; see {log}")]
    SshdNotReady {
        host: String,
        addr: String,
        secs: u64,
        log: PathBuf,
    },
    #[error("lab down left things behind:\n  {}", .0.join("\n  "))]
    Leftovers(Vec<String>),
}

impl LabError {
    pub(crate) fn io(what: String, source: std::io::Error) -> LabError {
        LabError::Io { what, source }
    }
}

/// `ebpf-perf lab status`: one line per host.
pub fn status_table(plan: &Plan) -> String {
    let mut s = format!(
        "{:<12} {:<22} {:<22} {:<14} {}\n",
        "HOST", "NETNS", "ADDRESS", "SSHD PID", "REACHABLE"
    );
    for h in status(plan) {
        let pid = match (h.sshd_pid, h.sshd_alive) {
            (Some(p), true) => p.to_string(),
            (Some(p), false) => format!("{p} (dead)"),
            (None, _) => "-".into(),
        };
        let ns = if h.netns_present {
            h.netns
        } else {
            format!("{} (absent)", h.netns)
        };
        s += &format!(
            "{:<12} {:<22} {:<22} {:<14} {}\n",
            h.name,
            ns,
            h.address,
            pid,
            if h.reachable { "yes" } else { "no" }
        );
    }
    s
}
