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

    // The bridge keeps its own MAC address whatever ports come and go. A
    // port with a lower address would otherwise become the bridge's, and
    // each host would send its replies to the old one until its ARP cache
    // gave up (a CI run's `hosts check` timed out so on an idle host).
    let bridge_mac = || std::fs::read_to_string("/sys/class/net/epbr0/address").unwrap();
    let before = bridge_mac();
    let ip = |args: &[&str]| assert!(Command::new("ip").args(args).status().unwrap().success());
    ip(&[
        "link",
        "add",
        "eplowtest",
        "address",
        "00:00:5e:00:53:01",
        "type",
        "veth",
        "peer",
        "name",
        "eplowtestp",
    ]);
    ip(&["link", "set", "eplowtest", "master", "epbr0", "up"]);
    let with_low_port = bridge_mac();
    ip(&["link", "del", "eplowtest"]);
    assert_eq!(with_low_port, before);
    // And every host answers at once, also one whose link was made anew.
    let h = plan.hosts.last().unwrap();
    ip(&["link", "del", &h.veth]);
    let o = ebpf_perf(&["lab", "up"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for h in &plan.hosts {
        let addr = std::net::SocketAddr::from((h.ip, 22));
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2))
            .unwrap_or_else(|e| panic!("{} right after `lab up`: {e}", h.name));
    }
}

#[test]
fn lab_refuses_a_configuration_that_is_not_a_lab() {
    let o = ebpf_perf(&["lab", "status", "--config-dir", "config/examples/seed-lab"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not say `lab: netns`"));
}
