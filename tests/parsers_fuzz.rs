//! Bad input from remote tools never panics a parser. Every prefix of real
//! recorded output (a truncated file), and bounded proptest runs of garbage
//! and of real output with a stretch overwritten, go through the iperf3,
//! netperf and sar parsers, the metrics step, the monitor's summaries, and
//! the /proc readers of `host::proc`.
//! Bounded: a fixed number of cases (`PROPTEST_CASES` raises it).

use ebpf_perf::domain::{Protocol, Variant};
use ebpf_perf::host::proc;
use ebpf_perf::monitor::costs;
use ebpf_perf::perf::{self, parse, Input};
use proptest::prelude::*;

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

const PERF: &[&str] = &[
    "iperf3_tcp.json",
    "iperf3_udp.json",
    "iperf3_udp_64.json",
    "iperf3_refused.json",
    "netperf_tcp_rr.txt",
    "netperf_tcp_rr_p50_tps.txt",
    "netperf_udp_rr.txt",
    "sar_dev.txt",
];
const MONITOR: &[&str] = &[
    "monitor/bpf_prog_stats.log",
    "monitor/tool_cpu_usage.log",
    "monitor/tool_memory.log",
    "monitor/tool_logsize.log",
    "monitor/cpu_mem.log",
    "monitor/network_stats.log",
    "proc/stat",
    "proc/meminfo",
    "proc/diskstats",
    "proc/pid_stat",
];

fn variants() -> Vec<Variant> {
    vec![
        Variant::Multi {
            streams: 2,
            protocol: Protocol::Tcp,
        },
        Variant::Latency {
            protocol: Protocol::Udp,
        },
        Variant::Pps {
            streams: 1,
            protocol: Protocol::Udp,
        },
    ]
}

/// Every parser on one text: none may panic; a metrics error names the
/// output it is about (the run step turns that into host:file).
fn all_parsers(text: &str) {
    let _ = parse::iperf3(text);
    let _ = parse::netperf(text);
    let _ = parse::sar_dev(text, "port-storage");
    for v in variants() {
        if let Err(e) = perf::metrics(
            &v,
            &[text.to_string(), text.to_string()],
            Some((text, "eth0")),
        ) {
            assert!(!e.message.is_empty());
            assert!(
                matches!(e.input, Input::Stream(1 | 2) | Input::Sar),
                "{e:?}"
            );
        }
    }
    let _ = costs::bpf_cost(text);
    let _ = costs::tool_cost("2026-11-22 19:58:24", text, text, text, text, Some(1.0));
    let _ = costs::tool_series("2026-11-22 19:58:24", text, text, text, text);
    let _ = costs::host_cost("2026-11-22 19:58:24", text, text);
    let _ = costs::seconds(text);
    let _ = proc::stat_fields_of(text);
    let _ = proc::prog_of(text);
    let _ = proc::cpu_times_of(text);
    let _ = proc::meminfo_of(text);
    let _ = proc::diskstats_of(text, |_| true);
}

#[test]
fn the_proc_readers_read_this_machines_proc() {
    let cpus = proc::cpu_times_of(&data("proc/stat"));
    assert!(cpus.len() >= 2 && cpus[0].0 == "cpu", "{cpus:?}");
    assert!(cpus
        .iter()
        .all(|(_, busy, soft, total)| soft <= busy && busy <= total));
    let (total, avail) = proc::meminfo_of(&data("proc/meminfo"));
    assert!(total > 0 && avail <= total);
    assert!(proc::stat_fields_of(&data("proc/pid_stat")).is_some_and(|f| f.len() > 20));
    let p = proc::prog_of("prog_type:\t5\nprog_jited:\t1\nprog_tag:\t9df4b97d7850d00c\nprog_id:\t429\nrun_time_ns:\t13689139\nrun_cnt:\t47804\n");
    assert_eq!(
        (p.id, p.run_time_ns, p.run_cnt, p.tag.as_str()),
        (429, 13689139, 47804, "9df4b97d7850d00c")
    );
}

