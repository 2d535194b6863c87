//! Rendering the report (HTML with every chart, and the Markdown summary)
//! of a synthetic, analysed 10,000-trial results file (5 environments ×
//! 125 cycles × 16 trials, 3 runs each).
//!
//! Run: `cargo bench --bench report` (figures on stdout).

mod common;

use ebpf_perf::analysis::{self, Settings, Sources};
use ebpf_perf::report;
use std::time::{Duration, Instant};

fn main() {
    let mut r = common::generate(5, 125);
    assert_eq!(r.trials.len(), 10_000);
    let budgets = ebpf_perf::config::budgets::Budgets::plain(
        ebpf_perf::metrics::BUDGETS.iter().map(|b| (b.name, 15.0)),
    );
    let s = Settings {
        max_cv_pct: 10.0,
        budgets: [("tool_001".to_string(), budgets)].into(),
        ..Default::default()
    };
    analysis::analyze_all(&mut r, &s, &Sources::default());
    let opts = report::Options {
        compare: vec![vec!["case_1".into(), "case_2".into()]],
        earlier: Some(("earlier.json", &r)),
        calibration: None,
    };
    let mut times = Vec::new();
    let mut sizes = (0, 0);
    for _ in 0..5 {
        let t = Instant::now();
        let (html, md) = report::render(&r, &opts);
        times.push(t.elapsed());
        assert!(html.matches("<svg").count() >= 2 * 620);
        sizes = (html.len(), md.len());
    }
    times.sort();
    let median: Duration = times[times.len() / 2];
    println!(
        "report of 10,000 trials (620 case rows, charts for each): median of 5: {:.1} ms; report.html {:.1} MB, summary.md {:.1} kB",
        median.as_secs_f64() * 1e3,
        sizes.0 as f64 / 1e6,
        sizes.1 as f64 / 1e3
    );
}
