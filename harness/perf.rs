//! `cargo test --test perf`: every (eBPF case × environment × performance
//! test) combination of the configuration as one named trial.

fn main() -> std::process::ExitCode {
    // Cargo builds the monitor agent for integration tests and says where.
    let monitor = std::path::PathBuf::from(env!("CARGO_BIN_EXE_ebpf-perf-monitor"));
    ebpf_perf::harness::main(Some(monitor))
}
