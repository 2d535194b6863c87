//! `lab down` removes exactly what `lab up` made; `lab up` repairs a
//! half-present lab. Its own test binary: taking the lab down must not race
//! other tests (cargo runs test binaries one after another).

mod common;
use common::ebpf_perf;

use ebpf_perf::host::lab::{self, Plan};
use std::path::Path;
use std::process::Command;

fn links() -> String {
    String::from_utf8_lossy(
        &Command::new("ip")
            .args(["-o", "link", "show"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned()
}

#[test]
fn down_leaves_nothing_and_up_repairs() {
    let Some(cfg) = common::lab() else { return };
    let plan = Plan::from_config(&cfg).unwrap();
    let sshd: Vec<u32> = lab::status(&plan)
        .iter()
        .map(|h| h.sshd_pid.expect("sshd running"))
        .collect();
    // An open SSH connection to every host: each sshd has per-connection
    // children in their own sessions (as a link drop leaves behind), which
    // `lab down` must stop with their sshd.
    let remote = ebpf_perf::host::remote::Remote::new(&cfg);
    for h in &plan.hosts {
        remote
            .exec(&h.name, "true", std::time::Duration::from_secs(10))
            .unwrap();
    }

    let o = ebpf_perf(&["lab", "down"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for h in &plan.hosts {
        assert!(
            !Path::new("/run/netns").join(&h.netns).exists(),
            "{} left",
            h.netns
        );
        assert!(
            !links().contains(&format!(" {}@", h.veth))
                && !links().contains(&format!(" {}:", h.veth)),
            "{} left",
            h.veth
        );
    }
    assert!(!links().contains("epbr0"), "bridge left");
    for pid in &sshd {
        // Gone, or a zombie waiting for init to reap it: not running.
        let state = ebpf_perf::host::proc::state(*pid);
        assert!(
            matches!(state, None | Some('Z')),
            "sshd {pid} still running ({state:?})"
        );
    }
    drop(remote);
    // Lab addresses are unreachable now, not routed off this machine.
    let route = Command::new("ip")
        .args(["route", "get", "198.18.0.11"])
        .output()
        .unwrap();
    assert!(
        !route.status.success(),
        "{}",
        String::from_utf8_lossy(&route.stdout)
    );
    let status = ebpf_perf(&["lab", "status"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("(absent)"));

    // Half-present: a namespace without its sshd (as after a reboot of the session).
    Command::new("ip")
        .args(["netns", "add", "ebpf-perf-host-server"])
        .status()
        .unwrap();
    let o = ebpf_perf(&["lab", "up"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let status = lab::status(&plan);
    assert!(
        status
            .iter()
            .all(|h| h.netns_present && h.sshd_alive && h.reachable),
        "{status:?}"
    );
    let o = ebpf_perf(&["hosts", "check"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn lab_refuses_a_configuration_that_is_not_a_lab() {
    let o = ebpf_perf(&["lab", "status", "--config-dir", "config/examples/seed-lab"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not say `lab: netns`"));
}
