//! `ebpf-perf export`: every run of every trial of a results file, one row
//! per metric, loadable by Python's csv and json modules.

mod common;

use std::process::Command;

const RESULTS: &str = "tests/data/results_lab.json";

/// Rows the file holds: every metric of every run and warm-up of every
/// trial's own blocks.
fn expected_rows() -> usize {
    let r = ebpf_perf::results::read(&common::repo().join(RESULTS)).unwrap();
    r.trials
        .iter()
        .flat_map(|t| t.own_blocks().flat_map(|b| b.runs.iter().chain(&b.warmups)))
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
             runs = {(r['trial'], r['pair'], r['side'], r['kind'], r['run']) for r in rows}\n\
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
            t.own_blocks()
                .map(|b| b.runs.len() + b.warmups.len())
                .sum::<usize>()
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

/// `ebpf-perf history` over twelve sessions of a git project, each with
/// one trial: ordered by the commits' history (not by the files' order or
/// start times), with the shift in its cost flagged at the commit that made
/// it (a page holds each of the trial's budget families as a series, and
/// its flags are held to a false discovery rate across them).
#[test]
fn history_orders_sessions_by_commit_and_flags_the_shift() {
    let d = tempfile::tempdir().unwrap();
    let repo = d.path().join("project");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", common::stderr(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    let mut commits = Vec::new();
    for i in 0..12 {
        std::fs::write(repo.join("tool.bt"), format!("// v{i}\n")).unwrap();
        git(&["add", "."]);
        git(&["commit", "-qm", &format!("v{i}")]);
        commits.push(git(&["rev-parse", "HEAD"]));
    }
    let base: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::repo().join(RESULTS)).unwrap())
            .unwrap();
    let trial = "tool_002::case_3::host::throughput::multi_4_tcp";
    let mut files = Vec::new();
    // Written newest commit first, and started in the opposite order of the commits.
    for (i, c) in commits.iter().enumerate().rev() {
        let mut r = base.clone();
        r["session"]["commit"] = c.clone().into();
        r["session"]["started"] = format!("2026-11-29T{:02}:00:00Z", 23 - i).into();
        r["trials"]
            .as_array_mut()
            .unwrap()
            .retain(|t| t["name"] == trial);
        let t = r["trials"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|t| t["name"] == trial)
            .unwrap();
        // From v6 on, the tool loses 20 points more throughput.
        let loss = if i < 6 { 10.0 } else { 30.0 } + 0.1 * i as f64;
        t["analysis"]["comparison"]["metrics"]["throughput_bps"]["rel_pct"] =
            serde_json::json!({"value": -loss, "ci95": [-loss - 1.0, -loss + 1.0]});
        let path = d.path().join(format!("v{i}.json"));
        std::fs::write(&path, r.to_string()).unwrap();
        files.push(path.display().to_string());
    }
    let out = d.path().join("out");
    let mut args = vec![
        "history",
        "--order",
        "commit",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(files.iter().map(String::as_str));
    let o = Command::new(env!("CARGO_BIN_EXE_ebpf-perf"))
        .args(&args)
        .current_dir(&repo)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(
        common::stderr(&o).contains("over 12 files; 1 change points"),
        "{}",
        common::stderr(&o)
    );
    let md = std::fs::read_to_string(out.join("history.md")).unwrap();
    let labels: Vec<String> = commits.iter().map(|c| c[..10].to_string()).collect();
    assert!(md.contains(&labels.join(" → ")), "{md}");
    assert!(
        md.contains(&format!(
            "| {trial} | Throughput loss % | `at {}: 10.25 → 30.85",
            labels[6]
        )),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("history.html")).unwrap();
    assert!(html.contains("<svg") && html.contains(&labels[6]));
    // Outside a repository, ordering by commit says what to do.
    let o = Command::new(env!("CARGO_BIN_EXE_ebpf-perf"))
        .args(&args)
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).contains("--order time"),
        "{}",
        common::stderr(&o)
    );
}

// Issue 31: files the commands write take their mode from the umask like
// any other (0666 less it), not 0600 whatever it is.
#[test]
fn written_files_follow_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    for (umask, want) in [("022", 0o644), ("077", 0o600), ("002", 0o664)] {
        let out = d.path().join(format!("runs-{umask}.csv"));
        let o = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask {umask} && exec \"$0\" export --results {RESULTS} --format csv --out \"$1\""
            ))
            .arg(env!("CARGO_BIN_EXE_ebpf-perf"))
            .arg(&out)
            .current_dir(common::repo())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", common::stderr(&o));
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, want, "umask {umask}: {mode:o}");
    }
}
