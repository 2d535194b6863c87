//! Monitoring on the lab with real bpftrace: what the eBPF tool and the hosts
//! spend, including the in-kernel cost of the BPF programs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

static LAB: Mutex<()> = Mutex::new(());
const BPF_STATS: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// The default config (2 s tests) with one run per trial, edited by `edit`.
fn config(edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    common::lab_config(2, |d| {
        common::fixed_pairs_in(d, 2);
        common::no_budgets_in(d);
        edit(d)
    })
}

fn perf(cfg: &Path, args: &[&str]) -> Output {
    common::perf_in(cfg, args).0
}

fn set_bpf_stats(v: &str) {
    std::fs::write(BPF_STATS, v).unwrap();
}

fn bpf_stats() -> String {
    std::fs::read_to_string(BPF_STATS)
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn counter_and_printf_cases_show_their_in_kernel_cost() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    set_bpf_stats("0");
    let cfg = config(|_| {});
    let o = perf(
        cfg.path(),
        &["tcp_rr", "host", "--skip", "baseline", "--skip", "case_2"],
    );
    assert!(
        o.status.success(),
        "{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );
    let m = common::trial_metadata(cfg.path());
    let cost = |case: &str| {
        let (_, meta) = m.iter().find(|(n, _)| n.contains(case)).unwrap();
        meta["runs"][0]["monitoring"]["tool"]["host-server"].clone()
    };
    let counter = cost("case_1");
    let printf = cost("case_3");
    let ns = |v: &serde_json::Value| {
        v["bpf"]["ns_per_event"]
            .as_f64()
            .unwrap_or_else(|| panic!("{v}"))
    };
    let events = |v: &serde_json::Value| v["bpf"]["events"].as_u64().unwrap();
    // Under netperf load the tracepoint fires, at a plausible in-kernel cost.
    assert!(events(&counter) > 1000, "{counter}");
    assert!((5.0..100_000.0).contains(&ns(&counter)), "{counter}");
    assert!(counter["bpf"]["cpu_share_percent"].as_f64().unwrap() > 0.0);
    // A printf per packet costs more per event than a per-CPU counter, and its log grows.
    assert!(
        ns(&printf) > ns(&counter),
        "printf {} vs counter {}",
        ns(&printf),
        ns(&counter)
    );
    assert!(
        printf["log_growth_bytes_per_second"].as_f64().unwrap() > 1000.0,
        "{printf}"
    );
    assert!(counter["rss_avg_kb"].as_f64().unwrap() > 1000.0);
    // The slices are in the trials' directories, and stats were turned off again.
    for (name, meta) in m.iter().filter(|(n, _)| !n.starts_with("baseline")) {
        let dir =
            PathBuf::from(meta["hosts"]["server"]["result_dir"].as_str().unwrap()).join("run_1");
        let files: Vec<String> = std::fs::read_dir(dir.join("ebpf_monitoring"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        for f in [
            "tool_cpu_usage_",
            "tool_memory_",
            "tool_logsize_",
            "bpf_prog_stats_",
        ] {
            assert!(
                files.iter().any(|x| x.starts_with(f)),
                "{name}: {f} in {files:?}"
            );
        }
        let host: Vec<String> = std::fs::read_dir(dir.join("monitoring"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        for f in ["cpu_mem_", "network_stats_", "disk_io_"] {
            assert!(
                host.iter().any(|x| x.starts_with(f)),
                "{name}: {f} in {host:?}"
            );
        }
    }
    assert_eq!(bpf_stats(), "0");
}

/// Sum of VmRSS (kB) over a process and its descendants.
fn tree_rss(pid: u32) -> u64 {
    use ebpf_perf::host::proc;
    proc::tree(pid)
        .into_iter()
        .map(|p| proc::status_kb(p, "VmRSS:"))
        .sum()
}

fn newest(dir: &Path, prefix: &str, since: SystemTime) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|m| m >= since)
        })
        .map(|e| e.path())
        .max()
}

#[test]
fn rss_matches_proc_and_monitors_stop_with_their_case() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = config(|d| {
        let spec = d.join("performance-test-spec.yaml");
        let t = std::fs::read_to_string(&spec).unwrap().replace(
            "    duration: 2\n    ports: [12865]",
            "    duration: 8\n    ports: [12865]",
        );
        std::fs::write(spec, t).unwrap();
    });
    let since = SystemTime::now();
    let child = common::spawn_perf(cfg.path(), &["case_1", "tcp_rr"]);
    let root = &common::lab_results("host-server").join("ebpf");
    // This run's case directory: other configurations' case 1 of tool_001
    // (other parameters, another name) may lie next to it from earlier runs.
    let case_dirs = || -> Vec<PathBuf> {
        std::fs::read_dir(root)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("tool_001_case_1_")
            })
            .map(|e| e.path().join("host"))
            .collect()
    };
    // While the test runs: the latest memory sample against /proc.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mem_file, pid, case_dir) = loop {
        let found = case_dirs().into_iter().find_map(|d| {
            Some((
                newest(&d.join("ebpf_monitoring"), "tool_memory_", since)?,
                d,
            ))
        });
        let (mem, case_dir) = match found {
            Some((m, d)) => (Some(m), d),
            None => (None, PathBuf::new()),
        };
        let pidf = newest(&case_dir.join("ebpf_monitoring"), "ebpf_pid_", since)
            .filter(|p| p.extension().is_some_and(|e| e == "txt"));
        if let (Some(m), Some(p)) = (mem, pidf) {
            if std::fs::read_to_string(&m)
                .unwrap_or_default()
                .lines()
                .count()
                >= 3
            {
                let pid: u32 = std::fs::read_to_string(p)
                    .unwrap()
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                break (m, pid, case_dir);
            }
        }
        assert!(Instant::now() < deadline, "no memory samples");
        std::thread::sleep(Duration::from_millis(100));
    };
    let proc_rss = tree_rss(pid) as f64;
    let text = std::fs::read_to_string(&mem_file).unwrap();
    let samples: Vec<f64> = text
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|kv| kv.strip_prefix("rss_kb="))
                .and_then(|v| v.parse().ok())
        })
        .collect();
    let (last, prev) = (samples[samples.len() - 1], samples[samples.len() - 2]);
    let tolerance = (last - prev).abs().max(0.02 * last);
    assert!(
        (proc_rss - last).abs() <= tolerance,
        "/proc says {proc_rss} kB, last sample {last} kB (previous {prev})"
    );
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Every monitor this run started is gone (by its recorded PID and start time).
    let mut pids = Vec::new();
    for d in [
        case_dir.join("monitoring"),
        common::lab_results("host-client")
            .join(
                case_dir
                    .strip_prefix(common::lab_results("host-server"))
                    .unwrap(),
            )
            .join("monitoring"),
    ] {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("monitor_")
                && n.ends_with(".pid")
                && e.metadata().unwrap().modified().unwrap() >= since
            {
                pids.push(std::fs::read_to_string(e.path()).unwrap());
            }
        }
    }
    assert_eq!(pids.len(), 2, "one monitor per host: {pids:?}");
    for p in &pids {
        assert!(!common::recorded_running(p), "monitor {p} still runs");
    }
}

