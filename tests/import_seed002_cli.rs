//! `ebpf-perf import --from` on seed 002 §3.1's four files as printed
//! (tests/data/seed/002-3.1/, verbatim), and on a variant of them: the
//! result validates with no edit, warns with file:line about the one value
//! no seed file gives, and lists the matrix the seed's TestCaseGenerator
//! pairs. `tests/seed_import_lab.rs` runs it on the lab. The seed's
//! addresses are real-world ones: these tests never run them.

mod common;

use common::{ebpf_perf, listed, perf, stderr};

const SEED: &str = "tests/data/seed/002-3.1";

fn import(from: &str) -> (tempfile::TempDir, std::process::Output) {
    let d = tempfile::tempdir().unwrap();
    let o = ebpf_perf(&[
        "import",
        "--from",
        from,
        "--out",
        d.path().to_str().unwrap(),
    ]);
    (d, o)
}

fn read(d: &tempfile::TempDir, f: &str) -> String {
    std::fs::read_to_string(d.path().join(f)).unwrap()
}

#[test]
fn seed_002s_files_as_printed_import_validate_and_list() {
    let (d, o) = import(SEED);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = ebpf_perf(&["validate", "--config-dir", d.path().to_str().unwrap()]);
    assert!(v.status.success(), "{}", stderr(&v));
    // PHY_INTERFACE: no seed file gives it; each case has a marked value,
    // named with its file and line.
    let tools = read(&d, "ebpf-tools-config.yaml");
    let err = stderr(&v);
    let warned: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("has no value for PHY_INTERFACE yet (UNSET_PHY_INTERFACE)"))
        .collect();
    assert_eq!(warned.len(), 8, "{}", stderr(&v));
    for w in &warned {
        let line: usize = w.split(':').nth(2).unwrap().parse().unwrap();
        let text = tools.lines().nth(line - 1).unwrap();
        assert_eq!(text.trim(), "PHY_INTERFACE: UNSET_PHY_INTERFACE", "{w}");
    }
    // What the other files give: the addresses and the interface.
    assert!(tools.contains(
        "template: --internal-interface {interface} --phy-interface {PHY_INTERFACE} --src-ip {client_ip} --dst-ip {server_ip} --direction {direction} --protocol {protocol}"
    ), "{tools}");
    // durations: [30] under single_stream, netperf's own `-l 20`.
    let spec = read(&d, "performance-test-spec.yaml");
    for note in [
        "# durations: [30] is `duration: 30` of throughput.single_stream.",
        "# latency has no duration: `duration: 20`, from its command's `-l 20`.",
        "# throughput.multi_stream has no duration: `duration: 30`, from single_stream's.",
    ] {
        assert!(spec.contains(note), "{note}\n{spec}");
    }
    // The seed's protocols pair with the tests' (tcp, udp; icmp has no
    // test), its directions are seed 001's rx and tx: 4 cases per tool.
    let all = listed(&perf(&[
        "--config-dir",
        d.path().to_str().unwrap(),
        "--list",
    ]));
    let case = |c: &str| {
        all.iter()
            .filter(|n| n.contains(&format!("::{c}::")))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(
        !case("case_1").is_empty() && case("case_1").iter().all(|n| n.contains("tcp")),
        "{all:?}"
    );
    assert!(
        !case("case_3").is_empty() && case("case_3").iter().all(|n| n.contains("udp")),
        "{all:?}"
    );
    assert!(case("case_9").is_empty(), "{all:?}");
    assert!(
        case("case_5").iter().all(|n| n.contains("::vm-network::")),
        "{all:?}"
    );
    // Each pairs with every test of its protocol: 2 bandwidths, 3 stream
    // counts, one round trip, 2 pps stream counts.
    assert_eq!(case("case_1").len(), 2 + 3 + 1 + 2, "{all:?}");
    assert!(
        tools.contains("# tool_002: protocol \"icmp\" is left out"),
        "{tools}"
    );
    assert!(
        tools.contains("# `tool_discovery` is left out: `ebpf-perf discover"),
        "{tools}"
    );
}

