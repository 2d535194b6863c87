//! `ebpf-perf workflow` and `ebpf-perf validate` as users run them.

mod common;
use common::ebpf_perf;

#[test]
fn workflow_of_the_seed_lab() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("wf.json");
    let o = ebpf_perf(&[
        "workflow",
        "--config-dir",
        "config/examples/seed-lab",
        "--output",
        out.to_str().unwrap(),
        "--pretty",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["metadata"]["total_cycles"], 16);
    assert_eq!(v["metadata"]["total_trials"], 256);
    assert_eq!(
        v["metadata"]["environments"],
        serde_json::json!(["host", "vm"])
    );
    let seq = v["test_sequence"].as_array().unwrap();
    assert_eq!(seq.len(), 16);
    assert_eq!(seq[0]["cycle_type"], "baseline");
    assert!(seq[0]["ebpf_case"].is_null());
    assert_eq!(seq[0]["result_path"], "baseline/host");
    // Every baseline of the seed lab is paired with eBPF trials: its blocks
    // are the cases' pairs', and take no time of their own.
    assert_eq!(seq[0]["expected_duration_s"], 0);
    assert_eq!(
        seq[0]["baseline_blocks"],
        "in the pairs of the eBPF cases of this environment"
    );
    assert_eq!(seq[0]["pairs"], serde_json::json!([]));
    assert_eq!(
        v["global_config"]["monitoring_config"]["tool_001"]["enabled"], true,
        "{}",
        v["global_config"]["monitoring_config"]
    );

    let c5 = seq
        .iter()
        .find(|c| c["cycle_id"] == "tool_002_case_5_host")
        .unwrap();
    assert_eq!(c5["cycle_type"], "ebpf");
    assert_eq!(c5["ebpf_case"]["case_id"], 5);
    assert!(c5["ebpf_case"]["command"]
        .as_str()
        .unwrap()
        .contains("system_network_latency_details.py"));
    assert_eq!(
        c5["setup_steps"],
        serde_json::json!(["start_case_monitors"])
    );
    assert_eq!(
        c5["teardown_steps"],
        serde_json::json!(["stop_case_monitors"])
    );
    // The interleaved schedule: 6 pairs (the seed lab sets no precision
    // target), each a baseline side and a tool side, in the order the seed
    // (0 by default) gives; the tool runs only for its side.
    let pairs = c5["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 6);
    let tool_side = serde_json::json!([
        "start_ebpf_case_5",
        "wait_until_attached",
        "start_tool_monitors",
        "tool_blocks",
        "stop_tool_monitors",
        "stop_ebpf_case_5"
    ]);
    for (k, p) in pairs.iter().enumerate() {
        assert_eq!(p["pair"], k + 1);
        let steps = p["steps"].as_array().unwrap();
        let (first, second) = match p["order"].as_str().unwrap() {
            "baseline_first" => (&steps[..1], &steps[1..]),
            "tool_first" => (&steps[6..], &steps[..6]),
            o => panic!("{o}"),
        };
        assert_eq!(first, ["baseline_blocks"], "{p}");
        assert_eq!(serde_json::json!(second), tool_side, "{p}");
    }
    // The orders depend on the seed: another gives others.
    let other = ebpf_perf(&[
        "workflow",
        "--config-dir",
        "config/examples/seed-lab",
        "--seed",
        "7",
    ]);
    let w: serde_json::Value = serde_json::from_slice(&other.stdout).unwrap();
    let orders = |v: &serde_json::Value| -> Vec<String> {
        v["test_sequence"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| {
                c["pairs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["order"].to_string())
            })
            .collect()
    };
    assert_ne!(orders(&v), orders(&w));
    let tests = c5["performance_tests"].as_array().unwrap();
    let types: Vec<&str> = tests
        .iter()
        .map(|t| t["test_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["throughput", "latency", "pps"]);
    let multi4 = &tests[0]["variants"][6];
    assert_eq!(
        multi4["trial"],
        "tool_002::case_5::host::throughput::multi_4_tcp"
    );
    assert_eq!(multi4["ports"], serde_json::json!([5001, 5002, 5003, 5004]));
    assert_eq!(
        multi4["result_path"],
        format!(
            "{}/throughput/multi_4_tcp_{{timestamp}}",
            c5["result_path"].as_str().unwrap()
        )
    );
    assert!(v["global_config"]["ssh_hosts"]["vm-server"]["password_env"] == "VM_SSH_PASSWORD");
}

#[test]
fn workflow_to_stdout_lists_hook_steps_in_layer_order() {
    let o = ebpf_perf(&["workflow", "--config-dir", "tests/corpus/base"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let seq = v["test_sequence"].as_array().unwrap();
    // The case-layer hook runs `when: ebpf`, after the built-in teardown steps.
    assert_eq!(
        seq[0]["teardown_steps"],
        serde_json::json!(["stop_case_monitors"])
    );
    let last = seq.last().unwrap();
    assert_eq!(
        last["teardown_steps"].as_array().unwrap().last().unwrap(),
        "hook:list_results"
    );
}

#[test]
fn validate_reports_counts_and_errors() {
    let ok = ebpf_perf(&["validate", "--config-dir", "config/examples/seed-lab"]);
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("16 cycles, 256 trials"));
    let bad = ebpf_perf(&["validate", "--config-dir", "tests"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ssh-config.yaml: cannot read it"));
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        vec!["--help"],
        vec!["validate", "--help"],
        vec!["workflow", "--help"],
    ] {
        let o = ebpf_perf(&sub);
        assert!(o.status.success(), "{sub:?}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Usage:"),
            "{sub:?}"
        );
    }
}

/// In pairs (the default config: at least 6 a trial), an eBPF cycle is
/// expected to take at least its trials' least pairs of blocks.
#[test]
fn the_expected_duration_counts_pairs() {
    let o = ebpf_perf(&["workflow", "--config-dir", "config"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for c in v["test_sequence"].as_array().unwrap() {
        let tests: u64 = c["performance_tests"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["variants"].as_array().unwrap())
            .map(|x| x["duration_s"].as_u64().unwrap())
            .sum();
        let expected = c["expected_duration_s"].as_u64().unwrap();
        if c["cycle_type"] == "ebpf" {
            assert!(
                expected >= 2 * 6 * tests,
                "{}: {expected} < 2 × 6 × {tests}",
                c["cycle_id"]
            );
        }
    }
}
