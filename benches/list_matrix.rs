//! `--list` of a synthetic 100,000-trial matrix: generates the configuration
//! (10 environments, one tool with 624 cases on all of them, the seed lab's 16
//! tests per cycle: 6,250 cycles), then times the release `perf` harness
//! listing it end to end, and the library stages in process. Side by side,
//! for one environment's 10,000 trials: their `--list`, and what the
//! progress lines would cost a run of them (the estimate set up, one line
//! per trial, the costliest table).
//!
//! Run: `cargo bench --bench list_matrix` (figures on stdout).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ENVS: usize = 10;
const CASES: usize = 624;

fn generate(dir: &Path) {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/seed-lab");
    std::fs::copy(
        seed.join("performance-test-spec.yaml"),
        dir.join("performance-test-spec.yaml"),
    )
    .unwrap();
    let mut ssh = String::from("ssh_hosts:\n");
    let mut env = String::from("test_environments:\n");
    for e in 0..ENVS {
        for role in ["s", "c"] {
            ssh += &format!("  h{e}{role}:\n    host: \"198.18.{e}.{}\"\n    user: root\n    workdir: /var/tmp/bench\n", if role == "s" { 1 } else { 2 });
        }
        env += &format!(
            "  env{e}:\n    server: {{ssh_ref: h{e}s, test_ip: \"198.19.{e}.1\", interface: eth0}}\n    client: {{ssh_ref: h{e}c, test_ip: \"198.19.{e}.2\", interface: eth0}}\n"
        );
    }
    std::fs::write(dir.join("ssh-config.yaml"), ssh).unwrap();
    std::fs::write(dir.join("test-env-config.yaml"), env).unwrap();
    let envs: Vec<String> = (0..ENVS).map(|e| format!("\"env{e}\"")).collect();
    let ids: Vec<String> = (1..=CASES).map(|i| i.to_string()).collect();
    std::fs::write(
        dir.join("ebpf-tools-config.yaml"),
        format!(
            "ebpf_tools:\n  tool_001:\n    testcase_file: cases.json\n    case_ids: [{}]\n    applicable_environments: [{}]\n    performance_test_types: [throughput, latency, pps]\n",
            ids.join(", "),
            envs.join(", ")
        ),
    )
    .unwrap();
    let cases: Vec<String> = (1..=CASES)
        .map(|i| {
            format!(
                "{{\"id\": {i}, \"name\": \"c{i}\", \"command\": \"bpftrace -e 'tracepoint:net:net_dev_xmit {{ @[cpu] = count(); }}' --dev {{interface}}\", \"duration\": 60, \"parameters\": {{\"protocol\": \"tcp\", \"direction\": \"rx\", \"n\": {i}}}}}"
            )
        })
        .collect();
    std::fs::write(
        dir.join("cases.json"),
        format!("[\n{}\n]\n", cases.join(",\n")),
    )
    .unwrap();
}

fn release_perf_exe() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .args([
            "test",
            "--release",
            "--test",
            "perf",
            "--no-run",
            "--message-format=json",
            "-q",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rfind(|l| l.contains("\"name\":\"perf\"") && l.contains("\"executable\":\""))
        .expect("perf executable");
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    PathBuf::from(v["executable"].as_str().unwrap())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate(dir);

    let t = Instant::now();
    let cfg = ebpf_perf::config::load(dir).unwrap_or_else(|e| panic!("{e}"));
    let load = t.elapsed();
    let t = Instant::now();
    let m = ebpf_perf::matrix::build(&cfg);
    let build = t.elapsed();
    assert_eq!(m.trials.len(), 100_000);
    let filter = ebpf_perf::filter::Filter {
        terms: vec!["case_5".into(), "env3".into(), "throughput".into()],
        ..Default::default()
    };
    let t = Instant::now();
    let sel = ebpf_perf::filter::select(&m, &filter);
    let select = t.elapsed();
    assert_eq!(sel.len(), 10);

    let exe = release_perf_exe();
    let mut runs = Vec::new();
    let mut lines = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let out = Command::new(&exe)
            .args(["--config-dir", dir.to_str().unwrap(), "--list"])
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        runs.push(t.elapsed());
        assert!(out.status.success());
        lines = out
            .stdout
            .split(|b| *b == b'\n')
            .filter(|l| l.ends_with(b": test"))
            .count();
    }
    assert_eq!(lines, 100_000);
    let filtered = {
        let mut v = Vec::new();
        for _ in 0..7 {
            let t = Instant::now();
            let out = Command::new(&exe)
                .args([
                    "--config-dir",
                    dir.to_str().unwrap(),
                    "--list",
                    "case_5",
                    "env3",
                    "throughput",
                ])
                .output()
                .unwrap();
            v.push(t.elapsed());
            assert!(out.status.success());
        }
        median(v)
    };
    println!(
        "synthetic matrix: {} cycles, {} trials",
        m.cycles.len(),
        m.trials.len()
    );
    println!("in process: config load+validate {load:.1?}, matrix build {build:.1?}, filter 3 terms {select:.1?}");
    println!(
        "perf --list (release, 100,000 names to a pipe): median {:.1?} of 7 (min {:.1?}, max {:.1?})",
        median(runs.clone()),
        runs.iter().min().unwrap(),
        runs.iter().max().unwrap()
    );
    println!("perf --list case_5 env3 throughput (10 names): median {filtered:.1?} of 7");
    progress_cost(&cfg, &m, &exe, dir);
}

