//! `ebpf-perf discover DIR...` as users run it: the fragment it prints
//! validates as a tools file, and the matrix it gives runs each tool's
//! program with the parameters found.

mod common;
use common::ebpf_perf;

const DROPS_BT: &str = "#!/usr/bin/env bpftrace\n\
    kprobe:kfree_skb_reason /pid == $1/ { @drops[str($2)] = count(); }\n";

const TOP_PY: &str = r#"#!/usr/bin/env python3
from bcc import BPF
import argparse
p = argparse.ArgumentParser()
p.add_argument("-i", "--interval", type=int, default=1)
p.add_argument("--top-n", default="10", help="rows (max)")
p.add_argument("-v", "--verbose", action="store_true")
"#;

fn tools_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("net")).unwrap();
    std::fs::write(d.path().join("net/drops.bt"), DROPS_BT).unwrap();
    std::fs::write(d.path().join("tcp-top.py"), TOP_PY).unwrap();
    // Not tools: Python without BPF, and anything else.
    std::fs::write(d.path().join("helper.py"), "import os\n").unwrap();
    std::fs::write(d.path().join("README"), "$1 $2\n").unwrap();
    d
}

#[test]
fn the_fragment_validates_and_runs_each_program_with_its_parameters() {
    let tools = tools_dir();
    let o = ebpf_perf(&[
        "discover",
        tools.path().to_str().unwrap(),
        "--hosts-dir",
        "/opt/ebpf tools",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let fragment = common::stdout(&o);
    assert!(fragment.contains("tool_drops:"), "{fragment}");
    assert!(fragment.contains("tool_tcp_top:"), "{fragment}");
    assert!(!fragment.contains("helper"), "{fragment}");
    assert!(
        fragment.contains("# flag --verbose: add it to the template"),
        "{fragment}"
    );

    // The fragment as the tools file of the default config: it validates,
    // and its cases become trials whose commands run the programs.
    let cfg = common::copy_dir(&common::repo().join("config"));
    std::fs::write(cfg.path().join("ebpf-tools-config.yaml"), &fragment).unwrap();
    let dir = cfg.path().to_str().unwrap();
    let v = ebpf_perf(&["validate", "--config-dir", dir]);
    assert!(
        v.status.success(),
        "{}\n{fragment}",
        common::stderr(&v) + &common::stdout(&v)
    );
    let wf = ebpf_perf(&["workflow", "--config-dir", dir]);
    assert!(wf.status.success(), "{}", common::stderr(&wf));
    let wf: serde_json::Value = serde_json::from_slice(&wf.stdout).unwrap();
    let commands: Vec<String> = wf["test_sequence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ebpf_case"].is_object())
        .map(|c| {
            // As the run fills it: the case's parameters into the template.
            let case = &c["ebpf_case"];
            ebpf_perf::template::render(case["command"].as_str().unwrap(), |n| {
                let v = &case["parameters"][n];
                Some(
                    v.as_str()
                        .map_or_else(|| v.to_string(), String::from)
                        .into(),
                )
            })
            .unwrap()
        })
        .collect();
    assert_eq!(
        commands,
        [
            "bpftrace '/opt/ebpf tools/net/drops.bt' 0 0",
            "python3 '/opt/ebpf tools/tcp-top.py' --interval 1 --top-n 10",
        ],
        "{wf:#}"
    );
}

#[test]
fn a_directory_without_tools_is_an_error_that_says_what_was_looked_for() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("x.py"), "print(1)\n").unwrap();
    let o = ebpf_perf(&["discover", d.path().to_str().unwrap()]);
    assert!(!o.status.success());
    let err = common::stderr(&o);
    assert!(
        err.contains("no eBPF tools (*.bt, or *.py that use BCC or libbpf) under"),
        "{err}"
    );
    let missing = ebpf_perf(&["discover", "/nonexistent-dir"]);
    assert!(!missing.status.success());
    assert!(
        common::stderr(&missing).contains("cannot read /nonexistent-dir"),
        "{}",
        common::stderr(&missing)
    );
}

// Issue 31 (1): a file name is written into `#` comments of the fragment;
// U+2028/2029 and NEL end a comment in YAML readers, so they are shown
// escaped and the fragment holds no key the name made up.
#[rstest::rstest]
#[case('\u{2028}')]
#[case('\u{2029}')]
#[case('\u{85}')]
fn a_file_name_cannot_make_live_yaml_in_the_fragment(#[case] sep: char) {
    let d = tempfile::tempdir().unwrap();
    let name = format!("x{sep}  injected_key: 1 #.bt");
    std::fs::write(d.path().join(&name), DROPS_BT).unwrap();
    let o = ebpf_perf(&["discover", d.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let fragment = common::stdout(&o);
    assert!(!fragment.contains(sep), "{fragment}");
    let v: ebpf_perf::yaml::Value = ebpf_perf::yaml::from_str(&fragment).unwrap();
    let text = serde_json::to_string(&v).unwrap();
    assert!(!text.contains("\"injected_key\""), "{text}");
}

// Issue 31 (11): only candidates (.bt, .py) are read, and only up to a cap:
// a 1 GiB sparse data file is never read, a 2 MiB "script" is named and
// skipped, and the real tool beside them is still found.
#[test]
fn large_files_are_not_read() {
    let d = tools_dir();
    let big = |name: &str, len: u64| {
        let f = std::fs::File::create(d.path().join(name)).unwrap();
        f.set_len(len).unwrap();
    };
    big("data.bin", 1 << 30);
    big("huge.py", 2 << 20);
    let o = ebpf_perf(&["discover", d.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let err = common::stderr(&o);
    assert!(
        err.contains("huge.py: larger than 1024 KiB, too large for a script; not read"),
        "{err}"
    );
    assert!(!err.contains("data.bin"), "{err}");
    assert!(common::stdout(&o).contains("tool_drops:"));
}
