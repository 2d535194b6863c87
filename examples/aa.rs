//! A/A sessions anyone can rerun: the shipped default configuration
//! (`config/`, unpinned) with its tools replaced by a tool that does nothing
//! (`sleep`) in six cases, on TCP_RR and uncapped 2-stream TCP of the host
//! environment. Every difference such a session reports is noise, so its
//! statistics say how honest the harness's intervals and labels are:
//!
//! - the share of 95 % intervals that exclude zero (nominal: 5 %);
//! - the sessions with any Benjamini–Hochberg discovery (q ≤ 0.05), and
//!   how many of those hold by the exact sign-flip p's q-values too;
//! - the mean of z², z the normal score of each comparison's test
//!   statistic (nominal: 1).
//!
//! ```console
//! # cargo run --release --example aa -- --sessions 10
//! # cargo run --release --example aa -- --sessions 5 --noise
//! ```
//!
//! `--noise` runs CPU burners that switch on and off at random (seeded)
//! during each session, beside the lab's hosts (which share this machine's
//! CPUs). Root and the built-in lab are needed, as for `cargo test --test
//! perf`. `--keep DIR` keeps every session's results file there.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CASES: u32 = 6;
/// The trials of each case: TCP_RR and uncapped 2-stream TCP, host only.
const SELECT: &[&str] = &[
    "host", "--skip", "udp", "--skip", "single", "--skip", "multi_4", "--skip", "pps",
];

struct Args {
    sessions: u32,
    noise: bool,
    keep: Option<PathBuf>,
    seed: u64,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        sessions: 10,
        noise: false,
        keep: None,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match x.as_str() {
            "--sessions" => {
                a.sessions = value("--sessions")?
                    .parse()
                    .map_err(|e| format!("--sessions: {e}"))?
            }
            "--seed" => a.seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--noise" => a.noise = true,
            "--keep" => a.keep = Some(PathBuf::from(value("--keep")?)),
            other => return Err(format!("unknown argument {other}; usage: aa --sessions N [--noise] [--seed S] [--keep DIR]")),
        }
    }
    Ok(a)
}

