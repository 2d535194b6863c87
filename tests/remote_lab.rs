//! The remote layer against the real sshd of the lab (host-server, host-client
//! and vm-client; tests that restart sshd use vm-client only).

mod common;

use ebpf_perf::config::HostKeyCheck;
use ebpf_perf::host::remote::{Remote, RemoteError, SHORT};
use ebpf_perf::shell::process::Stopped;
use ebpf_perf::template;
use rstest::rstest;
use std::borrow::Cow;
use std::time::{Duration, Instant};

const H: &str = "host-server";

fn remote() -> Option<(ebpf_perf::config::Config, Remote)> {
    let cfg = common::lab()?;
    let r = Remote::new(&cfg);
    Some((cfg, r))
}

fn unique(tag: &str) -> String {
    format!(
        "/tmp/ebpf-perf-test-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[test]
fn exit_code_stdout_stderr_and_session_reuse() {
    let Some((cfg, r)) = remote() else { return };
    let out = r.exec(H, "echo out; echo err >&2; exit 3", SHORT).unwrap();
    assert_eq!(
        (out.exit_code, out.stdout.as_str(), out.stderr.as_str()),
        (3, "out\n", "err\n")
    );
    // Commands start in the host's workdir (seed 001's `cd {workdir}`).
    let pwd = r.check(H, "pwd", SHORT).unwrap().stdout;
    assert_eq!(pwd.trim(), cfg.ssh_hosts[H].workdir.trim_end_matches('/'));
    let first = r.local_addr(H).unwrap();
    for _ in 0..5 {
        assert!(r.exec(H, "true", SHORT).unwrap().success());
    }
    assert_eq!(
        r.local_addr(H).unwrap(),
        first,
        "commands reuse one session"
    );
    let err = r.check(H, "echo boom >&2; false", SHORT).unwrap_err();
    assert!(matches!(err, RemoteError::Failed { code: 1, .. }), "{err}");
    assert!(
        err.to_string().contains("host-server") && err.to_string().contains("boom"),
        "{err}"
    );
}

#[test]
fn large_stdout_and_stderr_together_do_not_stall() {
    let Some((_, r)) = remote() else { return };
    let out = r
        .exec(
            H,
            "head -c 3000000 /dev/zero | tr '\\0' a; head -c 3000000 /dev/zero | tr '\\0' b >&2",
            SHORT,
        )
        .unwrap();
    assert_eq!(out.stdout.len(), 3_000_000);
    assert_eq!(out.stderr.len(), 3_000_000);
}

#[test]
fn hung_command_is_ended_by_its_timeout() {
    let Some((_, r)) = remote() else { return };
    let pidf = unique("hung");
    let start = Instant::now();
    let err = r
        .exec(
            H,
            &format!("echo $$ > {pidf}; exec sleep 300"),
            Duration::from_secs(1),
        )
        .unwrap_err();
    assert!(matches!(err, RemoteError::Timeout { .. }), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let pid = r.read_file(H, &pidf).unwrap().trim().to_string();
    // The remote process is gone, not orphaned (checked by its PID).
    let gone = r
        .exec(
            H,
            &format!("test -d /proc/{pid} && echo alive || echo gone; rm -f {pidf}"),
            SHORT,
        )
        .unwrap();
    assert_eq!(gone.stdout.trim(), "gone");
    // The session still works after a timeout.
    assert!(r.exec(H, "true", SHORT).unwrap().success());
}

#[rstest]
#[case("two words")]
#[case("it's \"quoted\"")]
#[case("a; touch /tmp/ebpf-perf-injected")]
#[case("$(touch /tmp/ebpf-perf-injected) `id` $HOME")]
#[case("back\\slash\nnew line\ttab")]
#[case("-n")]
fn values_reach_the_remote_side_verbatim(#[case] value: &str) {
    let Some((_, r)) = remote() else { return };
    let cmd = template::render("printf '%s' {v}", |n| {
        (n == "v").then_some(Cow::Borrowed(value))
    })
    .unwrap();
    let out = r.check(H, &cmd, SHORT).unwrap();
    assert_eq!(out.stdout, value);
    let injected = r
        .exec(
            H,
            "test -e /tmp/ebpf-perf-injected && echo yes || echo no",
            SHORT,
        )
        .unwrap();
    assert_eq!(injected.stdout.trim(), "no");
}

#[test]
fn background_process_start_stop_and_already_exited() {
    let Some((_, r)) = remote() else { return };
    let d = unique("bg");
    let rec = r
        .spawn(
            H,
            "echo started; exec sleep 300",
            &format!("{d}/out.log"),
            &format!("{d}/err.log"),
            &format!("{d}/pid.txt"),
        )
        .unwrap();
    assert!(r.is_alive(H, &rec).unwrap());
    let pid_text = r.read_file(H, &format!("{d}/pid.txt")).unwrap();
    assert!(pid_text.starts_with(&rec.pid.to_string()), "{pid_text}");
    // Detached: its own session, stdin from /dev/null.
    let info = r
        .check(
            H,
            &format!("ps -o sid= -p {p}; readlink /proc/{p}/fd/0", p = rec.pid),
            SHORT,
        )
        .unwrap();
    let mut lines = info.stdout.lines();
    assert_eq!(
        lines.next().unwrap().trim(),
        rec.pid.to_string(),
        "session leader"
    );
    assert_eq!(lines.next().unwrap(), "/dev/null");
    assert_eq!(
        r.stop(H, &rec, Duration::from_secs(3)).unwrap(),
        Stopped::Terminated { status: Some(143) }
    );
    assert!(!r.is_alive(H, &rec).unwrap());
    assert_eq!(
        r.read_file(H, &format!("{d}/out.log")).unwrap(),
        "started\n"
    );

    let quick = r
        .spawn(
            H,
            "echo bye >&2; exit 5",
            &format!("{d}/q.out"),
            &format!("{d}/q.err"),
            &format!("{d}/q.pid"),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while r.is_alive(H, &quick).unwrap() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        r.stop(H, &quick, Duration::from_secs(1)).unwrap(),
        Stopped::AlreadyExited { status: Some(5) }
    );
    assert_eq!(r.read_file(H, &format!("{d}/q.err")).unwrap(), "bye\n");
    r.check(H, &format!("rm -rf {d}"), SHORT).unwrap();
}

#[test]
fn pid_reuse_guard_leaves_other_processes_alone() {
    let Some((_, r)) = remote() else { return };
    let d = unique("reuse");
    let rec = r
        .spawn(
            H,
            "exec sleep 300",
            &format!("{d}/o"),
            &format!("{d}/e"),
            &format!("{d}/p"),
        )
        .unwrap();
    // A record whose start time differs describes an earlier process with the same PID.
    let stale = ebpf_perf::shell::process::ProcessRecord {
        start_time: rec.start_time - 1,
        ..rec.clone()
    };
    let s = r.stop(H, &stale, Duration::from_secs(1)).unwrap();
    assert!(matches!(s, Stopped::NotOurs { .. }), "{s:?}");
    assert!(
        r.is_alive(H, &rec).unwrap(),
        "the running process was not touched"
    );
    r.stop(H, &rec, Duration::from_secs(3)).unwrap();
    assert!(!r.is_alive(H, &rec).unwrap());
    r.check(H, &format!("rm -rf {d}"), SHORT).unwrap();
}

#[test]
fn files_write_atomically_read_and_mkdir() {
    let Some((_, r)) = remote() else { return };
    let d = unique("files");
    r.mkdir_p(H, &format!("{d}/a/b")).unwrap();
    let data = "line 1\nünïcödé 'quote' $(x)\n";
    r.write_file(H, &format!("{d}/a/b/f.txt"), data.as_bytes())
        .unwrap();
    assert_eq!(r.read_file(H, &format!("{d}/a/b/f.txt")).unwrap(), data);
    r.write_file(H, &format!("{d}/a/b/f.txt"), b"second")
        .unwrap();
    assert_eq!(r.read_file(H, &format!("{d}/a/b/f.txt")).unwrap(), "second");
    let ls = r.check(H, &format!("ls -A {d}/a/b"), SHORT).unwrap();
    assert_eq!(ls.stdout, "f.txt\n", "no temporary file left behind");
    r.check(H, &format!("rm -rf {d}"), SHORT).unwrap();
}

fn with_known_hosts(
    cfg: &ebpf_perf::config::Config,
    host: &str,
    check: HostKeyCheck,
    text: &str,
) -> (Remote, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    std::fs::write(&kh, text).unwrap();
    let mut hosts = cfg.ssh_hosts.clone();
    let h = hosts.get_mut(host).unwrap();
    h.known_hosts = Some(kh.display().to_string());
    h.host_key_check = check;
    (Remote::from_hosts(hosts, cfg.dir.clone(), true), dir)
}

#[rstest]
#[case(HostKeyCheck::Strict)]
#[case(HostKeyCheck::AcceptNew)]
fn changed_host_key_is_refused(#[case] check: HostKeyCheck) {
    let Some(cfg) = common::lab() else { return };
    // A known_hosts whose line for host-client holds another ed25519 key.
    let other_key =
        std::fs::read_to_string(common::lab_dir().join("hostkeys/vm-client.pub")).unwrap();
    let fake = format!(
        "# test\n198.18.0.12 {}\n",
        other_key
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let (r, dir) = with_known_hosts(&cfg, "host-client", check, &fake);
    let err = r.exec("host-client", "true", SHORT).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(&err, RemoteError::HostKeyChanged(c) if c.line == 2),
        "{msg}"
    );
    // Both fingerprints: what the server offers and what the file holds.
    let fp = |pubfile: &std::path::Path| {
        let text = std::fs::read_to_string(pubfile).unwrap();
        let b64 = text.split_whitespace().nth(1).unwrap();
        use base64::Engine;
        ebpf_perf::host::remote::known_hosts::fingerprint(
            &base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
    };
    let offered = fp(&common::lab_dir().join("hostkeys/host-client.pub"));
    let known = fp(&common::lab_dir().join("hostkeys/vm-client.pub"));
    assert!(
        msg.contains("host-client") && msg.contains(&offered) && msg.contains(&known),
        "{msg} (offered {offered}, known {known})"
    );
    assert!(
        msg.contains(&format!("{}:2", dir.path().join("known_hosts").display())),
        "{msg}"
    );
    // Nothing was added to the file.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("known_hosts")).unwrap(),
        fake
    );
}

#[test]
fn unknown_host_key_strict_refuses_accept_new_adds() {
    let Some(cfg) = common::lab() else { return };
    let (strict, _d1) = with_known_hosts(&cfg, "host-client", HostKeyCheck::Strict, "");
    let err = strict.exec("host-client", "true", SHORT).unwrap_err();
    assert!(matches!(err, RemoteError::HostKeyUnknown { .. }), "{err}");
    let (accept, d2) = with_known_hosts(&cfg, "host-client", HostKeyCheck::AcceptNew, "");
    assert!(accept.exec("host-client", "true", SHORT).unwrap().success());
    let added = std::fs::read_to_string(d2.path().join("known_hosts")).unwrap();
    assert!(added.starts_with("198.18.0.12 ssh-ed25519 "), "{added}");
    // Added once; a new session finds it known.
    let (again, _d3) = with_known_hosts(&cfg, "host-client", HostKeyCheck::Strict, &added);
    assert!(again
        .connect("host-client")
        .unwrap()
        .key
        .to_string()
        .starts_with("known"));
}

#[test]
fn session_is_reopened_after_sshd_restart() {
    let Some(cfg) = common::lab() else { return };
    let r = Remote::new(&cfg);
    let host = "vm-client";
    assert!(r.exec(host, "true", SHORT).unwrap().success());
    let before = r.local_addr(host).unwrap();
    let plan = ebpf_perf::host::lab::Plan::from_config(&cfg).unwrap();
    // The restart ends sshd's per-connection processes too (they have their
    // own sessions), as a reboot would: our connection is gone on the host.
    ebpf_perf::host::lab::restart_sshd(&plan, host).unwrap();
    let ss = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            "ebpf-perf-vm-client",
            "ss",
            "-tnH",
            "state",
            "established",
        ])
        .output()
        .unwrap();
    let ss = String::from_utf8_lossy(&ss.stdout);
    assert!(
        !ss.contains(&before.to_string()),
        "{before} still served after the restart: {ss}"
    );
    let out = r.exec(host, "echo again", SHORT).unwrap();
    assert_eq!(out.stdout, "again\n");
    assert_ne!(
        r.local_addr(host).unwrap(),
        before,
        "a new session was opened"
    );
}

#[test]
fn unreachable_lab_host_and_unknown_host_are_clear_errors() {
    let Some(cfg) = common::lab() else { return };
    let r = Remote::new(&cfg);
    let err = r.exec("no-such-host", "true", SHORT).unwrap_err();
    assert_eq!(
        err.to_string(),
        "host \"no-such-host\" is not in ssh-config.yaml"
    );
}
