use super::*;

fn parse(a: &[&str]) -> HarnessArgs {
    let argv = std::iter::once("perf")
        .chain(a.iter().copied())
        .map(String::from);
    parse_args(argv, |_| None).unwrap()
}

#[test]
fn splits_terms_ours_and_libtests() {
    let a = parse(&[
        "case_5",
        "--config-dir",
        "cfg",
        "--test-threads",
        "4",
        "host",
        "--skip=udp",
        "-q",
        "--format",
        "terse",
        "throughput",
        "--junit=j.xml",
        "--list",
        "--exact",
    ]);
    assert_eq!(a.config_dir, PathBuf::from("cfg"));
    assert_eq!(a.junit, PathBuf::from("j.xml"));
    assert_eq!(a.filter.terms, ["case_5", "host", "throughput"]);
    assert_eq!(a.filter.skip, ["udp"]);
    assert!(a.filter.exact);
    assert_eq!(
        a.libtest,
        [
            "perf",
            "--test-threads",
            "4",
            "-q",
            "--format",
            "terse",
            "--list"
        ]
    );
}

#[test]
fn env_is_default_and_options_win() {
    let env = |k: &str| match k {
        CONFIG_ENV => Some("from-env".to_string()),
        JUNIT_ENV => Some("env.xml".to_string()),
        _ => None,
    };
    let argv = ["perf", "--junit", "cli.xml"].map(String::from);
    let a = parse_args(argv, env).unwrap();
    assert_eq!(a.config_dir, PathBuf::from("from-env"));
    assert_eq!(a.junit, PathBuf::from("cli.xml"));
    let d = parse(&[]);
    assert_eq!(d.config_dir, PathBuf::from(DEFAULT_CONFIG_DIR));
    assert_eq!(d.junit, PathBuf::from(DEFAULT_JUNIT));
}

#[test]
fn reconnect_wait_from_option_env_or_default() {
    use std::time::Duration;
    let env = |k: &str| (k == RECONNECT_WAIT_ENV).then(|| "7".to_string());
    let from_env = parse_args(["perf"].map(String::from), env).unwrap();
    assert_eq!(from_env.reconnect_wait, Duration::from_secs(7));
    let argv = ["perf", "--reconnect-wait=3"].map(String::from);
    assert_eq!(
        parse_args(argv, env).unwrap().reconnect_wait,
        Duration::from_secs(3)
    );
    assert_eq!(
        parse(&[]).reconnect_wait,
        Duration::from_secs(DEFAULT_RECONNECT_WAIT_S)
    );
    let bad = ["perf", "--reconnect-wait", "soon"].map(String::from);
    assert_eq!(
        parse_args(bad, |_| None).unwrap_err().to_string(),
        "--reconnect-wait takes a whole number of seconds, not \"soon\""
    );
}

#[test]
fn missing_value_is_an_error() {
    let argv = ["perf", "--config-dir"].map(String::from);
    assert_eq!(
        parse_args(argv, |_| None).unwrap_err().to_string(),
        "option --config-dir needs a value"
    );
}

#[test]
fn a_bad_value_from_the_environment_names_the_variable() {
    let env = |k: &str| (k == REPEAT_ENV).then(|| "0".to_string());
    assert_eq!(
        parse_args(["perf"].map(String::from), env)
            .unwrap_err()
            .to_string(),
        "EBPF_PERF_REPEAT takes a whole number of runs >= 1, not \"0\""
    );
    let env = |k: &str| (k == NO_REPORT_ENV).then(|| "1".to_string());
    assert!(
        parse_args(["perf"].map(String::from), env)
            .unwrap()
            .no_report
    );
    let env = |k: &str| (k == NO_REPORT_ENV).then(|| "0".to_string());
    assert!(
        !parse_args(["perf"].map(String::from), env)
            .unwrap()
            .no_report
    );
}

#[test]
fn the_help_is_generated_from_every_option() {
    let h = help();
    for def in Options::command().get_arguments() {
        if let Some(long) = def.get_long() {
            assert!(h.contains(&format!("--{long}")), "--{long} missing:\n{h}");
        }
        if let Some(var) = def.get_env() {
            assert!(h.contains(&*var.to_string_lossy()), "{var:?} missing");
        }
    }
    // libtest's own options follow.
    assert!(h.contains("--list") && h.contains("--nocapture"), "{h}");
}

// Seed 000's `run_automation.py` flags (issue 32, item 4).
#[test]
fn the_seeds_tools_and_environments_are_tool_and_env() {
    let a = parse(&["--tools", "a,b", "--environments=host", "--tool", "c"]);
    assert_eq!(a.filter.tools, ["a", "b", "c"]);
    assert_eq!(a.filter.envs, ["host"]);
    assert_eq!(a.libtest, ["perf"]);
}

#[test]
fn the_seeds_dry_run_names_its_replacement() {
    for flag in ["--dry-run", "--workflow-output"] {
        let argv = ["perf", flag, "w.json"].map(String::from);
        let e = parse_args(argv, |_| None).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{flag} is a flag of seed 000's")),
            "{e}"
        );
        assert!(
            e.contains("ebpf-perf workflow --config-dir DIR -o FILE"),
            "{e}"
        );
    }
}
