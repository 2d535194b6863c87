//! The seeds' hook features on the lab, with real sshd and bpftrace:
//! background tasks (started after their layer's setup, stopped by PID before
//! its teardown, recorded in the hook results), `output` files, and the
//! placeholders `{ebpf_pid}`, `{ebpf_command}`, `{environment}`,
//! `{timestamp}`, `{result_path}` and `{test_duration}`.

mod common;

use common::{pid_files, recorded_alive};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

static LAB: Mutex<()> = Mutex::new(());

/// Files under `root` whose name satisfies `pred`, changed since `since`.
fn files(root: &Path, since: std::time::SystemTime, pred: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    common::files::named_since(root, since, pred)
}

/// Every hook result saved since `since` under `root`.
fn hook_results(root: &Path, since: std::time::SystemTime) -> Vec<Value> {
    files(root, since, &|n| n.starts_with("hook_results_"))
        .iter()
        .flat_map(|f| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            v.as_array().cloned().unwrap_or_default()
        })
        .collect()
}

const HOOKS: &str = r#"hooks:
  case:
    setup:
      - name: watch program
        on: both
        condition: ebpf
        background: true
        output: "watch_{environment}_{timestamp}.log"
        run: "echo comm=$(cat /proc/{ebpf_pid}/comm) env={environment} ts={timestamp}; echo cmd={ebpf_command}; while :; do sleep 0.2; done"
      - name: ticker
        on: server
        background: true
        run: "trap 'echo got-term; exit 0' TERM; echo ticking in {result_path}; while :; do sleep 0.1; done"
  test:
    setup:
      - name: test_bg
        on: client
        background: true
        output: "{result_path}/test_bg_{test_duration}.log"
        run: "echo dur={test_duration}; exec sleep 600"
      - name: kept
        on: server
        output: "kept_{timestamp}.txt"
        run: "echo to-stdout; echo to-stderr >&2"
"#;

