//! Room on the hosts' disks. A trial starts only when its result directory
//! has [`MIN_FREE_KB`] free, and the raw output of a run is renamed from
//! `.part` to its name only when its directory still has that much after the
//! run: a write that hit a full disk leaves a `.part` file and a failed trial
//! ("no space", with host and path), never a short file under a good name.

/// Free space a trial needs in its result directory, before and after each
/// run. Far more than a trial writes (kilobytes to a few megabytes).
pub const MIN_FREE_KB: u64 = 8 * 1024;

/// Shell lines that exit 3 when `dir` has less than [`MIN_FREE_KB`] free,
/// with a stderr line that [`crate::host::remote`] turns into a "no space" error
/// naming `dir`.
pub fn guard(dir: &str) -> String {
    crate::shell::steps::space_guard(dir, MIN_FREE_KB)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    fn run(dir: &str) -> std::process::Output {
        Command::new("sh")
            .arg("-c")
            .arg(super::guard(dir) + "echo room")
            .output()
            .unwrap()
    }

    #[test]
    fn passes_with_room_and_names_the_directory_without() {
        let dir = tempfile::tempdir().unwrap();
        let out = run(&dir.path().display().to_string());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "room\n");
        // /proc has no free space at all.
        let out = run("/proc");
        assert_eq!(out.status.code(), Some(3));
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err.lines().next().unwrap();
        assert_eq!(
            crate::host::remote::exec::no_space_path(line).as_deref(),
            Some("/proc"),
            "{err}"
        );
    }
}
