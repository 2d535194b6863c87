//! Faults a real lab has, made on the lab with real processes: a host's link
//! dropped mid-trial (and restored, or not), and a host whose disk fills up.
//! Each test checks what a user needs: an error naming the host and what to
//! do, the rest of the matrix going on (or failing at once), JUnit and the
//! results file written, nothing left running, nothing earlier lost.

mod common;

use common::{junit, pid_files, recorded_alive, wait_for_ebpf_clients};
use ebpf_perf::schedule::Order;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant, SystemTime};

static LAB: Mutex<()> = Mutex::new(());

const CLIENT_NS: &str = "ebpf-perf-host-client";

/// `ip link set dev eth0 DIR` inside a lab host's namespace.
fn set_link(ns: &str, state: &str) -> bool {
    Command::new("ip")
        .args([
            "netns", "exec", ns, "ip", "link", "set", "dev", "eth0", state,
        ])
        .status()
        .is_ok_and(|s| s.success())
}

/// host-client's link, down until dropped (also when an assertion fails).
struct LinkDown;

impl LinkDown {
    fn new() -> LinkDown {
        assert!(
            set_link(CLIENT_NS, "down"),
            "could not down host-client's eth0"
        );
        LinkDown
    }
}

impl Drop for LinkDown {
    fn drop(&mut self) {
        set_link(CLIENT_NS, "up");
    }
}

/// The harness on `cfg` in the background, its stderr lines sent to the
/// returned channel (stdout collected by the returned thread).
struct Running {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
    stdout: std::thread::JoinHandle<String>,
}

impl Running {
    fn start(cfg: &Path, args: &[&str]) -> Running {
        let mut child = common::spawn_perf(cfg, args);
        let err = child.stderr.take().unwrap();
        let mut out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        Running {
            child,
            lines,
            stderr: Vec::new(),
            stdout,
        }
    }

    /// Waits for a stderr line containing `what`.
    fn wait_for(&mut self, what: &str, max: Duration) {
        let until = Instant::now() + max;
        while Instant::now() < until {
            if let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
                let hit = l.contains(what);
                self.stderr.push(l);
                if hit {
                    return;
                }
            }
        }
        let _ = self.child.kill();
        panic!(
            "no {what:?} within {max:?}; stderr:\n{}",
            self.stderr.join("\n")
        );
    }

    /// Waits for the harness to end: (success, stdout, stderr).
    fn finish(mut self) -> (bool, String, String) {
        let status = self.child.wait().unwrap();
        self.stderr.extend(self.lines.iter());
        (
            status.success(),
            self.stdout.join().unwrap(),
            self.stderr.join("\n"),
        )
    }
}

/// Case 3's TCP trials with a 6 s multi-stream test (its eBPF trial is where
/// the link drops) and the trials after it.
fn drop_config() -> tempfile::TempDir {
    common::quick_config(|d| common::long_multi_stream_in(d, 6))
}

const DROP_TRIALS: &[&str] = &["case_3", "tcp", "--skip", "multi_4", "--skip", "single"];

/// Starts the drop trials with `--reconnect-wait SECS` and downs host-client's
/// link once the eBPF trial's clients run there.
fn drop_mid_trial(reconnect_wait: &str) -> (tempfile::TempDir, SystemTime, Running, LinkDown) {
    let cfg = drop_config();
    let since = SystemTime::now();
    // Pair 1 runs the tool side first: the link drops in the first block.
    let seed = common::seed_where("tool_002_case_3_host", Order::ToolFirst);
    let mut args = DROP_TRIALS.to_vec();
    args.extend(["--reconnect-wait", reconnect_wait, "--seed", &seed]);
    let run = Running::start(cfg.path(), &args);
    wait_for_ebpf_clients(since);
    (cfg, since, run, LinkDown::new())
}

/// Every pid file under `root` written since `since` records a process
/// that ended.
fn nothing_left_running(root: &Path, since: SystemTime) {
    let mut files = Vec::new();
    pid_files(root, since, &mut files);
    assert!(!files.is_empty(), "the run recorded no process");
    let alive: Vec<&PathBuf> = files.iter().filter(|f| recorded_alive(f)).collect();
    assert!(alive.is_empty(), "still running: {alive:?}");
}

fn lease(host: &str) -> PathBuf {
    common::lab_hosts().join(host).join(".ebpf-perf/lease")
}

