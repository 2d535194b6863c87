//! CPU cost of monitoring an eBPF tool on a lab host: the ebpf-perf agent
//! (one process reading /proc and /sys) versus a seed-style loop that runs
//! `top -b -n 1 -p PID`, `ps -o vsz,rss` and `stat` every second. Both watch
//! the same bpftrace program at the same time for the same window; the cost is
//! the CPU time of each one's whole process tree (children it reaped included)
//! as a share of one core.
//!
//! Run as root: `cargo bench --bench monitor_cost`.

use ebpf_perf::host::proc;
use ebpf_perf::host::remote::{Remote, SHORT};
use ebpf_perf::shell::process::ProcessRecord;
use std::time::{Duration, Instant};

const HOST: &str = "host-server";
const WINDOW: Duration = Duration::from_secs(30);

/// utime+stime+cutime+cstime (ticks) of a process and its descendants.
fn tree_ticks(pid: u32) -> u64 {
    proc::tree(pid)
        .into_iter()
        .filter_map(proc::cpu_ticks)
        .sum()
}

/// On-CPU nanoseconds of a process's threads (/proc/PID/task/*/schedstat),
/// plus those of its live descendants; precise where clock ticks are not.
fn tree_ns(pid: u32) -> u64 {
    proc::tree(pid).into_iter().map(proc::on_cpu_ns).sum()
}

fn main() {
    let cfg = ebpf_perf::config::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config"
    )))
    .unwrap();
    let plan = ebpf_perf::host::lab::Plan::from_config(&cfg).unwrap();
    ebpf_perf::host::lab::up(&plan)
        .unwrap_or_else(|e| panic!("the lab is needed (run as root): {e}"));
    let r = Remote::new(&cfg);
    let dir = format!("/tmp/ebpf-perf-monitor-cost-{}", std::process::id());
    let f = |n: &str| format!("{dir}/{n}");
    let tool = r
        .spawn(HOST, "exec bpftrace -q -e 'tracepoint:net:net_dev_xmit { @[cpu] = count(); } interval:s:1 { print(@); clear(@); }'", &f("tool.out"), &f("tool.err"), &f("tool.pid"))
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    // The release agent (this bench's build) and, when built, the debug one
    // that `cargo test --test perf` deploys.
    let debug_agent = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/debug/ebpf-perf-monitor"
    );
    let mut agents = vec![(
        "release",
        env!("CARGO_BIN_EXE_ebpf-perf-monitor").to_string(),
    )];
    if std::path::Path::new(debug_agent).exists() {
        agents.push(("debug", debug_agent.to_string()));
    }
    let agents: Vec<(&str, ProcessRecord)> = agents
        .iter()
        .map(|(kind, exe)| {
            let rec = r
                .spawn(
                    HOST,
                    &format!(
                        "exec {exe} --ts bench --tool-dir {dir}/{kind} --host-dir {dir}/{kind} --iface port-storage --tool {} {} --log {}",
                        tool.pid,
                        tool.start_time,
                        f("tool.out")
                    ),
                    &f(&format!("{kind}.log")),
                    &f(&format!("{kind}.log")),
                    &f(&format!("{kind}.pid")),
                )
                .unwrap();
            (*kind, rec)
        })
        .collect();
    let seed = r
        .spawn(
            HOST,
            &format!(
                "exec bash -c 'while kill -0 {p} 2>/dev/null; do date \"+%Y-%m-%d %H:%M:%S.%N\"; top -b -n 1 -p {p} | tail -1; ps -p {p} -o vsz,rss --no-headers; stat -c %s {log}; sleep 1; done'",
                p = tool.pid,
                log = f("tool.out")
            ),
            &f("seed.log"),
            &f("seed.log"),
            &f("seed.pid"),
        )
        .unwrap();
    // Warm up, then measure all over the same window.
    std::thread::sleep(Duration::from_secs(2));
    let before: Vec<u64> = agents.iter().map(|(_, a)| tree_ns(a.pid)).collect();
    let (s0, t0) = (tree_ticks(seed.pid), Instant::now());
    std::thread::sleep(WINDOW);
    let after: Vec<u64> = agents.iter().map(|(_, a)| tree_ns(a.pid)).collect();
    let (s1, dt) = (tree_ticks(seed.pid), t0.elapsed().as_secs_f64());
    // SAFETY: sysconf has no preconditions.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let seed_pct = 100.0 * (s1 - s0) as f64 / tck / dt;
    let samples = std::fs::read_to_string(format!("{dir}/release/tool_memory_bench.log"))
        .unwrap_or_default()
        .lines()
        .count();
    r.stop(HOST, &seed, Duration::from_secs(3)).unwrap();
    for (_, a) in &agents {
        r.stop(HOST, a, Duration::from_secs(3)).unwrap();
    }
    r.stop(HOST, &tool, Duration::from_secs(3)).unwrap();
    r.check(HOST, &format!("rm -rf {dir}"), SHORT).unwrap();
    println!("monitoring one bpftrace program on {HOST}, side by side for {dt:.1} s ({samples} samples each):");
    println!("seed-style loop (top + ps + stat + date, 1 s): {seed_pct:.3}% of one core ({} clock ticks, children included)", s1 - s0);
    for ((kind, _), (b, a)) in agents.iter().zip(before.iter().zip(&after)) {
        let pct = 100.0 * (a - b) as f64 / 1e9 / dt;
        println!("ebpf-perf agent, {kind} build (tool + host files, 1 s): {pct:.4}% of one core ({:.1} ms on CPU); seed / agent: {:.0}x", (a - b) as f64 / 1e6, seed_pct / pct);
    }
}
