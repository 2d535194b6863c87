//! The scripts run here with the local `sh`, as the lab runs them.
use super::*;
use std::process::Command;

fn sh(script: &str) -> String {
    let o = Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn start(dir: &std::path::Path, cmd: &str) -> ProcessRecord {
    let pidf = dir.join("p.pid").display().to_string();
    let out = sh(&start_script(
        cmd,
        &dir.join("o.log").display().to_string(),
        &dir.join("e.log").display().to_string(),
        &pidf,
    ));
    parse_started(&out, &pidf).unwrap()
}

#[test]
fn start_stop_and_exit_status() {
    let d = tempfile::tempdir().unwrap();
    let p = start(d.path(), "echo 'out put'; echo err >&2; exec sleep 30");
    assert_eq!(sh(&alive_script(&p)).trim(), "alive");
    let pidfile = std::fs::read_to_string(d.path().join("p.pid")).unwrap();
    assert_eq!(
        pidfile.trim(),
        format!("{} {} {}", p.pid, p.start_time, p.boot)
    );
    let s = parse_stopped(&sh(&stop_script(&p, Duration::from_secs(3)))).unwrap();
    assert_eq!(s, Stopped::Terminated { status: Some(143) });
    assert_eq!(sh(&alive_script(&p)).trim(), "gone");
    assert_eq!(
        std::fs::read_to_string(d.path().join("o.log")).unwrap(),
        "out put\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("e.log")).unwrap(),
        "err\n"
    );
    // Stopping again: already exited, status still known.
    let again = parse_stopped(&sh(&stop_script(&p, Duration::from_secs(1)))).unwrap();
    assert_eq!(again, Stopped::AlreadyExited { status: Some(143) });
}

#[test]
fn the_whole_process_group_is_stopped() {
    let d = tempfile::tempdir().unwrap();
    let child = d.path().join("child.pid");
    let p = start(
        d.path(),
        &format!("sleep 300 & echo $! > {}; exec sleep 301", child.display()),
    );
    std::thread::sleep(Duration::from_millis(100));
    let grandchild = std::fs::read_to_string(&child).unwrap().trim().to_string();
    assert!(std::path::Path::new(&format!("/proc/{grandchild}")).exists());
    let s = parse_stopped(&sh(&stop_script(&p, Duration::from_secs(3)))).unwrap();
    assert!(matches!(s, Stopped::Terminated { .. }), "{s:?}");
    assert!(
        !runs(&grandchild),
        "the command's background child {grandchild} survived"
    );
}

/// A group whose leader is gone: `sh` leaves a `sleep` in its group and
/// exits. Returns the group id and the sleep's PID.
fn orphaned_group(marked: Option<&str>) -> (u32, String) {
    let env = marked.map_or(String::new(), |st| format!("{MARK_VAR}={} ", quote(st)));
    let out = sh(&format!(
        "{env}setsid sh -c 'sleep 300 >/dev/null 2>&1 & echo $$ $!' </dev/null 2>/dev/null"
    ));
    let mut it = out.split_whitespace();
    let (pgid, sleeper) = (it.next().unwrap(), it.next().unwrap().to_string());
    for _ in 0..100 {
        if !runs(pgid) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (pgid.parse().unwrap(), sleeper)
}

#[test]
fn a_group_whose_leader_is_gone_is_signalled_only_when_it_is_marked_ours() {
    let d = tempfile::tempdir().unwrap();
    let st = d.path().join("p.pid.exit").display().to_string();
    // Another's group (say, after a reboot): its leader's PID and start
    // time cannot be checked any more, and its members are not ours.
    let (pgid, sleeper) = orphaned_group(None);
    let rec = ProcessRecord {
        pid: pgid,
        start_time: 1,
        status_file: st.clone(),
        boot: String::new(),
    };
    let s = parse_stopped(&sh(&stop_script(&rec, Duration::from_secs(1)))).unwrap();
    assert!(matches!(s, Stopped::AlreadyExited { .. }), "{s:?}");
    assert!(runs(&sleeper), "another's process {sleeper} was signalled");
    sh(&format!("kill {sleeper}"));
    // Ours: its members carry our mark, and go.
    let (pgid, sleeper) = orphaned_group(Some(&st));
    let rec = ProcessRecord { pid: pgid, ..rec };
    let s = parse_stopped(&sh(&stop_script(&rec, Duration::from_secs(1)))).unwrap();
    assert_eq!(s, Stopped::Killed);
    for _ in 0..100 {
        if !runs(&sleeper) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!runs(&sleeper), "our group member {sleeper} survived");
}

#[test]
fn a_record_from_before_a_reboot_stops_nothing() {
    let d = tempfile::tempdir().unwrap();
    let p = start(d.path(), "exec sleep 30");
    assert!(!p.boot.is_empty(), "the boot id is recorded: {p:?}");
    let before_reboot = ProcessRecord {
        boot: "00000000-0000-0000-0000-000000000000".into(),
        ..p.clone()
    };
    let s = parse_stopped(&sh(&stop_script(&before_reboot, Duration::from_secs(1)))).unwrap();
    assert!(matches!(s, Stopped::NotOurs { .. }), "{s:?}");
    assert_eq!(sh(&alive_script(&p)).trim(), "alive");
    let s = parse_stopped(&sh(&stop_script(&p, Duration::from_secs(3)))).unwrap();
    assert!(matches!(s, Stopped::Terminated { .. }), "{s:?}");
}

fn runs(pid: &str) -> bool {
    pid.parse().is_ok_and(crate::host::proc::runs)
}

/// A daemon's children that left its process group (sshd's
/// per-connection processes call setsid) are ours too: a stop that sent
/// TERM to the group only left them running after their parent ended.
///
/// The child writes its PID once it has left the group and set its
/// traps; only then is the stop sent (a child still on its way out of
/// the group when the stop lists descendants is a different race, see
/// the module doc).
#[rstest::rstest]
#[case::ending_on_term("echo $$ > \"$0\"; exec sleep 302", "terminated")]
#[case::ignoring_term("trap '' TERM; echo $$ > \"$0\"; sleep 302; sleep 302", "killed")]
fn descendants_that_left_the_group_are_stopped(#[case] child: &str, #[case] how: &str) {
    let d = tempfile::tempdir().unwrap();
    let pids = d.path().join("children");
    let p = start(
        d.path(),
        &format!(
            "setsid sh -c {c} {f} & exec sleep 303",
            c = quote(child),
            f = quote(&pids.display().to_string())
        ),
    );
    let mut child_pid = String::new();
    for _ in 0..250 {
        child_pid = std::fs::read_to_string(&pids).unwrap_or_default();
        if child_pid.ends_with('\n') {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let child_pid = child_pid.trim().to_string();
    assert!(runs(&child_pid), "the setsid child {child_pid:?} never ran");
    let out = sh(&stop_script(&p, Duration::from_millis(500)));
    assert!(out.starts_with(how), "{out}");
    assert!(!runs(&child_pid), "the setsid child {child_pid} survived");
}

#[test]
fn batches_keep_outputs_apart() {
    let out = sh(&batch(&["echo a; exit 0".into(), "echo b".into()]));
    assert_eq!(split_outputs(&out), ["a\n", "b\n"]);
}

#[test]
fn wait_fd_sees_an_open_file_of_the_group() {
    let d = tempfile::tempdir().unwrap();
    let marker = d.path().join("held-open");
    std::fs::write(&marker, "").unwrap();
    let p = start(
        d.path(),
        &format!("sleep 0.2; exec sleep 30 < {}", marker.display()),
    );
    let out = sh(&wait_fd_script(&p, "held-open", Duration::from_secs(5)));
    assert_eq!(out.trim(), "ready");
    parse_stopped(&sh(&stop_script(&p, Duration::from_secs(3)))).unwrap();
    assert_eq!(
        sh(&wait_fd_script(&p, "held-open", Duration::from_secs(1))).trim(),
        "exited"
    );
    let q = start(d.path(), "exec sleep 30");
    assert_eq!(
        sh(&wait_fd_script(&q, "held-open", Duration::from_millis(100))).trim(),
        "timeout"
    );
    parse_stopped(&sh(&stop_script(&q, Duration::from_secs(3)))).unwrap();
}

#[test]
fn wait_returns_when_the_process_exits() {
    let d = tempfile::tempdir().unwrap();
    let p = start(d.path(), "sleep 0.3");
    let t = std::time::Instant::now();
    sh(&wait_script(&p, Duration::from_millis(250)));
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(sh(&alive_script(&p)).trim(), "gone");
}

#[test]
fn a_process_that_ends_early_is_seen_before_its_expected_end() {
    let d = tempfile::tempdir().unwrap();
    let p = start(d.path(), "sleep 0.1");
    let t = std::time::Instant::now();
    sh(&wait_script(&p, Duration::from_secs(5)));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn exited_process_reports_its_status() {
    let d = tempfile::tempdir().unwrap();
    let p = start(d.path(), "exit 7");
    for _ in 0..50 {
        if sh(&alive_script(&p)).trim() == "gone" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let s = parse_stopped(&sh(&stop_script(&p, Duration::from_secs(1)))).unwrap();
    assert_eq!(s, Stopped::AlreadyExited { status: Some(7) });
}

/// A command that ends at once may be gone, wrapper and all, before the
/// start script reads its start time: it still starts, and its stop
/// reports its exit status (found ~1 start in 20 failing before).
#[test]
fn a_command_that_ends_at_once_is_started_and_reports_its_status() {
    let d = tempfile::tempdir().unwrap();
    for i in 0..100 {
        let pidf = d.path().join(format!("p{i}.pid")).display().to_string();
        let out = sh(&start_script(
            "exit 4",
            &d.path().join("o.log").display().to_string(),
            &d.path().join("e.log").display().to_string(),
            &pidf,
        ));
        let p = parse_started(&out, &pidf).unwrap_or_else(|| panic!("start {i}: {out:?}"));
        // The wrapper writes the status last: once it is there, nothing of
        // ours runs.
        for _ in 0..200 {
            if std::path::Path::new(&p.status_file).exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // (The wrapper may still be exiting: then it is terminated, and the
        // status is still the command's.)
        let stopped = parse_stopped(&sh(&stop_script(&p, Duration::from_secs(1))));
        assert!(
            matches!(
                stopped,
                Some(
                    Stopped::AlreadyExited { status: Some(4) }
                        | Stopped::Terminated { status: Some(4) }
                )
            ),
            "start {i}: {stopped:?}"
        );
    }
}

/// The exit status of a command that handles TERM is its own, not the
/// wrapper's interrupted `wait` (143), however the signal and the exit
/// interleave.
#[test]
fn a_command_that_traps_term_reports_its_own_status() {
    let d = tempfile::tempdir().unwrap();
    for i in 0..30 {
        let p = start(d.path(), "trap 'exit 0' TERM; while :; do sleep 0.05; done");
        std::thread::sleep(Duration::from_millis(30));
        let s = parse_stopped(&sh(&stop_script(&p, Duration::from_secs(2)))).unwrap();
        assert_eq!(s, Stopped::Terminated { status: Some(0) }, "stop {i}");
    }
}

#[test]
fn term_ignoring_process_is_killed() {
    let d = tempfile::tempdir().unwrap();
    let p = start(d.path(), "trap '' TERM; while :; do sleep 0.05; done");
    std::thread::sleep(Duration::from_millis(100));
    let s = parse_stopped(&sh(&stop_script(&p, Duration::from_millis(300)))).unwrap();
    assert_eq!(s, Stopped::Killed);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(sh(&alive_script(&p)).trim(), "gone");
}

#[test]
fn reused_pid_is_left_alone() {
    let d = tempfile::tempdir().unwrap();
    let p = start(d.path(), "exec sleep 30");
    let forged = ProcessRecord {
        start_time: p.start_time + 1,
        ..p.clone()
    };
    let s = parse_stopped(&sh(&stop_script(&forged, Duration::from_secs(1)))).unwrap();
    assert!(matches!(s, Stopped::NotOurs { .. }), "{s:?}");
    assert_eq!(sh(&alive_script(&p)).trim(), "alive");
    let other_mark = ProcessRecord {
        status_file: "/elsewhere.exit".into(),
        ..p.clone()
    };
    let s = parse_stopped(&sh(&stop_script(&other_mark, Duration::from_secs(1)))).unwrap();
    assert!(matches!(s, Stopped::NotOurs { .. }), "{s:?}");
    assert_eq!(sh(&alive_script(&p)).trim(), "alive");
    parse_stopped(&sh(&stop_script(&p, Duration::from_secs(3)))).unwrap();
}

/// Stops run side by side: two processes that each take 1.2 s to end on
/// TERM (the trap runs for the group's TERM and again for the wrapper's)
/// are stopped in well under the 2.4 s of one after the other, and each
/// output comes back whole and in order.
#[test]
fn a_stop_batch_stops_side_by_side_and_keeps_outputs_apart() {
    let d = tempfile::tempdir().unwrap();
    let slow = "trap 'sleep 0.6; exit 7' TERM; sleep 30 & wait";
    let a = start(&d.path().join("a"), slow);
    let b = start(&d.path().join("b"), slow);
    let gone = start(&d.path().join("c"), "exit 3");
    std::thread::sleep(Duration::from_millis(200));
    let recs = [a, gone, b];
    let t = std::time::Instant::now();
    let out = sh(&stop_batch(&recs, Duration::from_secs(3)));
    assert!(
        t.elapsed() < Duration::from_millis(1800),
        "{:?}",
        t.elapsed()
    );
    let outs = split_stops(&out, 3);
    let got: Vec<_> = outs.iter().map(|o| parse_stopped(o)).collect();
    assert_eq!(
        got,
        [
            Some(Stopped::Terminated { status: Some(7) }),
            Some(Stopped::AlreadyExited { status: Some(3) }),
            Some(Stopped::Terminated { status: Some(7) }),
        ],
        "{out}"
    );
}

/// `then` runs while the stops wait for their processes to end (each takes
/// 0.6 s on TERM), and its output comes apart from the stops' whatever their
/// number.
#[rstest::rstest]
#[case(1)]
#[case(2)]
fn then_runs_alongside_the_stops(#[case] n: usize) {
    let d = tempfile::tempdir().unwrap();
    let slow = "trap 'sleep 0.6; exit 7' TERM; sleep 30 & wait";
    let recs: Vec<ProcessRecord> = (0..n)
        .map(|i| start(&d.path().join(i.to_string()), slow))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let then = format!(
        "sleep 0.1\n{}",
        recs.iter().map(alive_script).collect::<String>()
    );
    let out = sh(&stop_batch_with(&recs, Duration::from_secs(3), Some(&then)));
    let (stops, after) = split_with(&out).unwrap_or_else(|| panic!("no mark in {out:?}"));
    assert_eq!(after, "alive\n".repeat(n), "{out}");
    let got: Vec<_> = split_stops(stops, n)
        .iter()
        .map(|o| parse_stopped(o))
        .collect();
    assert_eq!(
        got,
        vec![Some(Stopped::Terminated { status: Some(7) }); n],
        "{out}"
    );
    // Without `then`, the stops alone, and an empty rest.
    let more: Vec<ProcessRecord> = (0..n)
        .map(|i| start(&d.path().join(format!("x{i}")), "sleep 30"))
        .collect();
    let out = sh(&stop_batch_with(&more, Duration::from_secs(3), None));
    let (stops, after) = split_with(&out).unwrap_or_else(|| panic!("no mark in {out:?}"));
    assert_eq!(after, "");
    assert!(split_stops(stops, n)
        .iter()
        .all(|o| matches!(parse_stopped(o), Some(Stopped::Terminated { .. }))));
}
