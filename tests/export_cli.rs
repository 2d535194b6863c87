//! `ebpf-perf export`: every run of every trial of a results file, one row
//! per metric, loadable by Python's csv and json modules.

mod common;

use std::process::Command;

const RESULTS: &str = "tests/data/results_lab.json";

/// Rows the file holds: every metric of every run, warm-up and block run.
fn expected_rows() -> usize {
    let r = ebpf_perf::results::read(&common::repo().join(RESULTS)).unwrap();
    r.trials
        .iter()
        .flat_map(|t| {
            t.runs
                .iter()
                .chain(&t.warmups)
                .chain(t.blocks.iter().flat_map(|b| &b.runs))
        })
        .map(|run| run.metrics.len())
        .sum()
}

#[test]
fn the_csv_holds_every_run_of_every_trial_and_python_reads_it() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("runs.csv");
    let o = common::ebpf_perf(&[
        "export",
        "--results",
        RESULTS,
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let py = Command::new("python3")
        .arg("-c")
        .arg(
            "import csv, sys, collections\n\
             rows = list(csv.DictReader(open(sys.argv[1], newline='')))\n\
             runs = {(r['trial'], r['kind'], r['run']) for r in rows}\n\
             trials = {r['trial'] for r in rows}\n\
             assert all(float(r['value']) == float(r['value']) for r in rows)\n\
             print(len(rows), len(runs), len(trials), rows[0]['unit'] is not None)",
        )
        .arg(&out)
        .output()
        .expect("python3 is needed for this test (CI installs it)");
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let said = String::from_utf8_lossy(&py.stdout);
    let nums: Vec<&str> = said.split_whitespace().collect();
    let r = ebpf_perf::results::read(&common::repo().join(RESULTS)).unwrap();
    let runs: usize = r
        .trials
        .iter()
        .map(|t| {
            t.runs.len() + t.warmups.len() + t.blocks.iter().map(|b| b.runs.len()).sum::<usize>()
        })
        .sum();
    assert_eq!(nums[0].parse::<usize>().unwrap(), expected_rows(), "{said}");
    assert_eq!(nums[1].parse::<usize>().unwrap(), runs, "{said}");
    assert_eq!(nums[2].parse::<usize>().unwrap(), r.trials.len(), "{said}");
}

#[test]
fn ndjson_is_one_object_per_row_on_stdout() {
    let o = common::ebpf_perf(&["export", "--results", RESULTS, "--format", "ndjson"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let text = common::stdout(&o);
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), expected_rows());
    let lat = rows
        .iter()
        .find(|r| r["metric"] == "latency_mean_us")
        .unwrap();
    assert_eq!(lat["unit"], "us");
    assert!(
        lat["server"].as_str().is_some_and(|s| !s.is_empty()),
        "{lat}"
    );
}

#[test]
fn a_missing_results_file_is_a_clear_error() {
    let o = common::ebpf_perf(&["export", "--results", "no/such.json", "--format", "csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        common::stderr(&o).contains("no/such.json"),
        "{}",
        common::stderr(&o)
    );
}
