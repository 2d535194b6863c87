//! ebpf-perf: what an eBPF tool costs the network traffic it watches.
//!
//! The modules are listed in data-flow order, grouped by floor; a module
//! uses only modules listed before it (`tests/architecture.rs` checks this).
//! `docs/design.md` tells the whole flow.

// The ground floor: the shared vocabulary, which uses nothing else of the crate.
pub mod yaml;
pub mod domain;
pub mod exit;
pub mod logging;
pub mod shell;
pub mod metrics;
pub mod compat;
pub mod ratings;
pub mod naming;
pub mod stats;
pub mod precision;
pub mod template;
pub mod untrusted;

// The record: the results file's schema, and how its numbers read.
pub mod results;
pub mod readout;

// Inputs: the configuration, the matrix of trials, and the selection.
pub mod config;
pub mod matrix;
pub mod filter;
pub mod partition;
pub mod schedule;

// Host operations: processes, SSH, the lab, probes, fetching.
pub mod host;

// Measuring: test commands and their parsers, monitors, the run stage.
pub mod perf;
pub mod monitor;
pub mod run;

// After the results, fed by the results file: statistics and verdicts,
// decisions, JUnit, the report, the merge of sharded runs, exports and
// the history across sessions.
pub mod analysis;
pub mod decision;
pub mod calibration;
pub mod junit;
pub mod report;
pub mod merge;
pub mod export;
pub mod history;

// Front doors: the test harness and the subcommands' own modules.
pub mod harness;
pub mod hosts;
pub mod workflow;
pub mod discover;
pub mod import;

/// Restores the default SIGPIPE action (Rust ignores it), so that output piped
/// into `head` ends the program quietly, as for any command-line tool.
pub fn restore_default_sigpipe() {
    // SAFETY: setting a signal disposition to its default has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// A file of recorded real tool output under `tests/data/`, for unit tests.
#[cfg(test)]
pub(crate) fn test_data(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// For tests that need root (a PID namespace, /dev/cpu_dma_latency,
/// chown): true as root; otherwise says the test skipped, and under
/// CI=true fails it, since CI must not skip them.
#[doc(hidden)]
pub fn root_or_skip(what: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what} needs root and CI=true forbids skipping"
    );
    eprintln!("SKIPPED: {what} needs root");
    false
}
