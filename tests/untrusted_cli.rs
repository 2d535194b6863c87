//! Issue 31: results files from others are untrusted. Crafted copies of a
//! real results file (tests/data/results_lab.json, a lab run) must neither
//! crash a subcommand nor reach the terminal or a spreadsheet as commands.

mod common;

use serde_json::{json, Value};
use std::path::PathBuf;

const RESULTS: &str = "tests/data/results_lab.json";
/// An OSC title change, a bell and a screen clear.
const ESC: &str = "\u{1b}]0;PWNED\u{7}\u{1b}[2J";

/// The lab results file with `edit` applied, written into `dir`.
fn crafted(dir: &tempfile::TempDir, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let text = std::fs::read_to_string(common::repo().join(RESULTS)).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    edit(&mut v);
    let p = dir.path().join(name);
    std::fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
    p
}

fn no_raw_escape(o: &std::process::Output, what: &str) {
    for (stream, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        assert!(
            !bytes.contains(&0x1b) && !bytes.contains(&0x07),
            "{what}: raw control bytes on {stream}: {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn an_escape_in_an_enum_value_reaches_no_terminal() {
    let d = tempfile::tempdir().unwrap();
    let f = crafted(&d, "results.json", |v| {
        v["trials"][0]["test_type"] = json!(ESC);
    });
    let f = f.to_str().unwrap();
    let out = d.path().join("out");
    let out = out.to_str().unwrap();
    for args in [
        vec!["report", "--results", f, "--out", out],
        vec!["export", "--results", f, "--format", "csv"],
        vec!["history", f, f, "--out", out],
        vec!["calibrate", "--results", f, "--out", out],
    ] {
        let o = common::ebpf_perf(&args);
        assert!(!o.status.success(), "{args:?} accepted a bad enum");
        no_raw_escape(&o, args[0]);
        assert!(
            common::stderr(&o).contains("\\x1b]0;PWNED"),
            "{args:?}: the value is shown, escaped: {}",
            common::stderr(&o)
        );
    }
}

#[test]
fn a_formula_in_a_trial_name_is_exported_as_text() {
    let d = tempfile::tempdir().unwrap();
    let f = crafted(&d, "results.json", |v| {
        v["trials"][0]["name"] = json!("=HYPERLINK(\"http://x.invalid\",\"y\")");
        v["trials"][0]["variant"] = json!(format!("@SUM(1){ESC}"));
    });
    let o = common::ebpf_perf(&[
        "export",
        "--results",
        f.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    no_raw_escape(&o, "export csv");
    let mut rows = csv::Reader::from_reader(&o.stdout[..]);
    let header = rows.headers().unwrap().clone();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let first = rows.records().next().unwrap().unwrap();
    assert_eq!(
        &first[col("trial")],
        "'=HYPERLINK(\"http://x.invalid\",\"y\")"
    );
    assert!(
        first[col("variant")].starts_with("'@SUM(1)\\x1b"),
        "{first:?}"
    );
    // Numbers, negative ones too, stay numbers.
    assert!(first[col("value")].parse::<f64>().is_ok(), "{first:?}");
}

#[test]
fn merge_writes_junit_for_a_shard_with_an_absurd_duration() {
    let d = tempfile::tempdir().unwrap();
    let a = crafted(&d, "a.json", |v| {
        v["trials"][0]["duration_s"] = json!(-1.0);
        v["trials"][1]["duration_s"] = json!(1e300);
    });
    let out = d.path().join("merged");
    let o = common::ebpf_perf(&["merge", out.to_str().unwrap(), a.to_str().unwrap()]);
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "{}",
        common::stderr(&o)
    );
    let xml = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml written");
    roxmltree::Document::parse(&xml).expect("well-formed JUnit");
}

/// Found by tests/untrusted_fuzz.rs: a cost far outside its chart's axis
/// overflowed plotters' pixel arithmetic (a panic in the report).
#[test]
fn report_draws_a_cost_far_outside_its_axis() {
    let d = tempfile::tempdir().unwrap();
    let f = crafted(&d, "results.json", |v| {
        let t = v["trials"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|t| !t["analysis"]["comparison"]["metrics"]["latency_p99_us"].is_null())
            .expect("a latency trial with a comparison");
        t["analysis"]["comparison"]["metrics"]["latency_p99_us"]["rel_pct"]["value"] =
            json!(-6.4e207);
    });
    let out = d.path().join("report");
    let o = common::ebpf_perf(&[
        "report",
        "--results",
        f.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(out.join("report.html").is_file());
}

#[test]
fn history_takes_a_non_ascii_commit() {
    let d = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (0..2)
        .map(|i| {
            crafted(&d, &format!("r{i}.json"), |v| {
                v["session"]["commit"] = json!(format!("€€€€€€€€€€€{i}{ESC}"));
                v["session"]["id"] = json!(format!("2026112{i}_000000"));
            })
        })
        .collect();
    let out = d.path().join("h");
    let mut args = vec!["history", "--out", out.to_str().unwrap()];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let o = common::ebpf_perf(&args);
    assert!(o.status.success(), "{}", common::stderr(&o));
    no_raw_escape(&o, "history");
    let md = std::fs::read_to_string(out.join("history.md")).unwrap();
    assert!(!md.contains('\u{1b}'), "{md}");
}

/// A password named by `password_env` leaves the environment where the
/// harness starts: `git`, which the harness runs locally for the commit, is
/// a stand-in on PATH that records the environment it was given. The hosts
/// are a closed port on loopback, so the run fails at once, after `git`.
#[test]
fn a_password_from_the_environment_reaches_no_local_child() {
    let cfg = common::copy_dir(&common::repo().join("config"));
    let ssh = cfg.path().join("ssh-config.yaml");
    let text = std::fs::read_to_string(&ssh).unwrap();
    let mut out = String::new();
    for line in text.lines().filter(|l| *l != "lab: netns") {
        if line.trim_start().starts_with("host: \"198.18.") {
            out.push_str(
                "    host: \"127.0.0.1\"\n    port: 9\n    password_env: EBPF_PERF_TEST_PW\n",
            );
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    std::fs::write(&ssh, out).unwrap();
    let bin = tempfile::tempdir().unwrap();
    let seen = bin.path().join("git.env");
    let git = bin.path().join("git");
    std::fs::write(
        &git,
        format!("#!/bin/sh\nenv > '{}'\nexit 1\n", seen.display()),
    )
    .unwrap();
    std::fs::set_permissions(&git, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let o = std::process::Command::new(common::perf_exe())
        .args([
            "--config-dir",
            cfg.path().to_str().unwrap(),
            "host",
            "tcp_rr",
        ])
        .arg("--junit")
        .arg(cfg.path().join("junit.xml"))
        .arg("--results")
        .arg(cfg.path().join("results.json"))
        .env("PATH", path)
        .env("EBPF_PERF_TEST_PW", "hunter2-secret")
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", common::stdout(&o));
    let env = std::fs::read_to_string(&seen).expect("the harness ran git");
    assert!(env.contains("PATH="), "{env}");
    assert!(
        !env.contains("hunter2-secret"),
        "the password reached git: {env}"
    );
}
