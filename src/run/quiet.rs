//! Quiet hosts before a run: each host of the run samples its CPU busy
//! outside our own processes (the process groups we started there), and the
//! run waits, up to a bound, until every one is below `quiet_cpu_pct`. The
//! outcome is recorded either way.

use super::trace::Trace;
use super::{Runner, Undo};
use crate::host::remote::SHORT;
use crate::results::Quiet;
use crate::shell::monitor;
use std::time::{Duration, Instant};

/// How long each CPU sample lasts.
const SAMPLE: Duration = Duration::from_millis(250);
/// How long a busy host is left alone before it is sampled again.
const PAUSE: Duration = Duration::from_millis(750);

/// Waits for quiet `hosts` when the spec asks for it; one record per host
/// (none when the check is off).
pub(super) fn wait(r: &Runner, trace: &mut Trace, hosts: &[&str]) -> Vec<Quiet> {
    let Some((limit, max_wait)) = r.cfg.perf.quiet() else {
        return Vec::new();
    };
    super::trace::per_host(r, trace, hosts, |r, host, t| {
        let start = Instant::now();
        let script = monitor::cpu_sample(&our_groups(r, host), SAMPLE);
        loop {
            let busy = t
                .check(&r.remote, host, "wait for a quiet host", &script, SHORT)
                .ok()
                .and_then(|o| monitor::busy_outside(&o.stdout));
            let waited = start.elapsed();
            let quiet = busy.is_some_and(|b| b < limit);
            if quiet
                || busy.is_none()
                || waited + PAUSE > max_wait
                || r.cancel.load(std::sync::atomic::Ordering::SeqCst)
            {
                return Quiet {
                    host: host.to_string(),
                    busy_pct: busy.map(|b| (b * 10.0).round() / 10.0),
                    waited_s: (waited.as_secs_f64() * 100.0).round() / 100.0,
                    quiet,
                };
            }
            std::thread::sleep(PAUSE);
        }
    })
}

/// The process groups we started on `host` that run now (the eBPF program,
/// the monitor agent, hooks' background tasks): their CPU is the cost being
/// measured, not noise.
fn our_groups(r: &Runner, host: &str) -> Vec<u32> {
    let mut v: Vec<u32> = r
        .fixtures
        .active
        .iter()
        .flat_map(|a| &a.undo)
        .flat_map(|u| match u {
            Undo::Stop {
                host: h, record, ..
            } if h == host => vec![record.pid],
            Undo::StopBackground(bs) => bs
                .iter()
                .filter(|b| b.host == host)
                .map(|b| b.record.pid)
                .collect(),
            _ => Vec::new(),
        })
        .chain(
            r.fixtures
                .programs
                .iter()
                .filter(|p| p.host == host)
                .map(|p| p.record.pid),
        )
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}
