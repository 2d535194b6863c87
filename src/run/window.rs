//! A run's monitoring window on a host. It starts with the round trip that
//! starts the run there: the host's own clock (where its agents' samples are
//! cut) and its CPU counters. It ends with the round trip that stops the
//! run: the CPU counters again.
//!
//! The host's CPU busy and softirq shares of a run come from the kernel's
//! counters at the window's two ends, exactly, not from the agent's
//! one-second samples: a sample covers the second before its stamp, so the
//! first one of a one-second run was mostly what ran before the run, such as
//! the tool episode's start before a tool block and nothing before a
//! baseline block. With a tool that did nothing, that gave one case of a
//! CI A/A session +13 points [10.8, 15.4] of "cost" (docs/experiment.md).

use super::error::StepError;
use crate::host::proc;
use crate::monitor::costs::{self, HostCost};
use std::collections::BTreeMap;

/// The host's own clock, in the monitor's timestamp format (UTC).
pub(super) const HOST_NOW: &str = "date -u '+%Y-%m-%d %H:%M:%S.%N'";

const CLOCK_MARK: &str = "@@ebpf-perf-clock";
const CPU_MARK: &str = "@@ebpf-perf-cpu";

/// Where a host's window of a run starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    /// The host's clock: its agents' samples from here on are the run's.
    pub clock: String,
    /// The host's CPU counters (None: /proc/stat could not be read).
    pub cpu: Option<Cpu>,
}

/// The windows of a run's monitored hosts, by host.
pub type Starts = BTreeMap<String, Start>;

/// The aggregate `cpu` line of /proc/stat, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cpu {
    busy: u64,
    softirq: u64,
    total: u64,
}

/// Prints the aggregate CPU counters, with shell builtins only (no process
/// is started to read them).
fn cpu_line() -> String {
    format!(
        "EP_CPU=; {{ read -r EP_CPU < /proc/stat; }} 2>/dev/null; echo \"{CPU_MARK} $EP_CPU\"\n"
    )
}

/// Lines for a script that starts a run: the window's start.
pub(super) fn start_line() -> String {
    format!("{}echo {CLOCK_MARK} \"$({HOST_NOW})\"\n", cpu_line())
}

/// A line for the script that stops a run: the window's end.
pub(super) fn end_line() -> String {
    cpu_line()
}

/// The start that [`start_line`] printed into `stdout`, its clock checked.
pub(super) fn take_start(host: &str, stdout: &str) -> Result<Start, StepError> {
    let now = stdout
        .lines()
        .find_map(|l| l.strip_prefix(CLOCK_MARK))
        .unwrap_or_default()
        .trim();
    if costs::seconds(now).is_none() {
        return Err(StepError::new(
            "read host clock",
            format!("`{HOST_NOW}` printed {now:?}, not a time; is GNU date installed?"),
        )
        .on(host));
    }
    Ok(Start {
        clock: now.to_string(),
        cpu: cpu_in(stdout),
    })
}

/// The counters a [`cpu_line`] printed into `stdout` (the last one).
fn cpu_in(stdout: &str) -> Option<Cpu> {
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(CPU_MARK))?;
    let (name, busy, softirq, total) = proc::cpu_times_of(line.trim()).into_iter().next()?;
    (name == "cpu").then_some(Cpu {
        busy,
        softirq,
        total,
    })
}

/// The host's CPU busy and softirq shares (%) between `a` and `b`; None
/// when no tick passed or a counter went back.
fn busy_between(a: Cpu, b: Cpu) -> Option<(f64, f64)> {
    let dt = b.total.checked_sub(a.total).filter(|d| *d > 0)? as f64;
    let busy = b.busy.checked_sub(a.busy)? as f64;
    let soft = b.softirq.checked_sub(a.softirq)? as f64;
    Some((100.0 * busy / dt, 100.0 * soft / dt))
}

