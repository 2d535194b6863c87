//! Whether a host can run what it is asked to: reachable, authenticated,
//! its host key, a writable workdir, and the programs on its PATH.

use crate::config::Config;
use crate::host::remote::{Remote, SHORT};

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

/// Connects to one host and checks its workdir and `tools`.
pub fn probe(cfg: &Config, remote: &Remote, name: &str, tools: &[String]) -> HostCheck {
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
    let probe = crate::shell::steps::probe(&h.workdir, tools);
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
