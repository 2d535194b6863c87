//! Holding a host's CPU wake-up latency low for a run (Linux's CPU latency
//! QoS, as tuned's `latency-performance` profile does): a process opens
//! `/dev/cpu_dma_latency`, writes the limit and keeps the file open; the
//! kernel then picks no idle state slower to leave than the limit, on every
//! CPU, until the file is closed, i.e. until the process is stopped.
//!
//! Why (docs/experiment.md, "Latency"): on the lab's 2-CPU guest a wake
//! from halt costs ~40 µs, more than a request/response round trip itself,
//! and how often the CPUs sleep depends on whatever else runs. Mean TCP_RR
//! latency of 1-s runs moved between 17 and 33 µs with the harness's own
//! background work; held at 0 µs, 1-s runs sit at ~16 µs with a CV of ~4 %.

use super::quote;

/// What the holder prints once the limit is written.
const HELD: &str = "held";

/// The holder's command: opens the device, writes `us` (as the kernel's
/// hex text form, never 4 bytes long, which it would take for a binary
/// s32), says [`HELD`], and sleeps with the file open. It exits at once,
/// with the shell's message, where the device cannot be opened (no root,
/// no such kernel interface).
pub fn holder(us: u32) -> String {
    format!(
        "exec 3>/dev/cpu_dma_latency && printf '0x%08x' {us} >&3 && echo {HELD} && exec sleep 2147483647"
    )
}

/// A wait script for a holder started with `pid_file` and `log`: returns
/// once it has written its limit; exits 2 with its log's tail on stderr
/// when it ended instead (or said nothing within `timeout_s`).
pub fn wait_held(pid_file: &str, log: &str, timeout_s: u32) -> String {
    format!(
        "{alive}\n{clock}\ncs; end=$((_c + {timeout_s}00))\n\
         read -r _p _st _b <{pid} || {{ echo \"no pid file {pid}\" >&2; exit 2; }}\n\
         until grep -qx {HELD} {log} 2>/dev/null; do\n\
         alive \"$_p\" \"$_st\" && {{ cs; [ $_c -lt $end ]; }} || {{ echo \"could not hold the CPU wake-up latency (/dev/cpu_dma_latency):\" >&2; tail -c 500 {log} >&2; exit 2; }}\n\
         sleep 0.005; done\n",
        alive = super::process::ALIVE_FN,
        clock = super::process::CLOCK_FN,
        pid = quote(pid_file),
        log = quote(log),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::process;
    use std::process::Command;

    fn sh(script: &str) -> std::process::Output {
        Command::new("sh").arg("-c").arg(script).output().unwrap()
    }

    /// The kernel's current CPU latency limit (µs), as the device reads.
    fn current_limit() -> i32 {
        let b = std::fs::read("/dev/cpu_dma_latency").unwrap();
        i32::from_ne_bytes(b[..4].try_into().unwrap())
    }

    /// The limit holds while the holder runs and ends with it: started and
    /// stopped the one way the product starts and stops processes.
    #[test]
    fn the_limit_holds_while_the_holder_runs() {
        if !crate::root_or_skip("/dev/cpu_dma_latency") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let (log, pid) = (format!("{d}/h.log"), format!("{d}/h.pid"));
        let before = current_limit();
        // 7 µs: a value no other process on this machine holds.
        let start = process::start_script(&holder(7), &log, &log, &pid);
        let rec = process::parse_started(&String::from_utf8_lossy(&sh(&start).stdout), &pid)
            .expect("started");
        let w = sh(&wait_held(&pid, &log, 5));
        assert!(w.status.success(), "{}", String::from_utf8_lossy(&w.stderr));
        assert!(current_limit() <= 7, "limit {}", current_limit());
        let stop = sh(&process::stop_script(
            &rec,
            std::time::Duration::from_secs(3),
        ));
        assert!(String::from_utf8_lossy(&stop.stdout).starts_with("terminated"));
        assert_eq!(current_limit(), before);
    }

    /// A holder that cannot open the device fails the wait with the
    /// shell's own message.
    #[test]
    fn a_holder_that_cannot_open_the_device_fails_the_wait_with_why() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let (log, pid) = (format!("{d}/h.log"), format!("{d}/h.pid"));
        // The same script with a device that is not there.
        let cmd = holder(0).replace("/dev/cpu_dma_latency", &format!("{d}/no/such/device"));
        let start = process::start_script(&cmd, &log, &log, &pid);
        sh(&start);
        let w = sh(&wait_held(&pid, &log, 5));
        assert_eq!(w.status.code(), Some(2));
        let err = String::from_utf8_lossy(&w.stderr);
        assert!(err.contains("could not hold"), "{err}");
        assert!(err.contains("no/such/device"), "{err}");
    }
}
