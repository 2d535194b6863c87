//! Issue 31, "smaller, by reading": the shell text the product sends to
//! hosts, where a host's directory can hold what someone else put there
//! (a symlink, a directory at a file's name) or another run acts between
//! two commands. Each script runs here, under `sh`, as it runs there.

use ebpf_perf::shell::steps;
use std::path::Path;
use std::process::{Command, Output};

fn sh(script: &str, stdin: &str) -> Output {
    use std::io::Write;
    let mut c = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    c.wait_with_output().unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A file written to a name where a directory stands is an error, and a
/// symlink at the name is replaced: `mv` without `-T` moved the file into
/// the directory, or into the one the symlink points at.
#[test]
fn a_written_file_never_lands_inside_a_directory_at_its_name() {
    let d = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let dir_at_name = d.path().join("f");
    std::fs::create_dir(&dir_at_name).unwrap();
    let o = sh(
        &steps::write_stdin_to(&dir_at_name.display().to_string()),
        "x",
    );
    assert!(!o.status.success());
    assert!(
        entries(&dir_at_name).is_empty(),
        "{:?}",
        entries(&dir_at_name)
    );
    let link = d.path().join("g");
    std::os::unix::fs::symlink(elsewhere.path(), &link).unwrap();
    let o = sh(&steps::write_stdin_to(&link.display().to_string()), "y");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(entries(elsewhere.path()).is_empty());
    assert_eq!(std::fs::read_to_string(&link).unwrap(), "y");
    assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
}

/// A lease another run takes between our read of it and its removal stays
/// (a `cat` on PATH that stands for the other run: it hands back what the
/// lease held, then takes the lease over).
#[test]
fn releasing_a_lease_never_removes_one_another_run_took_meanwhile() {
    let d = tempfile::tempdir().unwrap();
    let lease = d.path().join("lease");
    std::fs::write(&lease, "mine").unwrap();
    let bin = d.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let shim = bin.join("cat");
    let real = ["/usr/bin/cat", "/bin/cat"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap();
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\n{real} \"$@\"\nprintf other > {}\n",
            lease.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = format!(
        "PATH={}:$PATH\n{}",
        bin.display(),
        steps::lease_release(&lease.display().to_string(), "mine")
    );
    let o = sh(&script, "");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(&lease).ok().as_deref(),
        Some("other"),
        "the other run's lease was removed"
    );
    assert_eq!(entries(d.path()), ["bin", "lease"]);
}

/// The workdir probe's test file has a name no one can guess: with
/// `$$` in it, a symlink planted at that name made the probe truncate its
/// target. In a new PID namespace the probing shell is PID 1, so the
/// planted name is the one `$$` gave.
#[test]
fn the_workdir_probe_never_writes_through_a_planted_symlink() {
    if !ebpf_perf::root_or_skip("a PID namespace") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let victim = d.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    let wd = d.path().join("wd");
    std::fs::create_dir(&wd).unwrap();
    std::os::unix::fs::symlink(&victim, wd.join(".ebpf-perf-write-test.1")).unwrap();
    let script = steps::probe(&wd.display().to_string(), &["sh".to_string()]);
    let o = Command::new("unshare")
        .args(["--pid", "--fork", "sh", "-c", "echo $$; exec sh -c \"$0\""])
        .arg(&script)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("workdir-ok"),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        out.lines().next(),
        Some("1"),
        "the probe did not run as PID 1"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
}
