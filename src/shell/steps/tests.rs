//! The command texts of `steps`, run by a real `sh` where what they do matters.

use super::*;
use std::process::Command;

fn sh(script: &str) -> std::process::Output {
    Command::new("sh").arg("-c").arg(script).output().unwrap()
}

#[test]
fn values_with_shell_characters_reach_the_commands_as_one_word() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("a b'$(touch x)\"`;c");
    let o = sh(&mkdir_p(&[odd.display().to_string()]));
    assert!(o.status.success() && odd.is_dir(), "{o:?}");
    assert!(!dir.path().join("x").exists());
    let made = sh(&make_unique_dir(
        &odd.join("t").display().to_string(),
        &["run 1/x"],
        "",
    ));
    let made = String::from_utf8_lossy(&made.stdout).trim().to_string();
    assert!(
        std::path::Path::new(&made).join("run 1/x").is_dir(),
        "{made}"
    );
    let again = sh(&make_unique_dir(
        &odd.join("t").display().to_string(),
        &[],
        "",
    ));
    assert!(String::from_utf8_lossy(&again.stdout)
        .trim()
        .ends_with("t_1"));
}

#[test]
fn the_space_guard_names_an_odd_directory_verbatim() {
    let o = sh(&(space_guard("/proc", 8192) + "echo room"));
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("ebpf-perf: /proc: No space left on device"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let o = sh(&(space_guard(&dir.path().display().to_string(), 8192) + "echo room"));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "room\n");
}

#[test]
fn a_remote_write_leaves_no_predictable_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/f.json");
    // A symlink at the old temporary name must not be followed.
    std::fs::create_dir_all(dir.path().join("sub")).unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join("sub/f.json.tmp.ebpf-perf")).unwrap();
    let o = Command::new("sh")
        .arg("-c")
        .arg(write_stdin_to(&path.display().to_string()))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"data")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(o.status.success());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "data");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert_eq!(
        std::fs::read_dir(dir.path().join("sub")).unwrap().count(),
        2
    );
}

/// The pinned command and what it starts run on the listed CPUs only.
#[test]
fn a_pinned_command_and_its_children_run_on_its_cpus() {
    let o = sh(&pinned(
        "sh -c 'grep Cpus_allowed_list /proc/self/status'",
        Some("0"),
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "Cpus_allowed_list:\t0"
    );
    assert_eq!(pinned("x y", None), "x y");
    // A simple command needs no shell of its own; others keep theirs.
    assert_eq!(
        pinned("netserver -p 1", Some("1")),
        "exec taskset -c 1 netserver -p 1"
    );
    assert_eq!(
        pinned("a > b", Some("1")),
        "exec taskset -c 1 sh -c 'a > b'"
    );
    assert_eq!(
        in_shell(Some("bash"), "echo {a,b}"),
        "exec bash -c 'echo {a,b}'"
    );
    assert_eq!(in_shell(None, "echo x"), "echo x");
    // Under bash: brace expansion is bash's.
    let o = sh(&in_shell(Some("bash"), "echo x{a,b}"));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "xa xb\n");
    let o = sh(&pinned(
        "grep Cpus_allowed_list /proc/self/status",
        Some("0"),
    ));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "Cpus_allowed_list:\t0"
    );
}

/// A port that listens is seen in /proc/net/tcp at once; one that does
/// not fails after the timeout, naming the port.
#[test]
fn ready_sees_a_listening_port_and_times_out_on_a_closed_one() {
    let d = tempfile::tempdir().unwrap();
    let pid_file = d.path().join("s.pid").display().to_string();
    let log = d.path().join("s.log").display().to_string();
    let start = crate::shell::process::start_script("exec sleep 30", &log, &log, &pid_file);
    let rec = crate::shell::process::parse_started(
        &String::from_utf8_lossy(&sh(&start).stdout),
        &pid_file,
    )
    .unwrap();
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = open.local_addr().unwrap().port();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ok = sh(&(ready_prelude(1) + &ready(port, &pid_file, &log)));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let t = std::time::Instant::now();
    let no = sh(&(ready_prelude(1) + &ready(closed, &pid_file, &log)));
    assert_eq!(no.status.code(), Some(1));
    assert!(t.elapsed() >= Duration::from_millis(900));
    let err = String::from_utf8_lossy(&no.stderr);
    assert!(
        err.contains(&format!("port {closed} is not listening after 1 s")),
        "{err}"
    );
    sh(&crate::shell::process::stop_script(
        &rec,
        Duration::from_secs(1),
    ));
}

#[test]
fn the_bpf_probe_runs_once_per_boot_and_its_answer_is_kept() {
    // A stand-in bpftool that counts its calls and prints two lines as
    // bpftool 7 does (one type available, one not).
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let calls = dir.path().join("calls");
    let tool = bin.join("bpftool");
    std::fs::write(
        &tool,
        format!(
            "#!/bin/sh\necho x >> {}\necho 'eBPF program_type kprobe is available'\necho 'eBPF program_type lsm is NOT available'\n",
            quote(&calls.display().to_string())
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cache = dir.path().join("work dir");
    std::fs::create_dir(&cache).unwrap();
    let script = format!(
        "PATH={}:\"$PATH\"; {}",
        quote(&bin.display().to_string()),
        host_facts(&[], &cache.display().to_string())
    );
    for _ in 0..2 {
        let o = sh(&script);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{o:?}");
        assert!(out.ends_with("@bpf\nkprobe\n"), "{out}");
    }
    let n = std::fs::read_to_string(&calls).unwrap().lines().count();
    assert_eq!(n, 1, "the second call reads the kept answer");
    // Where the cache cannot be written, the facts still come, without
    // program types.
    let gone = host_facts(&[], "/nonexistent/ebpf-perf");
    let o = sh(&format!(
        "PATH={}:\"$PATH\"; {gone}",
        quote(&bin.display().to_string())
    ));
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).ends_with("@bpf\n"),
        "{o:?}"
    );
}