/// Puts the host's CPU busy and softirq shares over the window into `hc`
/// when both of its ends were read (`stdout`: the stop's round trip);
/// otherwise `hc` keeps the agent's samples.
pub(super) fn exact_cpu(hc: &mut HostCost, start: Option<&Start>, stdout: &str) {
    let ends = start.and_then(|s| s.cpu).zip(cpu_in(stdout));
    if let Some((busy, softirq)) = ends.and_then(|(a, b)| busy_between(a, b)) {
        hc.cpu_busy_avg_percent = Some(busy);
        hc.softirq_avg_percent = Some(softirq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The agent's samples say 95 % busy (what ran before the run); the
    /// counters at the window's ends say 850 of 1060 ticks.
    #[test]
    fn the_counters_replace_the_samples_when_both_ends_were_read() {
        let sampled = HostCost {
            cpu_busy_avg_percent: Some(95.0),
            softirq_avg_percent: Some(30.0),
            mem_used_avg_kb: Some(1.0),
            ..HostCost::default()
        };
        let start = Start {
            clock: "2026-12-07 08:18:15.0".into(),
            cpu: cpu_in(&printed(A)),
        };
        let mut hc = sampled.clone();
        exact_cpu(&mut hc, Some(&start), &printed(B));
        assert_eq!(hc.cpu_busy_avg_percent, Some(100.0 * 850.0 / 1060.0));
        assert_eq!(hc.softirq_avg_percent, Some(100.0 * 50.0 / 1060.0));
        assert_eq!(hc.mem_used_avg_kb, Some(1.0));
        for (start, end) in [(None, printed(B)), (Some(&start), "no end".to_string())] {
            let mut hc = sampled.clone();
            exact_cpu(&mut hc, start, &end);
            assert_eq!(hc, sampled);
        }
    }

    /// /proc/stat's first line, recorded on the lab: user nice system idle
    /// iowait irq softirq steal guest guest_nice.
    const A: &str = "cpu  1000 10 500 8000 90 0 100 0 0 0";
    const B: &str = "cpu  1600 10 700 8200 100 0 150 0 0 0";

    fn printed(line: &str) -> String {
        format!("something else\n{CPU_MARK} {line}\n")
    }

    #[test]
    fn the_share_is_of_the_ticks_between_the_two_ends() {
        let (a, b) = (cpu_in(&printed(A)).unwrap(), cpu_in(&printed(B)).unwrap());
        // busy: user+nice+system+irq+softirq+steal: 1610 -> 2460, +850;
        // total adds idle+iowait: 9700 -> 10760, +1060.
        let (busy, soft) = busy_between(a, b).unwrap();
        assert!((busy - 100.0 * 850.0 / 1060.0).abs() < 1e-9, "{busy}");
        assert!((soft - 100.0 * 50.0 / 1060.0).abs() < 1e-9, "{soft}");
        assert_eq!(busy_between(a, a), None, "no tick passed");
        assert_eq!(busy_between(b, a), None, "counters went back");
    }

    #[test]
    fn a_missing_or_odd_line_gives_no_counters() {
        assert_eq!(cpu_in("nothing"), None);
        assert_eq!(cpu_in(&format!("{CPU_MARK} \n")), None);
        assert_eq!(cpu_in(&printed("cpu0 1 2 3 4 5 6 7 8 9 10")), None);
        assert_eq!(cpu_in(&printed("cpu 1 2 x")), None);
    }

    #[test]
    fn the_start_needs_a_clock_and_keeps_the_counters() {
        let out = format!(
            "{}\n{CLOCK_MARK} 2026-12-07 08:18:15.071202057\n",
            printed(A)
        );
        let s = take_start("h", &out).unwrap();
        assert_eq!(s.clock, "2026-12-07 08:18:15.071202057");
        assert_eq!(s.cpu, cpu_in(&printed(A)));
        let e = take_start("h", &printed(A)).unwrap_err();
        assert!(e.to_string().contains("GNU date"), "{e}");
    }

    /// The lines run in the shells the harness meets (sh is dash on
    /// Debian) and read this machine's counters.
    #[test]
    fn the_lines_read_the_counters_with_the_shell() {
        let script = format!("{}{}", start_line(), end_line());
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&out.stdout);
        let s = take_start("localhost", &out).unwrap();
        let end = cpu_in(&out).unwrap();
        assert!(s.cpu.unwrap().total <= end.total, "{out}");
    }
}