/// The shipped configuration with the no-op tool in place of its tools
/// (the shipped budgets kept).
fn config(dir: &Path) -> std::io::Result<()> {
    common::copy_config(dir)?;
    let cases: Vec<String> = (1..=CASES)
        .map(|i| {
            format!(
                r#"{{"id": {i}, "name": "noop_{i}", "command": "sleep 100000", "duration": 600, "target": "server", "allow_no_bpf": true, "parameters": {{"n": "{i}"}}}}"#
            )
        })
        .collect();
    std::fs::write(
        dir.join("ebpf-cases.json"),
        format!("[{}]\n", cases.join(",\n")),
    )?;
    let shipped = std::fs::read_to_string(common::repo().join("config/ebpf-tools-config.yaml"))?;
    let budgets: String = shipped
        .lines()
        .skip_while(|l| !l.starts_with("budgets:"))
        .take_while(|l| !l.starts_with("ebpf_tools:"))
        .filter(|l| !l.starts_with("regression_pct") && !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let ids: Vec<String> = (1..=CASES).map(|i| i.to_string()).collect();
    std::fs::write(
        dir.join("ebpf-tools-config.yaml"),
        format!(
            "{budgets}ebpf_tools:\n  tool_noop:\n    testcase_file: \"ebpf-cases.json\"\n    case_ids: [{}]\n    applicable_environments: [\"host\"]\n    performance_test_types: [\"throughput\", \"latency\"]\n",
            ids.join(", ")
        ),
    )
}

/// CPU burners switched on and off at random until `stop`.
fn noise(seed: u64, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut x = seed.max(1);
        let mut next = move || {
            // xorshift64*: enough for on/off times.
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let mut on: Option<Child> = None;
        while !stop.load(Ordering::SeqCst) {
            let ms = 300 + next() % 2700;
            match on.take() {
                Some(mut c) => {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                None => {
                    on = Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .spawn()
                        .ok()
                }
            }
            let until = Instant::now() + Duration::from_millis(ms);
            while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if let Some(mut c) = on {
            let _ = c.kill();
            let _ = c.wait();
        }
    })
}

/// The normal score with the same two-sided tail probability as `p`.
fn z_of_p(p: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    let n = Normal::new(0.0, 1.0).expect("standard normal");
    n.inverse_cdf(1.0 - p.clamp(1e-300, 1.0) / 2.0)
}

/// What one session's comparisons say.
#[derive(Default)]
struct Tally {
    comparisons: usize,
    exclude_zero: usize,
    discoveries: usize,
    /// Discoveries whose exact sign-flip q-value is at the level too.
    exact: usize,
    z2: Vec<f64>,
    exceeded: usize,
}

fn tally(results: &serde_json::Value) -> Tally {
    let mut t = Tally::default();
    for trial in results["trials"].as_array().into_iter().flatten() {
        let a = &trial["analysis"];
        for (_, m) in a["comparison"]["metrics"].as_object().into_iter().flatten() {
            let Some(p) = m["p"].as_f64() else { continue };
            t.comparisons += 1;
            let ci = m["rel_pct"]["ci95"]
                .as_array()
                .or(m["abs"]["ci95"].as_array());
            if let Some([lo, hi]) = ci.map(|c| [c[0].as_f64(), c[1].as_f64()]) {
                if lo.zip(hi).is_some_and(|(lo, hi)| lo > 0.0 || hi < 0.0) {
                    t.exclude_zero += 1;
                }
            }
            if m["significant"].as_bool() == Some(true) {
                t.discoveries += 1;
                t.exact += usize::from(m["q_exact"].as_f64().is_some_and(|q| q <= 0.05));
            }
            // The statistic's own normal score when the file has it, else
            // the one its p-value implies.
            let z = m["z"].as_f64().unwrap_or_else(|| z_of_p(p));
            t.z2.push(z * z);
        }
        for b in a["budgets"].as_array().into_iter().flatten() {
            t.exceeded += usize::from(b["verdict"] == "exceeded");
        }
    }
    t
}

fn main() -> std::process::ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    if let Err(e) = config(dir.path()) {
        eprintln!("error: cannot write the A/A configuration: {e}");
        return std::process::ExitCode::from(2);
    }
    let mut all = Tally::default();
    let (mut sessions_with_discovery, mut sessions_with_exact) = (0, 0);
    println!("session  comparisons  exclude0  discoveries  exact  mean z²  exceeded  minutes");
    for s in 1..=a.sessions {
        let stop = Arc::new(AtomicBool::new(false));
        let burner = a
            .noise
            .then(|| noise(a.seed * 1000 + u64::from(s), stop.clone()));
        let began = Instant::now();
        let ran = common::session(dir.path(), s, SELECT);
        stop.store(true, Ordering::SeqCst);
        if let Some(b) = burner {
            let _ = b.join();
        }
        let minutes = began.elapsed().as_secs_f64() / 60.0;
        let text = match ran {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e}");
                continue;
            }
        };
        if let Some(k) = &a.keep {
            common::keep(k, dir.path(), s, &text);
        }
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let t = tally(&v);
        let mz2 = t.z2.iter().sum::<f64>() / t.z2.len().max(1) as f64;
        println!(
            "{s:>7}  {:>11}  {:>8}  {:>11}  {:>5}  {mz2:>7.2}  {:>8}  {minutes:>7.1}",
            t.comparisons, t.exclude_zero, t.discoveries, t.exact, t.exceeded
        );
        sessions_with_discovery += usize::from(t.discoveries > 0);
        sessions_with_exact += usize::from(t.exact > 0);
        all.comparisons += t.comparisons;
        all.exclude_zero += t.exclude_zero;
        all.discoveries += t.discoveries;
        all.exact += t.exact;
        all.exceeded += t.exceeded;
        all.z2.extend(t.z2);
    }
    let mz2 = all.z2.iter().sum::<f64>() / all.z2.len().max(1) as f64;
    println!(
        "\n{} sessions{}: {} of {} intervals exclude zero ({:.1} %); {} sessions with a BH discovery ({} discoveries; {} sessions, {} discoveries by the exact p's q-values too); mean z² {:.2}; {} budget verdicts exceeded",
        a.sessions,
        if a.noise { " with noise" } else { "" },
        all.exclude_zero,
        all.comparisons,
        100.0 * all.exclude_zero as f64 / all.comparisons.max(1) as f64,
        sessions_with_discovery,
        all.discoveries,
        sessions_with_exact,
        all.exact,
        mz2,
        all.exceeded
    );
    std::process::ExitCode::SUCCESS
}
