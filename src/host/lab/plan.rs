//! What the lab consists of, derived from a configuration.

use super::LabError;
use crate::config::resolve_path;
use crate::config::{Config, LabKind};
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Where the lab keeps its keys, sshd configs, logs and state.
pub const LAB_DIR: &str = "/var/lib/ebpf-perf-lab";
pub const BRIDGE: &str = "epbr0";
/// The bridge's own MAC address, set when it is made: a bridge without one
/// takes its lowest port's, so making a host's link anew could change it,
/// and every host would send its replies to the old one until its ARP
/// cache gave up on it (seconds: a CI run's `hosts check` timed out so).
/// Locally administered.
pub const BRIDGE_MAC: &str = "02:65:62:70:66:01";
const NETNS_PREFIX: &str = "ebpf-perf-";
/// Lab traffic never leaves this machine: this route makes every lab address
/// outside the namespaces unreachable instead of sending it to the default route.
pub const GUARD_ROUTE: &str = crate::naming::LAB_RANGE;

/// Name of the network namespace of a lab host.
pub fn netns_name(host: &str) -> String {
    format!("{NETNS_PREFIX}{host}")
}

/// Is the namespace of lab host `host` present?
pub fn host_present(host: &str) -> bool {
    std::path::Path::new("/run/netns")
        .join(netns_name(host))
        .exists()
}
const DEFAULT_CTRL_IF: &str = "eth0";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabHost {
    pub name: String,
    pub netns: String,
    pub ip: Ipv4Addr,
    /// Interface name inside the namespace (e.g. `ens4`).
    pub ctrl_if: String,
    /// The bridge-side end of its veth.
    pub veth: String,
    pub workdir: PathBuf,
}

/// A direct test link between a server and a client namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabLink {
    pub env: String,
    pub ends: [(String, String, Ipv4Addr); 2], // (host, interface, address)
    pub tmp_names: [String; 2],
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub dir: PathBuf,
    pub bridge_ip: Ipv4Addr,
    pub hosts: Vec<LabHost>,
    pub links: Vec<LabLink>,
    pub identity_file: PathBuf,
    pub known_hosts: PathBuf,
}

fn lab_ip(s: &str, what: &str) -> Result<Ipv4Addr, LabError> {
    let ip: Ipv4Addr = s
        .parse()
        .map_err(|_| LabError::Plan(format!("{what} {s:?} is not an IPv4 address")))?;
    if !crate::naming::in_lab_range(s) {
        return Err(LabError::Plan(format!(
            "{what} {ip} is outside 198.18.0.0/15; the lab only uses benchmarking addresses"
        )));
    }
    Ok(ip)
}

fn same_24(a: Ipv4Addr, b: Ipv4Addr) -> bool {
    a.octets()[..3] == b.octets()[..3]
}