/// One environment's 10,000 trials: `--list env3` end to end, against the
/// progress of a run of them, in process.
fn progress_cost(
    cfg: &ebpf_perf::config::Config,
    m: &ebpf_perf::matrix::Matrix,
    exe: &Path,
    dir: &Path,
) {
    use ebpf_perf::harness::progress::{costliest, Progress};
    let env3 = ebpf_perf::filter::Filter {
        terms: vec!["env3".into()],
        ..Default::default()
    };
    let sel = ebpf_perf::filter::select(m, &env3);
    assert_eq!(sel.len(), 10_000);
    let mut list = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let out = Command::new(exe)
            .args(["--config-dir", dir.to_str().unwrap(), "--list", "env3"])
            .output()
            .unwrap();
        list.push(t.elapsed());
        assert!(out.status.success());
    }
    // Results shaped like a real run's (judged, with budgets) for the lines.
    let mut r = common::generate(5, 125);
    let budgets = ebpf_perf::config::budgets::Budgets::plain(
        ebpf_perf::metrics::BUDGETS.iter().map(|b| (b.name, 15.0)),
    );
    let s = ebpf_perf::analysis::Settings {
        max_cv_pct: 10.0,
        budgets: [("tool_001".to_string(), budgets)].into(),
        ..Default::default()
    };
    ebpf_perf::analysis::analyze_all(&mut r, &s, &Default::default());
    let mut cost = Vec::new();
    let mut chars = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let mut p = Progress::new(cfg, m, &ebpf_perf::schedule::build(m, &sel, 1));
        for (&i, trial) in sel.iter().zip(&r.trials) {
            chars += std::hint::black_box(p.running()).k;
            chars += p.trial_done(i, trial, true).len();
        }
        chars += costliest(&r, 10).len();
        cost.push(t.elapsed());
    }
    // The lab's default configuration: a 48-trial run.
    let lab = ebpf_perf::config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config"))
        .unwrap_or_else(|e| panic!("{e}"));
    let lm = ebpf_perf::matrix::build(&lab);
    let all: Vec<usize> = (0..lm.trials.len()).collect();
    let mut r48 = r.clone();
    r48.trials.truncate(all.len());
    let mut small = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let mut p = Progress::new(&lab, &lm, &ebpf_perf::schedule::build(&lm, &all, 1));
        for (&i, trial) in all.iter().zip(&r48.trials) {
            chars += std::hint::black_box(p.running()).k;
            chars += p.trial_done(i, trial, true).len();
        }
        chars += costliest(&r48, 10).len();
        small.push(t.elapsed());
    }
    println!(
        "{} trials (the lab's default config): progress of the run median {:.1?}",
        all.len(),
        median(small)
    );
    assert!(chars > 0);
    let (l, c) = (median(list), median(cost));
    println!(
        "10,000 trials: perf --list env3 median {l:.1?}; progress of a run of them (set-up, 10,000 lines, costliest table) median {c:.1?}, {:.2} % of the --list",
        100.0 * c.as_secs_f64() / l.as_secs_f64()
    );
}
