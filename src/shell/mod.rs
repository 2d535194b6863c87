//! The shell: the one quoting function, and the shell text the product
//! sends to hosts, built here and nowhere else. [`process`] starts and stops
//! processes by PID; [`steps`] holds the snippets of the run stage and of
//! the host operations (directories, files, leases, probes); [`monitor`]
//! those that watch hosts (the agent, its windows, the quiet-host sample);
//! [`tool_logs`] the tool's output cut per trial; [`placement`] where the
//! test's processes ran; [`cpu_latency`] the hold on a host's CPU wake-up
//! latency during a run.
//! Every value that enters a snippet goes through [`quote`].

pub mod cpu_latency;
pub mod monitor;
pub mod placement;
pub mod process;
pub mod steps;
pub mod tool_logs;

use std::borrow::Cow;

/// Shell-quotes one word for a POSIX shell (no quoting when it is not needed).
pub fn quote(word: &str) -> Cow<'_, str> {
    // try_quote only fails on a NUL byte, which no shell word can carry; drop it.
    match shlex::try_quote(word) {
        Ok(q) => q,
        Err(_) => Cow::Owned(
            shlex::try_quote(&word.replace('\0', ""))
                .map(Cow::into_owned)
                .unwrap_or_default(),
        ),
    }
}
