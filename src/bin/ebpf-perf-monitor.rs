//! `ebpf-perf-monitor`: the monitor agent ebpf-perf copies to each host and
//! runs there, detached, for the length of a case (see `ebpf_perf::monitor`).
//! It links no SSH or TLS library, so any Linux host of the same
//! architecture runs it.

use clap::Parser;
use ebpf_perf::exit::Exit;
use ebpf_perf::monitor::agent::{self, Options};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "ebpf-perf-monitor",
    version,
    about = "Samples /proc and /sys for ebpf-perf"
)]
struct Args {
    /// Directory of the tool files (tool_cpu_usage, tool_memory, tool_logsize, bpf_prog_stats).
    #[arg(long)]
    tool_dir: Option<PathBuf>,
    /// Directory of the host files (cpu_mem, network_stats, disk_io).
    #[arg(long)]
    host_dir: Option<PathBuf>,
    /// Timestamp in the file names.
    #[arg(long, required_unless_present = "wait_attached")]
    ts: Option<String>,
    /// Instead of sampling: wait until the process tree of PID (started at
    /// START) has its BPF programs attached; print ready, exited or timeout.
    #[arg(long, num_args = 2, value_names = ["PID", "START"])]
    wait_attached: Option<Vec<u64>>,
    /// How long --wait-attached waits.
    #[arg(long, default_value_t = 20_000)]
    timeout_ms: u64,
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// The tool's PID and start time (field 22 of /proc/PID/stat).
    #[arg(long, num_args = 2, value_names = ["PID", "START"])]
    tool: Option<Vec<u64>>,
    /// The tool's output log, whose size is sampled.
    #[arg(long)]
    log: Option<PathBuf>,
    /// Interfaces whose counters are sampled.
    #[arg(long = "iface")]
    ifaces: Vec<String>,
    #[arg(long)]
    no_cpu: bool,
    #[arg(long)]
    no_memory: bool,
    #[arg(long)]
    no_log_size: bool,
    #[arg(long)]
    no_bpf: bool,
}

fn main() -> ExitCode {
    let a = Args::parse();
    if let Some(w) = &a.wait_attached {
        let pid = u32::try_from(w[0]).unwrap_or(0);
        let timeout = Duration::from_millis(a.timeout_ms);
        println!("{}", ebpf_perf::monitor::attach::wait(pid, w[1], timeout));
        return Exit::Ok.into();
    }
    let base = Options {
        dir: PathBuf::new(),
        ts: a.ts.unwrap_or_default(),
        interval: Duration::from_millis(a.interval_ms.max(10)),
        tool: None,
        log: None,
        ifaces: Vec::new(),
        cpu: !a.no_cpu,
        memory: !a.no_memory,
        log_size: !a.no_log_size,
        bpf: !a.no_bpf,
        host: false,
    };
    let tool = a.tool_dir.map(|dir| Options {
        dir,
        tool: a.tool.as_ref().map(|v| (v[0] as u32, v[1])),
        log: a.log,
        ..base.clone()
    });
    let host = a.host_dir.map(|dir| Options {
        dir,
        ifaces: a.ifaces,
        host: true,
        ..base.clone()
    });
    if tool.is_none() && host.is_none() {
        eprintln!("ebpf-perf-monitor: give --tool-dir and/or --host-dir");
        return Exit::Config.into();
    }
    // One process; tool and host files may live in different directories.
    let host_thread = host.map(|h| std::thread::spawn(move || agent::run(&h)));
    let mut result = tool.map_or(Ok(()), |t| agent::run(&t));
    if let Some(h) = host_thread {
        result = result.and(h.join().unwrap_or(Ok(())));
    }
    match result {
        Ok(()) => ExitCode::from(Exit::Ok),
        Err(e) => {
            eprintln!("ebpf-perf-monitor: {e}");
            ExitCode::from(Exit::Failed)
        }
    }
}
