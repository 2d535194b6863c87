//! Statistics and comparison for a synthetic 100,000-trial results file
//! (10 environments × 625 cycles × 16 trials, 3 runs each, the metrics a
//! real run records), timed side by side in one process: writing the file,
//! reading it back, and analysing every trial (statistics, pairing with the
//! baseline, comparison, budgets, leak fits, regressions against a second
//! copy as `--compare-to`).
//!
//! Run: `cargo bench --bench analysis` (figures on stdout).

mod common;

use ebpf_perf::analysis::{self, Earlier, Settings, Sources};
use ebpf_perf::results;
use std::time::{Duration, Instant};

const ENVS: usize = 10;
const CYCLES_PER_ENV: usize = 625;
const RUNS: usize = common::RUNS;

fn settings() -> Settings {
    let budgets = ebpf_perf::config::budgets::Budgets::plain(
        ebpf_perf::metrics::BUDGETS.iter().map(|b| (b.name, 50.0)),
    );
    Settings {
        strict: false,
        max_cv_pct: 10.0,
        budgets: [("tool_001".to_string(), budgets)].into(),
        regression_pct: [("tool_001".to_string(), 5.0)].into(),
        ..Default::default()
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.json");
    let mut base = common::generate(ENVS, CYCLES_PER_ENV);
    assert_eq!(base.trials.len(), 100_000);
    let s = settings();
    // The --compare-to file: the same session, analysed.
    analysis::analyze_all(&mut base, &s, &Sources::default());
    results::write(&path, &base).unwrap();
    let earlier = Earlier::new(results::read(&path).unwrap(), "earlier.json".into());
    let size = std::fs::metadata(&path).unwrap().len();

    let (mut w, mut rd, mut an, mut sc) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Statistics and comparison only: no budgets, no earlier session.
    let plain = Settings {
        budgets: Default::default(),
        ..settings()
    };
    for _ in 0..5 {
        let t = Instant::now();
        results::write(&path, &base).unwrap();
        w.push(t.elapsed());
        let t = Instant::now();
        let mut r = results::read(&path).unwrap();
        rd.push(t.elapsed());
        let t = Instant::now();
        analysis::analyze_all(&mut r, &plain, &Sources::default());
        sc.push(t.elapsed());
        let t = Instant::now();
        let src = Sources {
            baseline_from: None,
            compare_to: Some(&earlier),
        };
        analysis::analyze_all(&mut r, &s, &src);
        an.push(t.elapsed());
        assert!(r
            .trials
            .iter()
            .all(|t| t.is_baseline() || t.analysis.comparison.is_some()));
        assert!(r.trials.iter().any(|t| !t.analysis.regressions.is_empty()));
    }
    let (w, rd, an, sc) = (median(w), median(rd), median(an), median(sc));
    println!(
        "results file: 100,000 trials × {RUNS} runs, {:.1} MB",
        size as f64 / 1e6
    );
    println!(
        "write (atomic)      median of 5: {:>8.1} ms",
        w.as_secs_f64() * 1e3
    );
    println!(
        "read + parse        median of 5: {:>8.1} ms",
        rd.as_secs_f64() * 1e3
    );
    println!(
        "statistics + comparison, median of 5: {:>8.1} ms",
        sc.as_secs_f64() * 1e3
    );
    println!("analyze_all         median of 5: {:>8.1} ms  (statistics, comparison, budgets, leak, regressions)", an.as_secs_f64() * 1e3);
    println!(
        "read + analyze:                  {:>8.1} ms; analyze / read = {:.2}",
        (rd + an).as_secs_f64() * 1e3,
        an.as_secs_f64() / rd.as_secs_f64()
    );
}
