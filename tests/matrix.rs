//! The matrix: both tool shapes, expansion counts, trial names, result paths
//! and the stability of `hash6`.

mod common;

use ebpf_perf::config::{self, Tool};
use ebpf_perf::domain::{Protocol, TestType, Variant};
use ebpf_perf::matrix::{self, Matrix};
use ebpf_perf::naming;
use rstest::rstest;
use std::collections::HashSet;

fn seed() -> (config::Config, Matrix) {
    let cfg = config::load(&common::seed_lab()).unwrap_or_else(|e| panic!("{e}"));
    let m = matrix::build(&cfg);
    (cfg, m)
}

/// The same tool written in the nested and in the flat shape.
#[rstest]
#[case::nested(
    "  t:\n    testcase_source:\n      file: \"cases.json\"\n      case_ids: [2, 1]\n    test_associations:\n      applicable_environments: [\"vm\", \"host\"]\n      performance_test_types: [\"pps\", \"latency\"]\n"
)]
#[case::flat(
    "  t:\n    testcase_file: \"cases.json\"\n    case_ids: [2, 1]\n    applicable_environments: [\"vm\", \"host\"]\n    performance_test_types: [\"pps\", \"latency\"]\n"
)]
fn both_tool_shapes_normalize_alike(#[case] tool_yaml: &str) {
    let dir = common::copy_dir(&common::corpus_base());
    std::fs::write(
        dir.path().join("ebpf-tools-config.yaml"),
        format!("ebpf_tools:\n{tool_yaml}"),
    )
    .unwrap();
    let cfg = config::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let t: &Tool = &cfg.tools["t"];
    assert_eq!(t.cases.iter().map(|c| c.id).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(t.environments, ["vm", "host"]);
    // Types are kept in matrix order, whatever order the file lists them in.
    assert_eq!(t.test_types, [TestType::Latency, TestType::Pps]);
    assert_eq!(t.case_file, dir.path().join("cases.json"));
    let m = matrix::build(&cfg);
    let ebpf: Vec<&str> = m.cycles[2..].iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ebpf,
        [
            "t_case_2_vm",
            "t_case_2_host",
            "t_case_1_vm",
            "t_case_1_host"
        ]
    );
}

#[test]
fn seed_lab_has_16_cycles_of_16_trials() {
    let (_, m) = seed();
    assert_eq!(m.cycles.len(), 16);
    assert_eq!(m.trials.len(), 256);
    for c in &m.cycles {
        assert_eq!(c.trials.len(), 16, "{}", c.id);
    }
    // Baselines first, one per environment, then tools in file order.
    let ids: Vec<&str> = m.cycles.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        &ids[..4],
        [
            "baseline_host",
            "baseline_vm",
            "tool_001_case_1_host",
            "tool_001_case_2_host"
        ]
    );
    assert_eq!(ids[15], "tool_003_case_20_vm");
    let names: HashSet<&str> = m.trials.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names.len(), 256, "trial names are unique");
}

#[rstest]
#[case(&[TestType::Throughput], 10)] // 2 protocols × 2 bandwidths + 3 stream counts × 2 protocols
#[case(&[TestType::Latency], 2)]
#[case(&[TestType::Pps], 4)]
#[case(&[TestType::Latency, TestType::Pps], 6)]
#[case(&TestType::ALL, 16)]
fn expansion_counts(#[case] types: &[TestType], #[case] n: usize) {
    let (cfg, _) = seed();
    assert_eq!(matrix::variants(&cfg.perf, types).len(), n);
}

