//! What a tool toggle costs beyond the tool itself (docs/experiment.md):
//! the harness starts the per-CPU counter case of the default config as a
//! tool episode (spawned over SSH, ready once its BPF programs are attached,
//! its monitor agent started) and stops it, in rounds; side by side, the
//! same command started directly in the server's namespace and polled for
//! "attached" by the same kernel query in this process, then stopped by its
//! process group and waited for until every process of it is gone (as the
//! harness's stop waits). The difference of the medians is the harness's own work per
//! toggle (the issue of record allows 150 ms).
//!
//! Run as root: `cargo bench --bench toggle`.

use ebpf_perf::run::Runner;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROUNDS: usize = 15;
const SERVER_NS: &str = "ebpf-perf-host-server";
const CASE: &str = "tool_001_case_1_host";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Whether `pid` runs (is there and not a zombie).
fn running(pid: u32) -> bool {
    ebpf_perf::host::proc::stat_fields(pid).is_some_and(|f| f[0] != "Z")
}

/// The case's command started directly, waited for until attached, then
/// stopped: (start, stop) seconds.
fn direct(command: &str) -> (f64, f64) {
    let t = Instant::now();
    // Its own process group, so that the stop reaches every process of it.
    // nsenter enters the network namespace only: `ip netns exec` would
    // also remount /sys, and bpftrace would find no tracepoints there.
    let mut child = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{SERVER_NS}"))
        .args(["sh", "-c", command])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = child.id();
    let start = loop {
        if let Some(s) =
            ebpf_perf::host::proc::stat_fields(pid).and_then(|f| f.get(19)?.parse().ok())
        {
            break s;
        }
    };
    let said = ebpf_perf::monitor::attach::wait(pid, start, Duration::from_secs(20));
    assert_eq!(said, "ready", "the counter did not attach");
    let started = t.elapsed().as_secs_f64();
    // Stopped means every process of it gone, as the harness's stop waits
    // for: `sh -c` may not exec its command, and the tool (bpftrace takes
    // about 170 ms to detach) outlives the shell.
    let tree = ebpf_perf::host::proc::tree(pid);
    let t = Instant::now();
    // SAFETY: a signal to the process group this bench started.
    unsafe { libc::kill(-(pid as i32), libc::SIGTERM) };
    let _ = child.wait();
    while tree.iter().any(|&q| running(q)) {
        std::thread::sleep(Duration::from_millis(1));
    }
    (started, t.elapsed().as_secs_f64())
}

fn main() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
    let cfg = ebpf_perf::config::load(dir).unwrap();
    let plan = ebpf_perf::host::lab::Plan::from_config(&cfg).unwrap();
    ebpf_perf::host::lab::up(&plan)
        .unwrap_or_else(|e| panic!("the lab is needed (run as root): {e}"));
    let matrix = ebpf_perf::matrix::build(&cfg);
    let c = matrix.cycles.iter().position(|c| c.id == CASE).unwrap();
    let cc = matrix.cycles[c].case.clone().unwrap();
    let command = cc.case.command.clone();
    let picked: Vec<usize> = matrix.cycles[c].trials.clone().collect();
    let agent = std::path::PathBuf::from(env!("CARGO_BIN_EXE_ebpf-perf-monitor"));
    let mut runner = Runner::new(Arc::new(cfg), Arc::new(matrix), &picked, Some(agent));
    runner.enter_case(c).unwrap_or_else(|e| panic!("{e}"));
    let (mut h_start, mut h_ready, mut h_stop, mut d_start, mut d_stop) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 1..=ROUNDS as u32 {
        let t = Instant::now();
        let s = runner
            .start_episode(round)
            .unwrap_or_else(|e| panic!("{e}"));
        h_start.push(t.elapsed().as_secs_f64());
        h_ready.push(s.ready_s);
        let t = Instant::now();
        runner.stop_episode().unwrap_or_else(|e| panic!("{e}"));
        h_stop.push(t.elapsed().as_secs_f64());
        let (a, b) = direct(&command);
        d_start.push(a);
        d_stop.push(b);
    }
    runner.finish();
    let ms = |v: &[f64]| 1e3 * median(v.to_vec());
    println!(
        "toggle of {CASE} ({ROUNDS} rounds, medians): harness start {:.0} ms (spawn to attached {:.0} ms), stop {:.0} ms; direct start {:.0} ms, stop {:.0} ms; harness work per toggle {:.0} ms",
        ms(&h_start),
        ms(&h_ready),
        ms(&h_stop),
        ms(&d_start),
        ms(&d_stop),
        ms(&h_start) + ms(&h_stop) - ms(&d_start) - ms(&d_stop)
    );
}
