//! Readiness of a tool episode (docs/design.md §5): the agent's
//! `--wait-attached PID START` mode polls the process tree of the tool's
//! recording wrapper every 5 ms until its BPF programs are attached, and
//! prints `ready`, `exited` or `timeout`. Attached: every loaded program is
//! attached (through a `bpf_link`, or a perf event the kernel says it is
//! set on), or some are and nothing has changed for 100 ms (a tool may hold
//! programs it never attaches, e.g. tail-call targets). Where the kernel
//! cannot say (a program on a software perf event such as bpftrace's
//! `interval`, or tc/xdp attached through netlink), programs that are
//! loaded and have not changed for 500 ms are taken as attached.

use crate::host::proc::{bpf_state, runs_as, tree, Bpf};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(5);
const SETTLED: Duration = Duration::from_millis(100);
const SETTLED_UNSEEN: Duration = Duration::from_millis(500);

/// Is a tool whose BPF looks like `b`, unchanged since `since`, ready?
pub fn ready(b: Bpf, since: Duration) -> bool {
    (b.loaded > 0 && b.attached >= b.loaded)
        || (b.attached > 0 && since >= SETTLED)
        || (b.loaded > 0 && since >= SETTLED_UNSEEN)
}

/// Polls until ready, exited or `timeout`; the word to print.
pub fn wait(pid: u32, start: u64, timeout: Duration) -> &'static str {
    let began = Instant::now();
    let (mut last, mut changed) = (Bpf::default(), Instant::now());
    loop {
        if !runs_as(pid, start) {
            return "exited";
        }
        let b = bpf_state(&tree(pid));
        if b != last {
            (last, changed) = (b, Instant::now());
        }
        if ready(b, changed.elapsed()) {
            return "ready";
        }
        if began.elapsed() >= timeout {
            return "timeout";
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_when_every_program_is_attached_or_some_are_and_it_settled() {
        let b = |loaded, attached| Bpf { loaded, attached };
        assert!(!ready(b(0, 0), SETTLED));
        assert!(!ready(b(2, 0), SETTLED), "loaded is not attached");
        assert!(
            ready(b(2, 0), SETTLED_UNSEEN),
            "loaded, settled, unseen: taken as attached"
        );
        assert!(!ready(b(2, 1), Duration::ZERO), "one of two, still moving");
        assert!(ready(b(2, 1), SETTLED), "one of two, settled");
        assert!(ready(b(2, 2), Duration::ZERO));
        assert!(ready(b(1, 3), Duration::ZERO), "perf events of one program");
    }
}
