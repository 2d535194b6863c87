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
    Ok(missing)
}

/// Installs Debian packages with apt-get (root only), `non-free` enabled.
pub fn install(packages: &[&str]) -> Result<(), LabError> {
    enable_non_free()?;
    sys::run("apt-get", &["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(packages);
    let out = std::process::Command::new("apt-get")
        .args(&args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .map_err(|e| LabError::io("running apt-get".into(), e))?;
    if !out.status.success() {
        return Err(LabError::Command {
            command: format!("apt-get {}", args.join(" ")),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}
