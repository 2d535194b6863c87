//! Diagnostics on stderr through `tracing`, filtered by `EBPF_PERF_LOG`
//! (e.g. `EBPF_PERF_LOG=debug`); warnings and errors by default.

use tracing_subscriber::EnvFilter;

pub const LOG_ENV: &str = "EBPF_PERF_LOG";

/// Installs the subscriber once; later calls do nothing.
pub fn init() {
    let filter = EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