#[test]
fn expansion_order_and_names() {
    let (cfg, _) = seed();
    let names: Vec<String> = matrix::variants(&cfg.perf, &TestType::ALL)
        .iter()
        .map(Variant::name)
        .collect();
    assert_eq!(
        names,
        [
            "single_tcp_1G",
            "single_tcp_10G",
            "single_udp_1G",
            "single_udp_10G",
            "multi_2_tcp",
            "multi_2_udp",
            "multi_4_tcp",
            "multi_4_udp",
            "multi_8_tcp",
            "multi_8_udp",
            "tcp_rr",
            "udp_rr",
            "multi_4_tcp",
            "multi_4_udp",
            "multi_8_tcp",
            "multi_8_udp",
        ]
    );
}

#[test]
fn trial_names_follow_design() {
    let (_, m) = seed();
    let names: Vec<&str> = m.trials.iter().map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"baseline::host::throughput::single_tcp_1G"));
    assert!(names.contains(&"baseline::vm::latency::udp_rr"));
    assert!(names.contains(&"tool_002::case_5::host::throughput::multi_4_tcp"));
    assert!(names.contains(&"tool_003::case_20::vm::pps::multi_8_udp"));
    for t in &m.trials {
        let parts: Vec<&str> = t.name.split("::").collect();
        let c = m.cycle_of(t);
        assert_eq!(
            parts.len(),
            if c.is_baseline() { 4 } else { 5 },
            "{}",
            t.name
        );
        assert_eq!(parts[parts.len() - 2], t.variant.test_type().as_str());
        assert_eq!(parts[parts.len() - 1], t.variant.name());
        assert_eq!(parts[parts.len() - 3], c.env);
    }
}

#[rstest]
#[case(&[("protocol", "tcp"), ("direction", "rx")], "protocol=tcp,direction=rx", "a4f2c2")]
#[case(&[("direction", "rx"), ("protocol", "tcp")], "protocol=tcp,direction=rx", "a4f2c2")]
#[case(&[("verbose", "true"), ("direction", "tx"), ("protocol", "udp")], "protocol=udp,direction=tx,verbose=true", "e9ff88")]
#[case(&[("detailed", "true"), ("protocol", "tcp"), ("direction", "rx")], "protocol=tcp,direction=rx,detailed=true", "953fe9")]
#[case(&[], "", "d41d8c")]
fn hash6_is_md5_of_canonical_parameters(
    #[case] params: &[(&str, &str)],
    #[case] canonical: &str,
    #[case] hash: &str,
) {
    // Expected values computed with Python's hashlib.md5(canonical)[:6].
    assert_eq!(naming::canonical_params(params.iter().copied()), canonical);
    assert_eq!(naming::hash6(canonical), hash);
}

#[test]
fn result_paths_encode_case_and_variant() {
    let (_, m) = seed();
    let t = m
        .trials
        .iter()
        .find(|t| t.name == "tool_002::case_7::host::latency::tcp_rr")
        .unwrap();
    assert_eq!(
        m.trial_dir_prefix(t),
        "ebpf/tool_002_case_7_tcp_rx_953fe9/host/latency/tcp_rr"
    );
    let b = m
        .trials
        .iter()
        .find(|t| t.name == "baseline::vm::pps::multi_8_udp")
        .unwrap();
    assert_eq!(m.trial_dir_prefix(b), "baseline/vm/pps/multi_8_udp");
    // Every case directory name is a safe path segment.
    for c in &m.cycles {
        for seg in c.root.split('/') {
            naming::check_safe_id(seg).unwrap_or_else(|e| panic!("{}: {seg} {e}", c.root));
        }
    }
}

#[test]
fn unset_protocol_and_direction_are_written_as_any() {
    let cfg = config::load(&common::corpus_base()).unwrap();
    let m = matrix::build(&cfg);
    let c = m
        .cycles
        .iter()
        .find(|c| c.id == "tool_002_case_5_vm")
        .unwrap();
    assert_eq!(
        c.root,
        format!("ebpf/tool_002_case_5_any_any_{}/vm", naming::hash6(""))
    );
}

