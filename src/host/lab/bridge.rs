//! The lab's bridge: the controller's side of every host's control link,
//! with a MAC address of its own (`BRIDGE_MAC`) so that making a host's
//! link anew never changes it.

use super::plan::{Plan, BRIDGE, BRIDGE_MAC};
use super::{sys, LabError, UpReport};

/// The bridge's MAC address, as the kernel shows it.
fn mac() -> Result<String, LabError> {
    let path = format!("/sys/class/net/{BRIDGE}/address");
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(|e| LabError::io(format!("reading {path}"), e))
}

/// Makes the bridge, with its address and `BRIDGE_MAC`, and brings it up.
/// True when an existing bridge had another MAC address (one made by an
/// older ebpf-perf follows its ports'): the hosts must forget it.
pub(super) fn ensure(plan: &Plan, report: &mut UpReport) -> Result<bool, LabError> {
    if !std::path::Path::new(&format!("/sys/class/net/{BRIDGE}")).exists() {
        sys::run(
            "ip",
            &[
                "link", "add", BRIDGE, "address", BRIDGE_MAC, "type", "bridge",
            ],
        )?;
        let addr = format!("{}/24", plan.bridge_ip);
        sys::run("ip", &["addr", "add", &addr, "dev", BRIDGE])?;
        report.created.push(format!("bridge {BRIDGE} {addr}"));
    }
    let renamed = mac()? != BRIDGE_MAC;
    if renamed {
        sys::run("ip", &["link", "set", BRIDGE, "address", BRIDGE_MAC])?;
        report
            .created
            .push(format!("bridge {BRIDGE} address {BRIDGE_MAC}"));
    }
    sys::run("ip", &["link", "set", BRIDGE, "up"])?;
    Ok(renamed)
}
