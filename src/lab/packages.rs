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

/// Adds `non-free` to the deb822 sources or sources.list when it is absent.
fn enable_non_free() -> Result<(), LabError> {
    let deb822 = "/etc/apt/sources.list.d/debian.sources";
    let list = "/etc/apt/sources.list";
    if let Ok(text) = std::fs::read_to_string(deb822) {
        let new: Vec<String> = text
            .lines()
            .map(|l| {
                if l.starts_with("Components:")
                    && l.contains("main")
                    && !l.split_whitespace().any(|w| w == "non-free")
                {
                    format!("{l} non-free")
                } else {
                    l.to_string()
                }
            })
            .collect();
        let new = new.join("\n") + "\n";
        if new != text {
            std::fs::write(deb822, new)
                .map_err(|e| LabError::io(format!("writing {deb822}"), e))?;
        }
    } else if let Ok(text) = std::fs::read_to_string(list) {
        let new: Vec<String> = text
            .lines()
            .map(|l| {
                if l.starts_with("deb ")
                    && l.contains(" main")
                    && !l.split_whitespace().any(|w| w == "non-free")
                {
                    format!("{l} non-free")
                } else {
                    l.to_string()
                }
            })
            .collect();
        let new = new.join("\n") + "\n";
        if new != text {
            std::fs::write(list, new).map_err(|e| LabError::io(format!("writing {list}"), e))?;
        }
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
    enable_non_free()?;
    sys::run("apt-get", &["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
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
    Ok(missing)
}
