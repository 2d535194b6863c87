//! The conditions a trial was measured under (seed 002's condition check):
//! its test's duration, commands, bandwidth and streams, the CPU wake-up
//! latency its hosts held, and their kernel and NIC. A baseline or an earlier trial from another results file
//! is paired with a trial of this run only when these match (or with
//! `--allow-mismatch`); [`Conditions::differences`] names what differs.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conditions {
    pub duration_s: u32,
    /// The server's and the client's command templates (and sar's).
    pub commands: Vec<String>,
    pub target_bw: Option<String>,
    pub streams: u32,
    /// The hosts' CPU wake-up latency limit during runs (µs), when held.
    pub cpu_latency_us: Option<u32>,
    /// By role (`server`, `client`): what its host was; empty when the
    /// conditions come from the configuration alone.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hosts: BTreeMap<String, HostConditions>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostConditions {
    pub kernel: Option<String>,
    /// The test interface: `driver; offloads on: a, b` (fixed ones left out).
    pub nic: Option<String>,
}

impl Conditions {
    /// What differs between `self` (this run) and `then`, as phrases that
    /// name both values. Hosts are compared by role, where both sides
    /// recorded them.
    pub fn differences(&self, then: &Conditions) -> Vec<String> {
        let mut out = Vec::new();
        if self.duration_s != then.duration_s {
            out.push(format!(
                "duration {} s here, {} s there",
                self.duration_s, then.duration_s
            ));
        }
        if self.commands != then.commands {
            let (a, b) = self
                .commands
                .iter()
                .zip(&then.commands)
                .find(|(a, b)| a != b)
                .map_or(
                    (self.commands.join(" | "), then.commands.join(" | ")),
                    |(a, b)| (a.clone(), b.clone()),
                );
            out.push(format!("command `{a}` here, `{b}` there"));
        }
        if self.target_bw != then.target_bw {
            let bw = |b: &Option<String>| b.clone().unwrap_or_else(|| "none".into());
            out.push(format!(
                "bandwidth {} here, {} there",
                bw(&self.target_bw),
                bw(&then.target_bw)
            ));
        }
        if self.streams != then.streams {
            out.push(format!(
                "streams {} here, {} there",
                self.streams, then.streams
            ));
        }
        if self.cpu_latency_us != then.cpu_latency_us {
            let held =
                |v: Option<u32>| v.map_or("not held".into(), |us| format!("held at {us} µs"));
            out.push(format!(
                "CPU wake-up latency {} here, {} there",
                held(self.cpu_latency_us),
                held(then.cpu_latency_us)
            ));
        }
        for (role, now) in &self.hosts {
            let Some(was) = then.hosts.get(role) else {
                continue;
            };
            let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
            for (what, a, b) in [
                ("kernel", &now.kernel, &was.kernel),
                ("NIC", &now.nic, &was.nic),
            ] {
                if a != b {
                    out.push(format!("{role} {what} {} here, {} there", text(a), text(b)));
                }
            }
        }
        // `then` is another results file's: its words are shown, not obeyed.
        out.into_iter()
            .map(|d| crate::untrusted::visible(&d).into_owned())
            .collect()
    }

    /// The conditions without the hosts (what the configuration alone says).
    pub fn without_hosts(&self) -> Conditions {
        Conditions {
            hosts: BTreeMap::new(),
            ..self.clone()
        }
    }
}

/// A host's conditions from its facts (`kernel`, `nics.IFACE.driver_info`
/// and `.offloads`), for its test interface.
pub fn host_conditions(facts: Option<&serde_json::Value>, interface: &str) -> HostConditions {
    let Some(f) = facts else {
        return HostConditions::default();
    };
    let nic = f.get("nics").and_then(|n| n.get(interface)).map(|n| {
        let driver = n
            .pointer("/driver_info/driver")
            .and_then(|d| d.as_str())
            .unwrap_or("unknown driver");
        let mut on: Vec<&str> = n
            .get("offloads")
            .and_then(|o| o.as_object())
            .into_iter()
            .flatten()
            .filter(|(_, v)| v.as_str().is_some_and(|v| v == "on"))
            .map(|(k, _)| k.as_str())
            .collect();
        on.sort_unstable();
        format!("{driver}; offloads on: {}", on.join(", "))
    });
    HostConditions {
        kernel: f.get("kernel").and_then(|k| k.as_str()).map(str::to_string),
        nic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_facts() -> serde_json::Value {
        let text = crate::test_data("results_lab.json");
        let r: serde_json::Value = serde_json::from_str(&text).unwrap();
        r["session"]["hosts"]["host-server"].clone()
    }

    fn cond() -> Conditions {
        Conditions {
            duration_s: 10,
            commands: vec![
                "netserver -D -p {port}".into(),
                "netperf -H {server_ip}".into(),
            ],
            target_bw: None,
            streams: 1,
            cpu_latency_us: Some(0),
            hosts: [(
                "server".to_string(),
                host_conditions(Some(&lab_facts()), "port-storage"),
            )]
            .into(),
        }
    }

    #[test]
    fn the_same_conditions_have_no_difference() {
        assert!(cond().differences(&cond()).is_empty());
        // A file from the configuration alone is compared on what it has.
        assert!(cond().differences(&cond().without_hosts()).is_empty());
    }

    #[test]
    fn each_difference_is_named_with_both_values() {
        let now = cond();
        let mut then = cond();
        then.duration_s = 30;
        then.commands[1] = "netperf -H {server_ip} -l 30".into();
        then.target_bw = Some("1G".into());
        then.streams = 4;
        then.cpu_latency_us = None;
        let s = then.hosts.get_mut("server").unwrap();
        s.kernel = Some("6.1.0-18-amd64".into());
        s.nic = Some(
            s.nic
                .clone()
                .unwrap()
                .replace("tcp-segmentation-offload, ", ""),
        );
        let d = now.differences(&then);
        assert_eq!(d.len(), 7, "{d:#?}");
        assert_eq!(d[0], "duration 10 s here, 30 s there");
        assert_eq!(
            d[1],
            "command `netperf -H {server_ip}` here, `netperf -H {server_ip} -l 30` there"
        );
        assert_eq!(d[2], "bandwidth none here, 1G there");
        assert_eq!(d[3], "streams 1 here, 4 there");
        assert_eq!(
            d[4],
            "CPU wake-up latency held at 0 µs here, not held there"
        );
        assert!(d[5].starts_with("server kernel 6.18.44-fc-v595 here, 6.1.0-18-amd64 there"));
        assert!(
            d[6].starts_with("server NIC veth; offloads on:"),
            "{}",
            d[6]
        );
    }

    // Issue 31 (4): the other file's values are shown, not obeyed.
    #[test]
    fn a_difference_shows_the_other_files_controls() {
        let now = cond();
        let mut then = cond();
        then.hosts.get_mut("server").unwrap().kernel = Some("6.1\u{1b}]0;PWNED\u{7}".into());
        let d = now.differences(&then);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].ends_with("here, 6.1\\x1b]0;PWNED\\x07 there"),
            "{}",
            d[0]
        );
    }

    #[test]
    fn a_nic_reads_as_driver_and_the_offloads_that_are_on() {
        let h = host_conditions(Some(&lab_facts()), "port-storage");
        let nic = h.nic.unwrap();
        assert!(nic.starts_with("veth; offloads on: "), "{nic}");
        assert!(nic.contains("tcp-segmentation-offload") && !nic.contains("large-receive-offload"));
        assert_eq!(host_conditions(None, "x"), HostConditions::default());
    }
}
