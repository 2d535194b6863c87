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

/// Runs `f` with services kept from starting (a `policy-rc.d` that exits
/// 101, unless the machine has its own): installing openssh-server must not
/// start the system's sshd on port 22 of this machine.
fn without_service_starts<T>(
    policy: &std::path::Path,
    f: impl FnOnce() -> T,
) -> std::io::Result<T> {
    use std::os::unix::fs::PermissionsExt;
    if policy.exists() {
        return Ok(f());
    }
    std::fs::write(
        policy,
        "#!/bin/sh\n# ebpf-perf: no service starts while it installs packages\nexit 101\n",
    )?;
    std::fs::set_permissions(policy, std::fs::Permissions::from_mode(0o755))?;
    let out = f();
    std::fs::remove_file(policy)?;
    Ok(out)
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
}
