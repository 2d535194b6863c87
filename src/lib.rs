//! ebpf-perf: what an eBPF tool costs the network traffic it watches.
//!
//! The modules follow the data flow of DESIGN.md section 2:
//! [`config`] (load + validate) -> [`matrix`] (cycles, trials, names) ->
//! [`filter`] + [`partition`] + [`harness`] (select, shard, order, run:
//! [`run`] on the hosts) ->
//! [`results`] (the file on the controller) -> [`analysis`] (statistics,
//! comparison, verdicts) -> [`junit`] (for CI) and [`report`] (HTML and
//! Markdown, read from the results file alone); [`merge`] joins the results
//! files of sharded runs into one. [`workflow`] writes the generated matrix as JSON; [`discover`] writes
//! tools-file fragments for the eBPF tools it finds in directories. [`naming`] is the one
//! place that knows names and paths; [`template`] fills command templates.

pub mod analysis;
pub mod config;
pub mod discover;
pub mod domain;
pub mod fetch;
pub mod filter;
pub mod harness;
pub mod hosts;
pub mod junit;
pub mod lab;
pub mod logging;
pub mod matrix;
pub mod merge;
pub mod metrics;
pub mod monitor;
pub mod naming;
pub mod partition;
pub mod perf;
pub mod process;
pub mod readout;
pub mod remote;
pub mod report;
pub mod results;
pub mod run;
pub mod stats;
pub mod template;
pub mod workflow;

/// Restores the default SIGPIPE action (Rust ignores it), so that output piped
/// into `head` ends the program quietly, as for any command-line tool.
pub fn restore_default_sigpipe() {
    // SAFETY: setting a signal disposition to its default has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