#[test]
fn background_tasks_run_for_their_layer_are_stopped_by_pid_and_kept_in_the_data() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = common::quick_config(|d| std::fs::write(d.join("hooks.yaml"), HOOKS).unwrap());
    let since = std::time::SystemTime::now();
    let (o, _) = common::perf_in(cfg.path(), &["case_1", "latency"]);
    assert!(
        o.status.success(),
        "{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );
    let server = common::lab_results("host-server");
    let client = common::lab_results("host-client");

    // The case's program, seen by the background task through {ebpf_pid}:
    // the command's own process (bpftrace), not the recording wrapper. The
    // task watches the program, so it runs with each tool episode (two
    // pairs: two episodes), `{timestamp}` the episode's stamp.
    let watch = files(&server.join("ebpf"), since, &|n| {
        n.starts_with("watch_host_")
    });
    assert_eq!(watch.len(), 2, "{watch:?}");
    let text = std::fs::read_to_string(&watch[0]).unwrap();
    assert!(text.starts_with("comm=bpftrace env=host ts="), "{text}");
    assert!(
        text.contains("cmd=bpftrace -q -e 'tracepoint:net:net_dev_xmit"),
        "{text}"
    );
    let ts = text.split("ts=").nth(1).unwrap().lines().next().unwrap();
    assert_eq!(ts.len(), "YYYYMMDD_HHMMSS_p01".len(), "{text}");
    assert!(ts.ends_with("_p01") || ts.ends_with("_p02"), "{text}");
    // Not in the baseline (condition: ebpf), not on the client, where case 1
    // runs no program: there it is recorded as skipped.
    assert!(files(&server.join("baseline"), since, &|n| n
        .starts_with("watch_"))
    .is_empty());
    assert!(files(&client, since, &|n| n.starts_with("watch_")).is_empty());
    let client_results = hook_results(&client.join("ebpf"), since);
    let skipped = client_results
        .iter()
        .find(|r| r["name"] == "watch program")
        .unwrap_or_else(|| panic!("{client_results:#?}"));
    assert!(
        skipped["skipped"]
            .as_str()
            .unwrap()
            .contains("no eBPF program of this case runs on host-client"),
        "{skipped}"
    );

    // The ticker ran once, in case 1's scope (the baseline's blocks are
    // measured inside it, in pairs), and was stopped by TERM, by its PID;
    // the hook results say so.
    let server_results = hook_results(&server, since);
    let tickers: Vec<&Value> = server_results
        .iter()
        .filter(|r| r["name"] == "ticker")
        .collect();
    assert_eq!(tickers.len(), 1, "{server_results:#?}");
    for t in &tickers {
        assert_eq!(t["phase"], "background", "{t}");
        assert!(t["pid"].as_u64().unwrap() > 1, "{t}");
        assert_eq!(t["stopped"], "terminated (status 0)", "{t}");
        let log = std::fs::read_to_string(t["output_file"].as_str().unwrap()).unwrap();
        assert!(log.starts_with("ticking in /"), "{log}");
        assert!(log.ends_with("got-term\n"), "{log}");
    }
    let watched: Vec<&Value> = server_results
        .iter()
        .filter(|r| r["name"] == "watch program")
        .collect();
    assert_eq!(watched.len(), 2, "{server_results:#?}");
    for w in watched {
        assert!(
            w["stopped"].as_str().unwrap().starts_with("terminated"),
            "{w}"
        );
    }

    // Test layer: a background task per block (4 trials, two pairs each;
    // a pair's baseline block serves the case's trial and the baseline's,
    // so 8 blocks) with its output
    // where it said, `{test_duration}` filled; a foreground task's stdout and
    // stderr in its output file, renamed from .part.
    let test_bg = files(&client, since, &|n| n == "test_bg_1.log");
    assert_eq!(test_bg.len(), 8, "{test_bg:?}");
    for f in &test_bg {
        assert_eq!(std::fs::read_to_string(f).unwrap(), "dur=1\n");
        assert!(f.parent().unwrap().ends_with("monitoring"), "{f:?}");
    }
    let kept = files(&server, since, &|n| n.starts_with("kept_"));
    assert_eq!(kept.len(), 8, "{kept:?}");
    for f in &kept {
        assert!(f.to_string_lossy().ends_with(".txt"), "{f:?}");
        let t = std::fs::read_to_string(f).unwrap();
        assert!(
            t.contains("to-stdout\n") && t.contains("to-stderr\n"),
            "{t}"
        );
    }

    // Every process of the run, background tasks included, by its pid file.
    let mut pids = Vec::new();
    pid_files(&common::lab_hosts(), since, &mut pids);
    let hooks: Vec<&PathBuf> = pids
        .iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("hook_")
        })
        .collect();
    // 2 watchers (one per episode) + 1 ticker + 8 test tasks.
    assert_eq!(hooks.len(), 11, "{hooks:?}");
    for p in &pids {
        assert!(!recorded_alive(p), "{} is still running", p.display());
    }
}

#[test]
fn a_background_task_that_dies_fails_its_layer_unless_it_ignores_errors() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let hooks = "hooks:\n  test:\n    setup:\n      - {name: dies, on: server, background: true, run: \"echo bad >&2; exit 3\"}\n      - {name: dies_quietly, on: client, background: true, ignore_errors: true, run: \"exit 4\"}\n";
    let cfg = common::quick_config(|d| std::fs::write(d.join("hooks.yaml"), hooks).unwrap());
    let (o, results) = common::perf_in(cfg.path(), &["baseline", "host", "tcp_rr"]);
    assert!(!o.status.success(), "{}", common::stdout(&o));
    let r = ebpf_perf::results::read(&results).unwrap();
    assert_eq!(r.trials.len(), 1);
    let err = r.trials[0].error.clone().unwrap_or_default();
    assert!(
        err.contains("background hook dies")
            && err.contains("had exited (status 3) before it was stopped")
            && err.contains("host-server")
            && err.contains("stderr: bad"),
        "{err}"
    );
    assert!(!err.contains("dies_quietly"), "{err}");
}
