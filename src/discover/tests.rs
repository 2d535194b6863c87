use super::*;
use rstest::rstest;

#[rstest]
#[case("kprobe:tcp_drop /pid == $1/ { @[comm] = count(); }", 1)]
#[case("BEGIN { printf(\"%s %d\", str($2), $1); } $x = 3;", 2)]
#[case("tracepoint:net:netif_rx { $len = args->len; }", 0)]
#[case("$10 $3", 10)]
fn finds_bpftrace_positional_parameters(#[case] text: &str, #[case] n: usize) {
    let p = bpftrace_params(text);
    assert_eq!(p.len(), n);
    if n > 0 {
        assert_eq!(p[n - 1].var, format!("arg{n}"));
    }
}

#[rstest]
#[case("from bcc import BPF\n", true)]
#[case("import bcc\n", true)]
#[case("import libbpf_tools as l\n", true)]
#[case("# from bcc import BPF\nimport os\n", false)]
#[case("import argparse\n", false)]
fn tells_bpf_programs_from_other_python(#[case] text: &str, #[case] want: bool) {
    assert_eq!(python_uses_bpf(text), want);
}

// Issue 31 (11): the calls are found in one pass; text inside strings is
// not a call, and an unclosed call is none.
#[test]
fn add_argument_calls_in_one_pass() {
    let t = "p.add_argument('-a', default=f(1))\ns = 'add_argument(x)'\np.add_argument('-b', help=g('(')) ";
    assert_eq!(
        add_argument_calls(t),
        ["'-a', default=f(1)", "'-b', help=g('(')"]
    );
    // Repeated unclosed calls (quadratic before): none is a call.
    let many = "add_argument(".repeat(50_000);
    assert!(add_argument_calls(&many).is_empty());
}

#[test]
fn reads_argparse_options_with_literal_defaults() {
    let text = r#"
parser = argparse.ArgumentParser()
parser.add_argument("-i", "--interval", type=int, default=1, help="seconds (default: 1)")
parser.add_argument('--top-n', default='10', help="rows, e.g. f(x)")
parser.add_argument("-v", "--verbose", action="store_true")
parser.add_argument("--pid", type=int, help="trace this PID only")
parser.add_argument("--cgroup", default=os.getcwd())
parser.add_argument("count", nargs="?", default=99)
"#;
    let (params, notes) = argparse_params(text);
    assert_eq!(
        params,
        [
            Param {
                var: "interval".into(),
                flag: "--interval".into(),
                value: "1".into()
            },
            Param {
                var: "top_n".into(),
                flag: "--top-n".into(),
                value: "10".into()
            },
        ]
    );
    assert_eq!(notes.len(), 4, "{notes:?}");
    assert!(notes[0].contains("--verbose") && notes[1].contains("--pid"));
    assert!(notes[2].contains("--cgroup") && notes[3].contains("\"count\""));
}

#[test]
fn a_file_name_cannot_write_yaml_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let name = "a\nebpf_tools: {injected: {}}\nb.bt";
    std::fs::write(
        dir.path().join(name),
        "tracepoint:net:netif_rx { @n = count(); }",
    )
    .unwrap();
    let (found, _) = scan(&[dir.path().to_path_buf()]).unwrap();
    let o = Options {
        hosts_dir: None,
        environments: vec!["host".into()],
        test_types: vec!["latency".into()],
        first_id: 1,
    };
    let text = fragment(&found, &[dir.path().to_path_buf()], &o);
    let doc: crate::yaml::Value = crate::yaml::from_str(&text).unwrap();
    let tools = doc["ebpf_tools"].as_object().unwrap();
    assert_eq!(tools.len(), 1, "{text}");
    assert!(!tools.keys().any(|k| k == "injected"), "{text}");
}
