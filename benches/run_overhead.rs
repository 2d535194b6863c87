//! What a run and a block cost beyond their tests, on the lab: for a
//! latency (TCP_RR) and a throughput (2-stream TCP) baseline block of 10
//! runs of 1 s, the time from each run's start to the next one's minus the
//! test duration, and the block's fixed work (its wall time minus its
//! runs). Side by side, in rounds, the
//! same tools run directly (`ip netns exec … netperf -l 1`, `iperf3 -t 1`),
//! which is the limit: what a run costs when nothing else happens. The
//! harness runs with its monitor agent, as `cargo test --test perf` does.
//!
//! Run as root: `cargo bench --bench run_overhead`.

use ebpf_perf::results::Side;
use ebpf_perf::run::Runner;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROUNDS: usize = 3;
const RUNS: u32 = 10;
const SERVER_NS: &str = "ebpf-perf-host-server";
const CLIENT_NS: &str = "ebpf-perf-host-client";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn at(s: &str) -> f64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.9f")
        .map(|t| t.and_utc().timestamp_micros() as f64 / 1e6)
        .unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// A server started in the server's namespace, stopped by its PID.
struct Server(std::process::Child);

impl Server {
    fn start(args: &[&str]) -> Server {
        let child = Command::new("ip")
            .args(["netns", "exec", SERVER_NS])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        Server(child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wall time of the tool run directly, minus its 1 s.
fn direct(args: &[&str]) -> f64 {
    let t = Instant::now();
    let ok = Command::new("ip")
        .args(["netns", "exec", CLIENT_NS])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "{args:?}");
    t.elapsed().as_secs_f64() - 1.0
}

fn main() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
    let mut cfg = ebpf_perf::config::load(dir).unwrap();
    let plan = ebpf_perf::host::lab::Plan::from_config(&cfg).unwrap();
    ebpf_perf::host::lab::up(&plan)
        .unwrap_or_else(|e| panic!("the lab is needed (run as root): {e}"));
    cfg.override_repeats(RUNS);
    let matrix = ebpf_perf::matrix::build(&cfg);
    let names = [
        "baseline::host::latency::tcp_rr",
        "baseline::host::throughput::multi_2_tcp",
    ];
    let picked: Vec<usize> = names
        .iter()
        .map(|n| matrix.trials.iter().position(|t| t.name == *n).unwrap())
        .collect();
    let duration = |t: usize| {
        f64::from(ebpf_perf::matrix::duration(
            &cfg.perf,
            &matrix.trials[t].variant,
        ))
    };
    let durations: Vec<f64> = picked.iter().map(|&t| duration(t)).collect();
    assert!(
        durations.iter().all(|d| *d == 1.0),
        "1 s tests expected: {durations:?}"
    );
    // With the monitor agent, as `cargo test --test perf` runs.
    let agent = std::path::PathBuf::from(env!("CARGO_BIN_EXE_ebpf-perf-monitor"));
    let cycle = matrix.trials[picked[0]].cycle;
    let mut runner = Runner::new(Arc::new(cfg), Arc::new(matrix), &picked, Some(agent));
    runner.enter_case(cycle).unwrap_or_else(|e| panic!("{e}"));
    let (mut per_run, mut fixed, mut direct_run) = (
        vec![Vec::new(); 2],
        vec![Vec::new(); 2],
        vec![Vec::new(); 2],
    );
    for _ in 0..ROUNDS {
        for (k, &t) in picked.iter().enumerate() {
            let tr = runner.block(t, Side::Baseline);
            assert!(tr.error.is_none(), "{:?}", tr.error);
            let tr = tr.block;
            // A run's cost is the time from its start to the next run's
            // start: its stops and its monitoring slices included.
            let starts: Vec<f64> = tr.runs.iter().map(|r| at(&r.start)).collect();
            let gaps: Vec<f64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
            per_run[k].extend(gaps.iter().map(|g| g - durations[k]));
            let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
            fixed[k].push(tr.duration_s - mean * starts.len() as f64);
        }
        {
            let _s = Server::start(&["netserver", "-L", "198.18.1.11", "-p", "12998", "-D"]);
            for _ in 0..RUNS {
                direct_run[0].push(direct(&[
                    "netperf",
                    "-H",
                    "198.18.1.11",
                    "-p",
                    "12998",
                    "-L",
                    "198.18.1.12",
                    "-t",
                    "TCP_RR",
                    "-l",
                    "1",
                ]));
            }
        }
        for _ in 0..RUNS {
            let _a = Server::start(&["iperf3", "-s", "-1", "-p", "5290", "-B", "198.18.1.11"]);
            let _b = Server::start(&["iperf3", "-s", "-1", "-p", "5291", "-B", "198.18.1.11"]);
            let t = Instant::now();
            let clients: Vec<_> = ["5290", "5291"]
                .iter()
                .map(|p| {
                    Command::new("ip")
                        .args(["netns", "exec", CLIENT_NS, "iperf3", "-c", "198.18.1.11"])
                        .args(["-B", "198.18.1.12", "-p", p, "-t", "1", "-J"])
                        .stdout(Stdio::null())
                        .spawn()
                        .unwrap()
                })
                .collect();
            for mut c in clients {
                assert!(c.wait().unwrap().success());
            }
            direct_run[1].push(t.elapsed().as_secs_f64() - 1.0);
        }
    }
    runner.finish();
    for (k, name) in names.iter().enumerate() {
        let (h, d) = (median(per_run[k].clone()), median(direct_run[k].clone()));
        println!(
            "{name}: per run beyond the test: harness {:.0} ms, direct {:.0} ms (ratio {:.1}); fixed work per block {:.0} ms ({} runs, {} blocks)",
            1e3 * h,
            1e3 * d,
            h / d,
            1e3 * median(fixed[k].clone()),
            per_run[k].len(),
            fixed[k].len()
        );
    }
}