/// The link of host-client drops while an eBPF trial's clients run there and
/// comes back while the run ends: that trial fails naming host-client, the
/// trials after it fail at once, and what the run left on host-client is
/// stopped once it answers again.
#[test]
fn a_dropped_link_fails_its_trial_and_the_run_stops_its_processes_when_it_is_back() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let (cfg, since, mut run, link) = drop_mid_trial("120");
    // The run ends its trials and waits for host-client; bring it back then.
    run.wait_for("host-client is unreachable with", Duration::from_secs(120));
    drop(link);
    let (ok, out, err) = run.finish();
    eprintln!("{err}");
    assert!(!ok, "the dropped trial fails the run\n{out}\n{err}");
    let cases = junit(&cfg.path().join("junit.xml"));
    let ebpf: Vec<_> = cases
        .iter()
        .filter(|c| c.name.starts_with("tool_002::case_3"))
        .collect();
    assert!(
        ebpf.len() >= 2,
        "{:?}",
        cases.iter().map(|c| &c.name).collect::<Vec<_>>()
    );
    let dropped = ebpf[0];
    assert!(dropped.name.contains("multi_2_tcp"), "{}", dropped.name);
    assert!(
        dropped.failure_body.contains("host-client")
            && (dropped.failure_body.contains("connection was lost")
                || dropped.failure_body.contains("cannot connect")),
        "{}",
        dropped.failure_body
    );
    // The trials after it fail at once, saying the host is unreachable.
    let results = ebpf_perf::results::read(&cfg.path().join("results.json")).unwrap();
    for c in &ebpf {
        eprintln!(
            "{}: {:.2} s",
            c.name,
            common::trial(&results, &c.name).duration_s
        );
    }
    for c in &ebpf[1..] {
        assert!(
            c.failure_body.contains("host-client: unreachable for"),
            "{}: {}",
            c.name,
            c.failure_body
        );
        let t = common::trial(&results, &c.name);
        assert!(t.duration_s < 1.0, "{} took {} s", c.name, t.duration_s);
    }
    // The case ended before its first baseline block: the baselines are
    // then measured alone, and fail at once too, host-client being away.
    let baselines: Vec<_> = cases
        .iter()
        .filter(|c| c.name.starts_with("baseline"))
        .collect();
    assert_eq!(baselines.len(), 3);
    for c in baselines {
        assert!(
            c.failure_body.contains("host-client: unreachable for"),
            "{}: {}",
            c.name,
            c.failure_body
        );
    }
    // What stayed on host-client was stopped once it was back.
    assert!(err.contains("host-client is reachable again"), "{err}");
    assert!(err.contains("host-client is back: PID"), "{err}");
    nothing_left_running(&common::lab_hosts(), since);
    for h in ["host-server", "host-client"] {
        assert!(!lease(h).exists(), "{h}'s lease was not given back");
    }
}

/// The link stays down past `--reconnect-wait`: the run ends naming what it
/// left on host-client, keeps that host's lease, and `hosts clean` stops it
/// once the link is back.
#[test]
fn a_host_that_stays_unreachable_keeps_its_lease_until_hosts_clean() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let (cfg, since, run, link) = drop_mid_trial("2");
    let (ok, out, err) = run.finish();
    drop(link);
    assert!(!ok, "{out}\n{err}");
    for want in [
        "host-client stayed unreachable for 2 s",
        "still running there: PID",
        "ebpf-perf hosts clean",
    ] {
        assert!(err.contains(want), "{want:?} in\n{err}");
    }
    assert!(cfg.path().join("junit.xml").exists());
    assert!(cfg.path().join("results.json").exists());
    assert!(lease("host-client").exists(), "host-client's lease is kept");
    assert!(
        !lease("host-server").exists(),
        "host-server's lease is given back"
    );
    // Back on the link, `hosts clean` stops what the run left there.
    let clean = Command::new(env!("CARGO_BIN_EXE_ebpf-perf"))
        .args(["hosts", "clean", "--config-dir"])
        .arg(cfg.path())
        .output()
        .unwrap();
    let said = common::stdout(&clean) + &common::stderr(&clean);
    assert!(clean.status.success(), "{said}");
    assert!(said.contains("host-client"), "{said}");
    nothing_left_running(&common::lab_hosts(), since);
    assert!(!lease("host-client").exists());
}

/// The PID of a lab host's sshd: the child of the process its pid file
/// records. Its sessions, and so the harness's commands, live in its mount
/// namespace (`ip netns exec` makes one per host).
fn lab_sshd(host: &str) -> u32 {
    let text = std::fs::read_to_string(common::lab_dir().join(format!("sshd/{host}.pid"))).unwrap();
    let wrapper = text.split_whitespace().next().unwrap().to_string();
    let wrapper: u32 = wrapper.parse().unwrap();
    for pid in ebpf_perf::host::proc::pids() {
        if ebpf_perf::host::proc::ppid(pid) == Some(wrapper) {
            return pid;
        }
    }
    panic!("{host}'s sshd (child of PID {wrapper}) is not running");
}

