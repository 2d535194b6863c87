//! `cargo test --test perf`: every (eBPF case × environment × performance
//! test) combination of the configuration as one named trial.

fn main() -> std::process::ExitCode {
    ebpf_perf::harness::main()
}
