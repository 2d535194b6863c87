//! The exit codes of `ebpf-perf` and of the test harness, in one table.

use std::process::ExitCode;

/// What a run or a command ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything passed.
    Ok,
    /// A trial (or a merged shard) failed.
    Failed,
    /// Bad input: configuration, options or files named by options.
    Config,
    /// The filter selected no trial (nextest's NO_TESTS_RUN).
    NoTests,
    /// Stopped by Ctrl-C or SIGTERM, after tearing down (128 + SIGINT).
    Interrupted,
}

impl Exit {
    pub const fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Config => 2,
            Exit::NoTests => 4,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}