/// A small tmpfs mounted inside a lab host's mount namespace, unmounted
/// when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
    sshd: u32,
}

impl Tmpfs {
    fn new(host: &str, size: &str) -> Tmpfs {
        let dir = tempfile::Builder::new()
            .prefix("ebpf-perf-full-")
            .tempdir_in(common::lab_dir())
            .unwrap();
        let sshd = lab_sshd(host);
        let ok = Command::new("nsenter")
            .arg(format!("--mount=/proc/{sshd}/ns/mnt"))
            .args([
                "mount",
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
            ])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mounting a tmpfs in {host}'s namespace needs root");
        Tmpfs { dir, sshd }
    }

    /// Where the host sees the tmpfs.
    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where this process sees what the host sees there.
    fn view(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.sshd))
            .join(self.dir.path().strip_prefix("/").unwrap())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("nsenter")
            .arg(format!("--mount=/proc/{}/ns/mnt", self.sshd))
            .arg("umount")
            .arg(self.dir.path())
            .status();
    }
}

/// Every file under `dir` with its content.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    common::files::under(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_default();
            (p, bytes)
        })
        .collect()
}

/// host-client keeps its results on a small tmpfs (in its own mount
/// namespace) that fills up during a trial: that trial fails with the host, the path and "no space"; the tool
/// output it was writing never gets its name; the earlier trial's files are
/// intact; nothing is left running; JUnit and the results file are written.
#[test]
fn a_full_disk_fails_the_trial_naming_host_and_path_and_loses_nothing() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let fs = Tmpfs::new("host-client", "48m");
    let (root, view) = (fs.path().to_path_buf(), fs.view());
    let fill = root.join("fill");
    let cfg = common::lab_config(3, |d| {
        common::fixed_pairs_in(d, 2);
        common::no_budgets_in(d);
        common::replace_in(
            &d.join("ssh-config.yaml"),
            &format!(
                "workdir: \"{}\"",
                common::lab_hosts().join("host-client").display()
            ),
            &format!("workdir: \"{}\"", root.display()),
        );
    });
    let trial = "baseline::host::latency::tcp_rr";
    let (o, _) = common::perf_in(cfg.path(), &["--exact", trial]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let earlier = tree(&view);
    let output = |files: &[(PathBuf, Vec<u8>)]| -> Vec<PathBuf> {
        files
            .iter()
            .filter(|(p, _)| p.ends_with("client_results/stream_1.txt"))
            .map(|(p, _)| p.clone())
            .collect()
    };
    // Two pairs: a baseline measured alone runs two blocks.
    assert_eq!(
        output(&earlier).len(),
        2,
        "netperf's output of the first run in {:?}",
        earlier.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    // A test hook fills the disk while the next trial runs.
    std::fs::write(
        cfg.path().join("hooks.yaml"),
        format!(
            "hooks:\n  test:\n    setup:\n      - {{name: fill the disk, on: client, run: \"(sleep 1; head -c 100M /dev/zero > {}) >/dev/null 2>&1 &\"}}\n",
            fill.display()
        ),
    )
    .unwrap();
    let since = SystemTime::now();
    let (o, _) = common::perf_in(cfg.path(), &["--exact", trial]);
    assert!(!o.status.success());
    let c = &junit(&cfg.path().join("junit.xml"))[0];
    eprintln!("{}", c.failure_body);
    for want in [
        "host-client",
        &root.display().to_string(),
        "no space left on device",
    ] {
        assert!(
            c.failure_body.to_lowercase().contains(&want.to_lowercase()),
            "{want:?} in {}",
            c.failure_body
        );
    }
    let results = ebpf_perf::results::read(&cfg.path().join("results.json")).unwrap();
    assert_eq!(results.trials.len(), 1);
    // The earlier trial's files are all there, byte for byte.
    let now = tree(&view);
    for (p, data) in &earlier {
        let kept = now.iter().find(|(q, _)| q == p);
        assert!(
            kept.is_some_and(|(_, d)| d == data),
            "{} changed or went",
            p.display()
        );
    }
    // The new trial's tool output never got its name, and no temporary file
    // of an atomic write is left.
    assert_eq!(
        output(&now),
        output(&earlier),
        "half-written output under its name"
    );
    let tmp: Vec<&PathBuf> = now
        .iter()
        .map(|(p, _)| p)
        .filter(|p| p.to_string_lossy().ends_with(".tmp.ebpf-perf"))
        .collect();
    assert!(tmp.is_empty(), "{tmp:?}");
    std::fs::remove_file(view.join("fill")).unwrap();
    nothing_left_running(&view, since);
    nothing_left_running(&common::lab_hosts().join("host-server"), since);
}