impl Plan {
    pub fn from_config(cfg: &Config) -> Result<Plan, LabError> {
        if cfg.lab != Some(LabKind::Netns) {
            return Err(LabError::Plan(format!(
                "{}/ssh-config.yaml does not say `lab: netns`; the lab only provisions lab configurations",
                cfg.dir.display()
            )));
        }
        let mut hosts: Vec<LabHost> = Vec::new();
        let (mut identity, mut known) = (None, None);
        for (i, (name, h)) in cfg.ssh_hosts.iter().enumerate() {
            let ip = lab_ip(&h.host, &format!("ssh_hosts.{name}.host"))?;
            if h.port != 22 || h.user != "root" {
                return Err(LabError::Plan(format!(
                    "ssh_hosts.{name}: lab hosts use port 22 and user root"
                )));
            }
            let id = h
                .identity_file
                .as_deref()
                .map(|p| resolve_path(p, &cfg.dir))
                .ok_or_else(|| {
                    LabError::Plan(format!(
                        "ssh_hosts.{name}: lab hosts need identity_file (the lab writes that key)"
                    ))
                })?;
            let kh = h.known_hosts_file(&cfg.dir);
            if identity.get_or_insert(id.clone()) != &id || known.get_or_insert(kh.clone()) != &kh {
                return Err(LabError::Plan(
                    "all lab hosts must share one identity_file and one known_hosts".into(),
                ));
            }
            if let Some(first) = hosts.first() {
                if !same_24(first.ip, ip) {
                    return Err(LabError::Plan(format!(
                        "ssh_hosts.{name}: {ip} is not in {}/24 with the other lab hosts",
                        first.ip
                    )));
                }
            }
            hosts.push(LabHost {
                name: name.clone(),
                netns: netns_name(name),
                ip,
                ctrl_if: DEFAULT_CTRL_IF.into(),
                veth: format!("epc{i}"),
                workdir: PathBuf::from(&h.workdir),
            });
        }
        let first = hosts
            .first()
            .ok_or_else(|| LabError::Plan("no hosts".into()))?;
        let o = first.ip.octets();
        let bridge_ip = Ipv4Addr::new(o[0], o[1], o[2], 1);
        if hosts.iter().any(|h| h.ip == bridge_ip) {
            return Err(LabError::Plan(format!(
                "{bridge_ip} is the controller's bridge address; no host may use it"
            )));
        }
        let mut links = Vec::new();
        let pairs = cfg.environments.iter().flat_map(|(env_name, env)| {
            env.pairs()
                .into_iter()
                .enumerate()
                .map(move |(i, (server, client))| {
                    let name = if i == 0 {
                        env_name.clone()
                    } else {
                        format!("{env_name}.pools[{}]", i - 1)
                    };
                    (name, server, client)
                })
        });
        for (env_name, server, client) in pairs {
            let ends = [(server, "server"), (client, "client")];
            let mut link_ends = Vec::new();
            for (eh, role) in ends {
                let what = format!("test_environments.{env_name}.{role}");
                let test_ip = lab_ip(&eh.test_ip, &format!("{what}.test_ip"))?;
                let host = hosts
                    .iter_mut()
                    .find(|h| h.name == eh.ssh_ref)
                    .ok_or_else(|| LabError::Plan(format!("{what}.ssh_ref names no lab host")))?;
                if test_ip == host.ip {
                    // Tests run over the control interface: give it the configured name.
                    if host.ctrl_if != DEFAULT_CTRL_IF && host.ctrl_if != eh.interface {
                        return Err(LabError::Plan(format!(
                            "{}: control interface named both {} and {}",
                            host.name, host.ctrl_if, eh.interface
                        )));
                    }
                    host.ctrl_if = eh.interface.clone();
                } else {
                    link_ends.push((host.name.clone(), eh.interface.clone(), test_ip));
                }
            }
            match link_ends.len() {
                0 => {}
                2 => {
                    let i = links.len();
                    let (a, b) = (link_ends[0].clone(), link_ends[1].clone());
                    if !same_24(a.2, b.2) {
                        return Err(LabError::Plan(format!("test_environments.{env_name}: test IPs {} and {} are not in one /24", a.2, b.2)));
                    }
                    links.push(LabLink {
                        env: env_name.clone(),
                        ends: [a, b],
                        tmp_names: [format!("ept{i}a"), format!("ept{i}b")],
                    });
                }
                _ => {
                    return Err(LabError::Plan(format!(
                        "test_environments.{env_name}: server and client must both use their control address, or both a test link"
                    )))
                }
            }
        }
        Ok(Plan {
            dir: PathBuf::from(LAB_DIR),
            bridge_ip,
            hosts,
            links,
            identity_file: identity.unwrap_or_default(),
            known_hosts: known.unwrap_or_default(),
        })
    }

    pub fn host_key(&self, h: &LabHost) -> PathBuf {
        self.dir.join("hostkeys").join(&h.name)
    }
    pub fn sshd_config(&self, h: &LabHost) -> PathBuf {
        self.dir.join("sshd").join(format!("{}.conf", h.name))
    }
    pub fn sshd_pid_file(&self, h: &LabHost) -> PathBuf {
        self.dir.join("sshd").join(format!("{}.pid", h.name))
    }
    pub fn sshd_log(&self, h: &LabHost) -> PathBuf {
        self.dir.join("sshd").join(format!("{}.log", h.name))
    }
    pub fn authorized_keys(&self) -> PathBuf {
        self.dir.join("authorized_keys")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_config() -> Config {
        crate::config::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config"
        )))
        .unwrap()
    }

    /// The names of the hosts a plan's links join.
    fn link_hosts(p: &Plan) -> Vec<[String; 2]> {
        let mut v: Vec<[String; 2]> = p
            .links
            .iter()
            .map(|l| [l.ends[0].0.clone(), l.ends[1].0.clone()])
            .collect();
        v.sort();
        v
    }

    #[test]
    fn every_pool_gets_its_hosts_and_links_whichever_pool_a_run_uses() {
        let cfg = default_config();
        let plan = Plan::from_config(&cfg).unwrap();
        assert_eq!(plan.hosts.len(), 8);
        assert_eq!(
            link_hosts(&plan),
            [
                ["host-server".to_string(), "host-client".to_string()],
                ["host-server-2".to_string(), "host-client-2".to_string()],
            ]
        );
        let names: std::collections::BTreeSet<&String> =
            plan.links.iter().flat_map(|l| &l.tmp_names).collect();
        assert_eq!(names.len(), 4, "distinct temporary veth names");
        // A run on pool 2 plans the same lab (the harness brings it up).
        let mut on2 = cfg.clone();
        on2.use_pool(2);
        let plan2 = Plan::from_config(&on2).unwrap();
        assert_eq!(plan2.hosts, plan.hosts);
        assert_eq!(link_hosts(&plan2), link_hosts(&plan));
    }
}