#[test]
fn every_truncation_of_real_output_is_an_error_or_a_value_never_a_panic() {
    for name in PERF.iter().chain(MONITOR) {
        let text = data(name);
        for cut in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            all_parsers(&text[..cut]);
        }
    }
}

#[test]
fn truncated_iperf3_json_says_it_is_not_json() {
    let text = data("iperf3_tcp.json");
    let e = parse::iperf3(&text[..text.len() / 2]).unwrap_err();
    assert!(
        e.to_string()
            .contains("iperf3 output is not what was expected: not JSON"),
        "{e}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn garbage_never_panics(text in "\\PC{0,400}") {
        all_parsers(&text);
    }

    #[test]
    fn lines_that_look_almost_right_never_panic(
        lines in proptest::collection::vec(
            "(2026-11-22 19:58:2[0-9]\\.[0-9]{1,9} )?([a-z_]{1,12}=(-?[0-9.e+]{0,12}|nan|inf| ) ?){0,6}",
            0..12,
        )
    ) {
        all_parsers(&lines.join("\n"));
    }

    #[test]
    fn real_output_with_a_stretch_overwritten_never_panics(
        file in 0..(PERF.len() + MONITOR.len()),
        at in 0.0f64..1.0,
        junk in "\\PC{0,40}",
    ) {
        let name = PERF.iter().chain(MONITOR).nth(file).unwrap();
        let text = data(name);
        let mut cut = (at * text.len() as f64) as usize;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let end = (cut + junk.len()).min(text.len());
        let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap();
        all_parsers(&format!("{}{junk}{}", &text[..cut], &text[end..]));
    }
}

/// Every metric the parsers emit from real output has its entry in the
/// metric catalog (a metric missing there would be neither compared, shown
/// nor formatted).
#[test]
fn every_metric_a_parser_emits_is_in_the_catalog() {
    use ebpf_perf::{metrics, monitor, perf};
    let tcp = Variant::Multi {
        streams: 1,
        protocol: Protocol::Tcp,
    };
    let udp = Variant::Multi {
        streams: 1,
        protocol: Protocol::Udp,
    };
    let rr = Variant::Latency {
        protocol: Protocol::Tcp,
    };
    let pps = Variant::Pps {
        streams: 1,
        protocol: Protocol::Udp,
    };
    let sar = data("sar_dev.txt");
    let runs = [
        (&tcp, data("iperf3_tcp.json"), None),
        (&udp, data("iperf3_udp.json"), None),
        (&rr, data("netperf_tcp_rr_p50_tps.txt"), None),
        (
            &pps,
            data("iperf3_udp_64.json"),
            Some((sar.as_str(), "port-storage")),
        ),
    ];
    let mut names = Vec::new();
    for (v, out, sar) in runs {
        let m = perf::metrics(v, &[out], sar).unwrap_or_else(|e| panic!("{}: {e}", v.name()));
        names.extend(perf::flat(&m).into_keys());
    }
    let log = |n: &str| data(&format!("monitor/{n}.log"));
    let from = "2026-11-22 19:58:24";
    let tool = monitor::costs::tool_cost(
        from,
        &log("tool_cpu_usage"),
        &log("tool_memory"),
        &log("tool_logsize"),
        &log("bpf_prog_stats"),
        Some(1.0),
    );
    let host = monitor::costs::host_cost(from, &log("cpu_mem"), &log("network_stats"));
    let (tools, hosts) = (
        [("s".to_string(), tool)].into(),
        [("s".to_string(), host)].into(),
    );
    names.extend(monitor::costs::flat(&tools, &hosts).into_keys());
    for want in [
        "throughput_bps",
        "latency_p50_us",
        "pps",
        "bpf_ns_per_event",
        "host_cpu_busy_pct",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} not emitted: {names:?}"
        );
    }
    for n in &names {
        assert!(
            metrics::get(n).is_some(),
            "{n} is emitted but not in the catalog"
        );
    }
}
