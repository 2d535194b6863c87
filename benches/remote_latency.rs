//! p50/p99 of a trivial remote command (`true`) on the lab: the reused ssh2
//! session of the remote layer versus a fresh OpenSSH `ssh` process per
//! command, measured side by side in one run (interleaved in rounds, so both
//! see the same machine load).
//!
//! Run as root: `cargo bench --bench remote_latency`.

use ebpf_perf::host::remote::{Remote, SHORT};
use std::process::Command;
use std::time::{Duration, Instant};

const ROUNDS: usize = 20;
const REUSED_PER_ROUND: usize = 25;
const FRESH_PER_ROUND: usize = 5;

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
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
    let host = "host-server";
    let h = &cfg.ssh_hosts[host];
    let r = Remote::new(&cfg);
    r.exec(host, "true", SHORT).unwrap(); // open the session once
    let key = h.identity_file.clone().unwrap();
    let kh = h.known_hosts.clone().unwrap();
    let ssh_args = [
        "-i",
        &key,
        "-o",
        &format!("UserKnownHostsFile={kh}"),
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ControlMaster=no",
        "-o",
        "ControlPath=none",
    ];
    let target = format!("{}@{}", h.user, h.host);
    let (mut reused, mut fresh) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        for _ in 0..REUSED_PER_ROUND {
            let t = Instant::now();
            assert!(r.exec(host, "true", SHORT).unwrap().success());
            reused.push(t.elapsed());
        }
        for _ in 0..FRESH_PER_ROUND {
            let t = Instant::now();
            let ok = Command::new("ssh")
                .args(ssh_args)
                .arg(&target)
                .arg("true")
                .status()
                .unwrap()
                .success();
            fresh.push(t.elapsed());
            assert!(ok, "ssh failed");
        }
    }
    let (rp50, rp99) = (pct(&mut reused, 0.5), pct(&mut reused, 0.99));
    let (fp50, fp99) = (pct(&mut fresh, 0.5), pct(&mut fresh, 0.99));
    println!(
        "`true` on {host} ({} reused / {} fresh samples, interleaved in {ROUNDS} rounds)",
        reused.len(),
        fresh.len()
    );
    println!(
        "reused ssh2 session : p50 {:>8.2?}  p99 {:>8.2?}",
        rp50, rp99
    );
    println!(
        "fresh `ssh` process : p50 {:>8.2?}  p99 {:>8.2?}",
        fp50, fp99
    );
    println!(
        "fresh / reused      : p50 {:.1}x  p99 {:.1}x",
        fp50.as_secs_f64() / rp50.as_secs_f64(),
        fp99.as_secs_f64() / rp99.as_secs_f64()
    );
}
