//! `ssh-config.yaml`: the hosts and how to reach them.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SshFile {
    /// `netns`: the hosts are the built-in lab, provisioned on demand.
    pub lab: Option<LabKind>,
    /// The hosts are real machines elsewhere: list, validate and generate
    /// workflows only; ebpf-perf refuses to connect to them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub list_only: bool,
    pub ssh_hosts: IndexMap<String, SshHost>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LabKind {
    Netns,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SshHost {
    pub host: String,
    #[serde(default = "default_ssh_port")]
    pub port: u16,
    pub user: String,
    pub workdir: String,
    pub identity_file: Option<String>,
    pub password_env: Option<String>,
    #[serde(default)]
    pub host_key_check: HostKeyCheck,
    /// known_hosts file to check and extend; default `~/.ssh/known_hosts`.
    pub known_hosts: Option<String>,
}

fn default_ssh_port() -> u16 {
    22
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyCheck {
    Strict,
    #[default]
    AcceptNew,
    Off,
}
