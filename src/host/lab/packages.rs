//! Installs the Debian packages the lab needs when they are missing (root
//! only). netperf lives in Debian's non-free component, which is enabled when
//! absent.

use super::{sys, LabError};

/// Packages the lab and the performance tests use.
pub const PACKAGES: &[&str] = &[
    "iperf3",
    "netperf",
    "openssh-server",
    "openssh-client",
    "sysstat",
    "bpftrace",
    "bpftool",
    "iproute2",
    "procps",
    "ethtool",
];

fn installed(pkg: &str) -> bool {
    sys::run("dpkg-query", &["-W", "-f=${Status}", pkg])
        .is_ok_and(|s| s.contains("install ok installed"))
}

pub fn missing() -> Vec<&'static str> {
    PACKAGES.iter().copied().filter(|p| !installed(p)).collect()
}

/// Adds `non-free` to the lines of `path` that `is_main` picks, when absent.
fn add_non_free(path: &str, is_main: fn(&str) -> bool) -> Result<bool, LabError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(false);
    };
    let new: String = text
        .lines()
        .map(|l| {
            if is_main(l) && !l.split_whitespace().any(|w| w == "non-free") {
                format!("{l} non-free\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    if new != text {
        std::fs::write(path, new).map_err(|e| LabError::io(format!("writing {path}"), e))?;
    }
    Ok(true)
}

/// Enables `non-free` in the deb822 sources, else in sources.list.
fn enable_non_free() -> Result<(), LabError> {
    let deb822 = add_non_free("/etc/apt/sources.list.d/debian.sources", |l| {
        l.starts_with("Components:") && l.contains("main")
    })?;
    if !deb822 {
        add_non_free("/etc/apt/sources.list", |l| {
            l.starts_with("deb ") && l.contains(" main")
        })?;
    }
    Ok(())
}

/// Installs what is missing; returns what was installed.
pub fn ensure() -> Result<Vec<&'static str>, LabError> {
    let missing = missing();
    if missing.is_empty() {
        return Ok(missing);
    }
    eprintln!("lab: installing {}", missing.join(" "));
    install(&missing)?;
    if missing.contains(&"openssh-server") {
        keep_system_sshd_off();
    }
    // The lab runs its own sshd in each namespace; one on this machine's
    // port 22 is not the lab's (a package script may have started it).
    if sys::run("ss", &["-Hltn", "sport = :22"]).is_ok_and(|o| !o.trim().is_empty()) {
        eprintln!(
            "lab: warning: something listens on port 22 of this machine (the system's sshd?); \
             the lab does not need it: stop it unless you meant it to run"
        );
    }
    Ok(missing)
}

/// Debian's switch that tells package scripts not to start services.
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";
/// The first line of ours after the shebang, with the PID that wrote it.
const OURS: &str = "# ebpf-perf: no service starts while it installs packages; pid ";

/// Removes the switch when dropped, on an error or a panic too.
struct Switch<'a>(&'a std::path::Path);

impl Drop for Switch<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0);
    }
}

/// A switch of ours that a `lab up` killed during apt left behind (its PID
/// no longer runs) blocks every service start of the machine: it goes.
fn remove_stale(policy: &std::path::Path) {
    let Ok(text) = std::fs::read_to_string(policy) else {
        return;
    };
    let pid = text
        .lines()
        .find_map(|l| l.strip_prefix(OURS))
        .and_then(|p| p.trim().parse::<u32>().ok());
    if let Some(pid) = pid {
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!(
                "lab: removing {} left by an interrupted `lab up` (PID {pid})",
                policy.display()
            );
            let _ = std::fs::remove_file(policy);
        }
    }
}

/// Runs `f` with services kept from starting (a `policy-rc.d` that exits
/// 101, unless the machine has its own): installing openssh-server must not
/// start the system's sshd on port 22 of this machine. The switch goes
/// however `f` ends; one an earlier run left goes first.
fn without_service_starts<T>(
    policy: &std::path::Path,
    f: impl FnOnce() -> T,
) -> std::io::Result<T> {
    use std::os::unix::fs::PermissionsExt;
    remove_stale(policy);
    if policy.exists() {
        return Ok(f());
    }
    let _switch = Switch(policy);
    std::fs::write(
        policy,
        format!("#!/bin/sh\n{OURS}{}\nexit 101\n", std::process::id()),
    )?;
    std::fs::set_permissions(policy, std::fs::Permissions::from_mode(0o755))?;
    Ok(f())
}

/// After openssh-server was installed here: the system's sshd unit is
/// disabled and masked where systemd runs, so that it does not start on
/// port 22 at the next boot either (the lab runs its own sshd per host).
fn keep_system_sshd_off() {
    if !std::path::Path::new("/run/systemd/system").exists() {
        return;
    }
    for unit in ["ssh.service", "ssh.socket"] {
        let _ = sys::run("systemctl", &["disable", "--now", unit]);
        let _ = sys::run("systemctl", &["mask", unit]);
    }
}

/// Installs Debian packages with apt-get (root only), `non-free` enabled,
/// no service started by their scripts.
pub fn install(packages: &[&str]) -> Result<(), LabError> {
    enable_non_free()?;
    sys::run("apt-get", &["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(packages);
    let apt = || {
        std::process::Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
    };
    let out = without_service_starts(std::path::Path::new(POLICY_RC_D), apt)
        .and_then(|o| o)
        .map_err(|e| LabError::io("running apt-get".into(), e))?;
    if !out.status.success() {
        return Err(LabError::Command {
            command: format!("apt-get {}", args.join(" ")),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_kept_from_starting_and_the_switch_is_removed_after() {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("policy-rc.d");
        let said = without_service_starts(&policy, || {
            std::process::Command::new(&policy).status().unwrap().code()
        })
        .unwrap();
        assert_eq!(said, Some(101), "invoke-rc.d reads 101 as: do not start");
        assert!(!policy.exists());
        // A machine's own policy is left as it is.
        std::fs::write(&policy, "mine").unwrap();
        without_service_starts(&policy, || ()).unwrap();
        assert_eq!(std::fs::read_to_string(&policy).unwrap(), "mine");
    }

    // Issue 31 (17): the switch goes when `f` panics, and one that a killed
    // run left (its PID gone) goes before the next install.
    #[test]
    fn the_switch_goes_on_a_panic_and_a_stale_one_goes_first() {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("policy-rc.d");
        let p = policy.clone();
        let panicked = std::panic::catch_unwind(move || {
            without_service_starts(&p, || panic!("apt-get went away")).unwrap()
        });
        assert!(panicked.is_err());
        assert!(!policy.exists());
        // A PID that no longer runs: a child that has exited.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        std::fs::write(&policy, format!("#!/bin/sh\n{OURS}{gone}\nexit 101\n")).unwrap();
        let said = without_service_starts(&policy, || {
            std::process::Command::new(&policy).status().unwrap().code()
        })
        .unwrap();
        assert_eq!(said, Some(101), "ours again, while f runs");
        assert!(!policy.exists());
        // One of a run that still runs (this one) is not taken away.
        std::fs::write(&policy, format!("{OURS}{}\n", std::process::id())).unwrap();
        remove_stale(&policy);
        assert!(policy.exists());
    }
}