#[test]
fn a_variant_of_seed_002s_files_imports_just_as_well() {
    let seed = common::copy_dir(&common::repo().join(SEED));
    let p = seed.path();
    // Other names, values and order: hosts renamed, a tool that gives its
    // own cases, its protocols and directions, and durations at the top.
    for (file, from, to) in [
        ("ssh-hosts.yaml", "system-host-server", "srv-a"),
        ("test-environments.yaml", "system-host-server", "srv-a"),
        (
            "ebpf-tools-spec.yaml",
            "      protocols: [\"tcp\", \"udp\"]\n",
            "      protocols: [\"udp\"]\n      directions: [\"tx\"]\n",
        ),
        (
            "ebpf-tools-spec.yaml",
            "    applicable_environments: [\"vm-network\"]\n",
            "    applicable_environments: [\"vm-network\"]\n    cases:\n      - {id: 7, name: wide, vars: {PHY_INTERFACE: eth9}}\n",
        ),
        ("performance-test-spec.yaml", "      durations: [30]\n", ""),
    ] {
        common::replace_in(&p.join(file), from, to);
    }
    let spec = std::fs::read_to_string(p.join("performance-test-spec.yaml")).unwrap();
    std::fs::write(
        p.join("performance-test-spec.yaml"),
        format!("durations: [12, 40]\n{spec}"),
    )
    .unwrap();
    let (d, o) = import(p.to_str().unwrap());
    assert!(o.status.success(), "{}", stderr(&o));
    let v = ebpf_perf(&["validate", "--config-dir", d.path().to_str().unwrap()]);
    assert!(v.status.success(), "{}", stderr(&v));
    let spec = read(&d, "performance-test-spec.yaml");
    assert!(
        spec.contains("# ebpf-perf runs one duration per test: the others ([40])"),
        "{spec}"
    );
    let all = listed(&perf(&[
        "--config-dir",
        d.path().to_str().unwrap(),
        "--list",
    ]));
    // tool_001: udp only, tx only: one case, udp tests only; its id comes
    // after the largest the file gives (7).
    let t1: Vec<&String> = all.iter().filter(|n| n.starts_with("tool_001::")).collect();
    assert!(
        !t1.is_empty()
            && t1
                .iter()
                .all(|n| n.contains("udp") && n.contains("::case_8::")),
        "{all:?}"
    );
    // tool_002's own case 7, expanded over tcp and udp (icmp left out) and
    // rx and tx; its PHY_INTERFACE given, so no warning for it.
    let t2: std::collections::BTreeSet<&str> = all
        .iter()
        .filter(|n| n.starts_with("tool_002::"))
        .map(|n| n.split("::").nth(1).unwrap())
        .collect();
    assert_eq!(t2.len(), 4, "{all:?}");
    assert!(t2.contains("case_7"), "{t2:?}");
    assert!(!stderr(&v).contains("tool_002.cases"), "{}", stderr(&v));
}

#[test]
fn an_expansion_too_large_is_refused_with_its_size() {
    let seed = common::copy_dir(&common::repo().join(SEED));
    let many: Vec<String> = (0..2000).map(|i| format!("\"d{i}\"")).collect();
    common::replace_in(
        &seed.path().join("ebpf-tools-spec.yaml"),
        "      protocols: [\"tcp\", \"udp\"]\n",
        &format!(
            "      protocols: [\"tcp\", \"udp\", \"tcp\"]\n      directions: [{}]\n",
            many.join(", ")
        ),
    );
    let (d, o) = import(seed.path().to_str().unwrap());
    assert!(!o.status.success());
    // Repeated values count once: 2 protocols × 2000 directions.
    assert!(
        stderr(&o).contains("tool_001: its 1 cases over 2 protocols and 2000 directions would make more than 1000 cases"),
        "{}",
        stderr(&o)
    );
    assert!(
        std::fs::read_dir(d.path()).unwrap().next().is_none(),
        "nothing written"
    );
}
