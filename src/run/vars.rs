//! Placeholder values of the environment a command runs in.

use crate::config::Config;
use crate::naming;
use crate::perf::Vars;

/// Which side of an environment a host plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Server,
    Client,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
        }
    }
}

/// Facts of one host: `workdir`, `results_root`, `host`.
pub fn host(cfg: &Config, host: &str) -> Vars {
    let mut v = Vars::default();
    let workdir = cfg
        .ssh_hosts
        .get(host)
        .map(|h| h.workdir.as_str())
        .unwrap_or("/");
    v.set("workdir", workdir)
        .set("results_root", naming::results_root(workdir))
        .set("host", host);
    v
}

/// The host playing `role` in `env`.
pub fn host_of(cfg: &Config, env: &str, role: Role) -> String {
    let e = &cfg.environments[env];
    match role {
        Role::Server => e.server.ssh_ref.clone(),
        Role::Client => e.client.ssh_ref.clone(),
    }
}

/// Everything a command on `role`'s host of `env` may use.
pub fn env(cfg: &Config, env: &str, role: Role) -> Vars {
    let e = &cfg.environments[env];
    let mut v = host(cfg, &host_of(cfg, env, role));
    v.set("role", role.as_str())
        .set("env", env)
        .set("environment", env)
        .set("server_ip", &e.server.test_ip)
        .set("client_ip", &e.client.test_ip)
        .set("server_interface", &e.server.interface)
        .set("client_interface", &e.client.interface)
        .set(
            "interface",
            match role {
                Role::Server => &e.server.interface,
                Role::Client => &e.client.interface,
            },
        );
    for (k, val) in &e.vars {
        v.set(k, val.text());
    }
    v
}