#[rstest]
#[case("tool_001", true)]
#[case("a.b-c_D9", true)]
#[case("", false)]
#[case("..", false)]
#[case(".", false)]
#[case("a..b", false)]
#[case("a/b", false)]
#[case("a b", false)]
#[case("é", false)]
fn safe_ids(#[case] id: &str, #[case] ok: bool) {
    assert_eq!(naming::check_safe_id(id).is_ok(), ok, "{id}");
}

#[test]
fn ports_and_durations_per_variant() {
    let (cfg, _) = seed();
    let multi = Variant::Multi {
        streams: 4,
        protocol: Protocol::Tcp,
    };
    assert_eq!(matrix::ports(&cfg.perf, &multi), [5001, 5002, 5003, 5004]);
    assert_eq!(matrix::duration(&cfg.perf, &multi), 30);
    let lat = Variant::Latency {
        protocol: Protocol::Udp,
    };
    assert_eq!(matrix::ports(&cfg.perf, &lat), [12865]);
    assert_eq!(matrix::duration(&cfg.perf, &lat), 20);
}

/// The baselines an eBPF selection is compared with are added, once, in
/// matrix order: same environment, test type and variant (pps and
/// throughput both have a `multi_4_tcp`); `have` keeps out those an earlier
/// results file holds.
#[test]
fn selected_ebpf_trials_bring_their_baselines() {
    use ebpf_perf::filter::Filter;
    use ebpf_perf::filter::{select, with_baselines};
    let cfg = ebpf_perf::config::load(&common::seed_lab()).unwrap();
    let m = ebpf_perf::matrix::build(&cfg);
    let f = Filter {
        terms: vec!["case_5".into(), "multi_4_tcp".into()],
        ..Default::default()
    };
    let sel = select(&m, &f);
    let (all, added) = with_baselines(&m, &sel, |_| false);
    let names: Vec<&str> = all.iter().map(|&i| m.trials[i].name.as_str()).collect();
    assert_eq!(
        names,
        [
            "baseline::host::throughput::multi_4_tcp",
            "baseline::host::pps::multi_4_tcp",
            "tool_002::case_5::host::throughput::multi_4_tcp",
            "tool_002::case_5::host::pps::multi_4_tcp",
        ]
    );
    assert_eq!(added, 2);
    let (all, added) = with_baselines(&m, &sel, |n| n.contains("pps"));
    assert_eq!((all.len(), added), (3, 1));
    // A baseline selected by the filter is not added twice.
    let f = Filter {
        terms: vec!["host".into(), "multi_4_tcp".into()],
        ..Default::default()
    };
    let sel = select(&m, &f);
    assert_eq!(with_baselines(&m, &sel, |_| false).1, 0);
}

/// A case whose command stops after `{duration}` seconds shorter than its
/// cycle's trials is named, with both numbers; a long enough one is not.
#[rstest]
#[case(5, true)]
#[case(100_000, false)]
fn a_program_shorter_than_its_cycle_is_said(#[case] secs: u32, #[case] warned: bool) {
    let d = common::copy_dir(&common::corpus_base());
    let cases = d.path().join("cases.json");
    let text = std::fs::read_to_string(&cases).unwrap().replace(
        "\"command\": \"python3 {tools_dir}/l.py --src {client_ip} --dst {server_ip}\", \"duration\": 600",
        &format!("\"command\": \"timeout {{duration}} python3 {{tools_dir}}/l.py\", \"duration\": {secs}"),
    );
    std::fs::write(&cases, text).unwrap();
    let cfg = config::load(d.path()).unwrap_or_else(|e| panic!("{e}"));
    let m = matrix::build(&cfg);
    let said: Vec<String> = m
        .cycles
        .iter()
        .filter_map(|c| matrix::short_program(&cfg, &m, c))
        .collect();
    assert_eq!(!said.is_empty(), warned, "{said:?}");
    for s in &said {
        assert!(
            s.contains("::case_5 on ") && s.contains(&format!("{{duration}} = {secs} s")),
            "{s}"
        );
    }
}
