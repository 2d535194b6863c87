//! Running programs on this machine for the lab, with errors that name the
//! command; and the lab lock that serializes concurrent `lab up`/`down`.

use super::LabError;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;

/// Runs a program; its stdout on success, an error naming it otherwise.
pub fn run(program: &str, args: &[&str]) -> Result<String, LabError> {
    let shown = || format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| LabError::Command {
            command: shown(),
            detail: format!("cannot start it: {e}"),
        })?;
    if !out.status.success() {
        return Err(LabError::Command {
            command: shown(),
            detail: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Does the program succeed? (For existence checks.)
pub fn ok(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a shell script with the local `sh` (the process scripts).
pub fn sh(script: &str) -> Result<String, LabError> {
    run("sh", &["-c", script])
}

/// An exclusive lock on the lab directory, held until dropped.
pub struct Lock {
    _file: std::fs::File,
}

pub fn lock(dir: &Path) -> Result<Lock, LabError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| LabError::io(format!("creating {}", dir.display()), e))?;
    let path = dir.join(".lock");
    let f = std::fs::File::create(&path)
        .map_err(|e| LabError::io(format!("creating {}", path.display()), e))?;
    // SAFETY: flock on a file descriptor we own.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(LabError::io(
            format!("locking {}", path.display()),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(Lock { _file: f })
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