#[test]
fn bpf_stats_is_restored_after_the_case_also_when_it_fails() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let failing = config(|d| {
        let cases = d.join("ebpf-cases.json");
        let t = std::fs::read_to_string(&cases).unwrap().replacen(
            "\"command\": \"bpftrace -q -e 'tracepoint:net:net_dev_xmit { @tx",
            "\"command\": \"exit 9; bpftrace -q -e 'tracepoint:net:net_dev_xmit { @tx",
            1,
        );
        std::fs::write(cases, t).unwrap();
    });
    for before in ["0", "1"] {
        set_bpf_stats(before);
        let o = perf(failing.path(), &["case_1", "tcp_rr"]);
        assert!(!o.status.success());
        assert!(
            common::stdout(&o).contains("exited with status 9"),
            "{}",
            common::stdout(&o)
        );
        assert_eq!(
            bpf_stats(),
            before,
            "restored to {before} after a failed case"
        );
    }
    set_bpf_stats("0");
    // And during a case it is on.
    let cfg = config(|d| {
        std::fs::write(d.join("hooks.yaml"), "hooks:\n  test:\n    setup:\n      - {name: stats, on: server, run: \"cat /proc/sys/kernel/bpf_stats_enabled\"}\n").unwrap();
    });
    let o = perf(cfg.path(), &["case_1", "tcp_rr"]);
    assert!(o.status.success());
    let all = common::trial_metadata(cfg.path());
    let (_, meta) = all.iter().find(|(n, _)| n.contains("case_1")).unwrap();
    let dir = PathBuf::from(meta["hosts"]["server"]["result_dir"].as_str().unwrap());
    let hook = std::fs::read_dir(dir.join("monitoring"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("hook_results_"))
        .unwrap()
        .path();
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(hook).unwrap()).unwrap();
    assert_eq!(results[0]["stdout"].as_str().unwrap().trim(), "1");
    assert_eq!(bpf_stats(), "0");
}

/// Clock skew: the controller's clock is 3 hours behind the hosts' (the
/// harness runs under libfaketime; the lab hosts' sshd, and so the monitor
/// agents, keep the real clock). Each trial's monitoring window must still
/// hold the samples of its run, because it is cut by the hosts' own clocks.
#[test]
fn windows_are_cut_by_the_hosts_clocks_when_the_controller_is_skewed() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    if !common::test_tool("faketime", "faketime") {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "faketime missing under CI=true (.ci/run installs it)"
        );
        eprintln!("SKIPPED: no faketime (Debian package faketime)");
        return;
    }
    let cfg = config(|_| {});
    let (o, results) = common::perf_in_under(
        &[
            "env",
            "FAKETIME_DONT_FAKE_MONOTONIC=1",
            "faketime",
            "-f",
            "-3h",
        ],
        cfg.path(),
        &["case_1", "host", "latency", "tcp_rr"],
    );
    assert!(
        o.status.success(),
        "{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );
    let r = ebpf_perf::results::read(&results).unwrap();
    // The controller's clock really was skewed.
    let started = ebpf_perf::monitor::costs::seconds(&r.session.started).unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        now - started > 2.5 * 3600.0,
        "started {}",
        r.session.started
    );
    for t in &r.trials {
        let m = &t.runs().next().unwrap().metrics;
        assert!(
            m.contains_key("host_cpu_busy_pct"),
            "{}: {:?}",
            t.name,
            m.keys()
        );
        assert!(
            m.get("host_mem_used_mb").is_some_and(|v| *v > 0.0),
            "{}: {m:?}",
            t.name
        );
        if !t.is_baseline() {
            for k in [
                "tool_cpu_pct",
                "tool_rss_mb",
                "bpf_ns_per_event",
                "tool_ctx_switches_per_s",
            ] {
                assert!(m.contains_key(k), "{}: no {k} in {:?}", t.name, m.keys());
            }
            // bpftrace holds at least its BPF program's and its maps' fds.
            assert!(
                m.get("tool_fds").is_some_and(|v| *v >= 3.0),
                "{}: {m:?}",
                t.name
            );
        }
    }
}
