//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod files;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `ebpf-perf` command with `args`, run in the repository without the
/// caller's `EBPF_PERF_CONFIG`.
pub fn ebpf_perf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ebpf-perf"))
        .args(args)
        .current_dir(repo())
        .env_remove("EBPF_PERF_CONFIG")
        .output()
        .expect("run ebpf-perf")
}

/// Is `program` on PATH? When it is not and this runs as root, Debian's
/// `package` is installed first, the way the lab installs its own packages
/// (a fresh machine passes `cargo test` with no manual step).
pub fn test_tool(program: &str, package: &str) -> bool {
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|p| p.into_inner());
    let found = || {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {program}"))
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if found() {
        return true;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return false;
    }
    eprintln!("installing the test tool {program} (Debian package {package})");
    if let Err(e) = ebpf_perf::host::lab::install(&[package]) {
        eprintln!("cannot install {package}: {e}");
    }
    found()
}

/// The lab's own directory (keys, sshd pid files, the hosts' workdirs).
pub fn lab_dir() -> &'static Path {
    Path::new(ebpf_perf::host::lab::LAB_DIR)
}

/// Where the lab's hosts keep their workdirs.
pub fn lab_hosts() -> PathBuf {
    lab_dir().join("hosts")
}

/// The results root of lab host `host`, as `naming` lays it out.
pub fn lab_results(host: &str) -> PathBuf {
    PathBuf::from(ebpf_perf::naming::results_root(
        &lab_hosts().join(host).to_string_lossy(),
    ))
}

pub fn corpus_base() -> PathBuf {
    repo().join("tests/corpus/base")
}

pub fn seed_lab() -> PathBuf {
    repo().join("config/examples/seed-lab")
}

/// Copies every file of `from` into a fresh temporary directory.
pub fn copy_dir(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for e in std::fs::read_dir(from).expect("read config dir") {
        let e = e.expect("dir entry");
        if e.file_type().expect("file type").is_file() {
            std::fs::copy(e.path(), dir.path().join(e.file_name())).expect("copy");
        }
    }
    dir
}

/// The `perf` test harness, built by cargo as `cargo test --test perf` would.
pub fn perf_exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let out = Command::new(env!("CARGO"))
            .args([
                "test",
                "--test",
                "perf",
                "--no-run",
                "--message-format=json",
                "-q",
            ])
            .current_dir(repo())
            .output()
            .expect("run cargo");
        assert!(
            out.status.success(),
            "building the perf harness failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .rfind(|l| l.contains("\"name\":\"perf\"") && l.contains("\"executable\":\""))
            .expect("cargo reported no perf executable");
        let v: serde_json::Value = serde_json::from_str(line).expect("cargo json");
        PathBuf::from(v["executable"].as_str().expect("executable path"))
    })
}

/// The perf harness, in the repository, without the caller's environment
/// overrides.
fn harness() -> Command {
    harness_under(&[])
}

/// [`harness`], run by `wrapper` (a program and its arguments, e.g. faketime).
fn harness_under(wrapper: &[&str]) -> Command {
    let mut c = match wrapper.split_first() {
        Some((prog, args)) => {
            let mut c = Command::new(prog);
            c.args(args).arg(perf_exe());
            c
        }
        None => Command::new(perf_exe()),
    };
    c.current_dir(repo());
    for v in [
        "EBPF_PERF_CONFIG",
        "EBPF_PERF_JUNIT",
        "EBPF_PERF_RESULTS",
        "EBPF_PERF_REPEAT",
        "EBPF_PERF_NO_REPORT",
        // Run by nextest, a test's harness is not one of that run's trials.
        "NEXTEST_RUN_ID",
        "EBPF_PERF_LAB_UP",
    ] {
        c.env_remove(v);
    }
    c
}

/// The harness on `cfg`, with JUnit (`junit.xml`) and the results file
/// (`results.json`, the report next to it) inside `cfg`.
fn harness_in(cfg: &Path, args: &[&str]) -> Command {
    harness_in_under(&[], cfg, args)
}

fn harness_in_under(wrapper: &[&str], cfg: &Path, args: &[&str]) -> Command {
    let mut c = harness_under(wrapper);
    c.arg("--config-dir")
        .arg(cfg)
        .arg("--junit")
        .arg(cfg.join("junit.xml"))
        .arg("--results")
        .arg(cfg.join("results.json"))
        .args(args);
    c
}

/// Runs the perf harness with `args` in directory `dir`.
pub fn perf_in_dir(dir: &Path, args: &[&str]) -> Output {
    harness()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run perf harness")
}

/// Runs the perf harness with `args`.
pub fn perf(args: &[&str]) -> Output {
    harness().args(args).output().expect("run perf harness")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Trial names of `--list` output (`name: test` lines).
pub fn listed(o: &Output) -> Vec<String> {
    stdout(o)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect()
}

/// The default configuration with its lab up. Without root the lab cannot be
/// had: under CI=true that fails the test; elsewhere the test says it skipped.
pub fn lab() -> Option<ebpf_perf::config::Config> {
    static UP: OnceLock<Result<(), String>> = OnceLock::new();
    let cfg = ebpf_perf::config::load(&repo().join("config")).expect("default config");
    if !ebpf_perf::root_or_skip("the lab (network namespaces, sshd)") {
        return None;
    }
    let up = UP.get_or_init(|| {
        let plan = ebpf_perf::host::lab::Plan::from_config(&cfg).map_err(|e| e.to_string())?;
        ebpf_perf::host::lab::up(&plan)
            .map(drop)
            .map_err(|e| e.to_string())
    });
    if let Err(e) = up {
        panic!("the lab could not be brought up: {e}");
    }
    Some(cfg)
}

/// Starts the perf harness on `cfg` (see `harness_in`) without waiting.
pub fn spawn_perf(cfg: &Path, args: &[&str]) -> std::process::Child {
    harness_in(cfg, args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start perf harness")
}

/// Is the process a pid file (`PID STARTTIME`) records still running (not a
/// zombie, not a reused PID)?
pub fn recorded_running(pid_file_text: &str) -> bool {
    let mut it = pid_file_text.split_whitespace();
    let (Some(pid), Some(start)) = (it.next(), it.next()) else {
        return false;
    };
    match (pid.parse(), start.parse()) {
        (Ok(pid), Ok(start)) => ebpf_perf::host::proc::runs_as(pid, start),
        _ => false,
    }
}

/// A copy of the default config with `duration: 2` tests made `duration: {secs}`,
/// edited by `edit`.
pub fn lab_config(secs: u32, edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = copy_dir(&repo().join("config"));
    let spec = dir.path().join("performance-test-spec.yaml");
    let text: Vec<String> = std::fs::read_to_string(&spec)
        .unwrap()
        .lines()
        .map(|l| match l.split_once("duration: ") {
            Some((indent, n)) if n.parse::<u32>().is_ok() => format!("{indent}duration: {secs}"),
            _ => l.to_string(),
        })
        .collect();
    std::fs::write(&spec, text.join("\n") + "\n").unwrap();
    edit(dir.path());
    dir
}

/// Makes every eBPF trial of the config in `d` run exactly `n` pairs of
/// one-run blocks (and a baseline measured alone `n` blocks): no precision
/// target, no time cap (tests of other things than the experiment, which
/// need a known number of blocks and little time).
pub fn fixed_pairs_in(d: &Path, n: u32) {
    let spec = d.join("performance-test-spec.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    let keep: Vec<&str> = text
        .lines()
        .filter(|l| {
            !["pairs:", "max_trial_s:", "target_ci_pct:"]
                .iter()
                .any(|k| l.trim_start().starts_with(k))
        })
        .collect();
    let text = keep.join("\n").replacen(
        "performance_tests:\n",
        &format!("performance_tests:\n  pairs: {n}\n"),
        1,
    );
    assert!(
        text.contains(&format!("pairs: {n}")),
        "no performance_tests: in {}",
        spec.display()
    );
    std::fs::write(&spec, text + "\n").unwrap();
}

/// Removes every budget of the tools file in `d` (top level and per tool):
/// with one run there is no interval, and a single run's point against the
/// default budgets would fail or pass by chance.
pub fn no_budgets_in(d: &Path) {
    let path = d.join("ebpf-tools-config.yaml");
    let mut doc: ebpf_perf::yaml::Value =
        ebpf_perf::yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    if let Some(m) = doc.as_object_mut() {
        m.remove("budgets");
        if let Some(tools) = m.get_mut("ebpf_tools").and_then(|t| t.as_object_mut()) {
            for (_, t) in tools.iter_mut() {
                if let Some(t) = t.as_object_mut() {
                    t.remove("budgets");
                }
            }
        }
    }
    std::fs::write(&path, ebpf_perf::yaml::to_string(&doc).unwrap()).unwrap();
}

/// A copy of the default config with 1 s tests, exactly two pairs of
/// one-run blocks per eBPF trial (two blocks for a baseline measured
/// alone), and no budgets (what is tested is not the verdict), edited by
/// `edit`.
pub fn quick_config(edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    lab_config(1, |d| {
        fixed_pairs_in(d, 2);
        no_budgets_in(d);
        edit(d)
    })
}

/// Makes the multi-stream tests of the config in `d` last `secs` seconds.
pub fn long_multi_stream_in(d: &Path, secs: u32) {
    replace_in(
        &d.join("performance-test-spec.yaml"),
        "  multi_stream:\n      streams: [2, 4]\n      base_port: 5201\n      duration: 1",
        &format!(
            "  multi_stream:\n      streams: [2, 4]\n      base_port: 5201\n      duration: {secs}"
        ),
    );
}

/// Replaces the first `from` in a file (which must contain it).
pub fn replace_in(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Runs the perf harness on `cfg` (see `harness_in`); returns the output
/// and the results file's path.
pub fn perf_in(cfg: &Path, args: &[&str]) -> (Output, PathBuf) {
    perf_in_under(&[], cfg, args)
}

/// [`perf_in`], the harness run by `wrapper`.
pub fn perf_in_under(wrapper: &[&str], cfg: &Path, args: &[&str]) -> (Output, PathBuf) {
    let o = harness_in_under(wrapper, cfg, args)
        .output()
        .expect("run perf harness");
    (o, cfg.join("results.json"))
}

/// A trial of a results file, by name.
pub fn trial<'a>(
    results: &'a ebpf_perf::results::Results,
    name: &str,
) -> &'a ebpf_perf::results::TrialResult {
    results.trial(name).unwrap_or_else(|| {
        panic!(
            "{name} not in results: {:?}",
            results.trials.iter().map(|t| &t.name).collect::<Vec<_>>()
        )
    })
}

#[derive(Debug)]
pub struct Case {
    pub name: String,
    pub classname: String,
    pub failure: Option<String>,
    pub system_out: String,
    /// Text inside `<failure>`/`<error>`: step, host, command, exit code, stderr tail.
    pub failure_body: String,
}

/// The test cases of a JUnit file.
pub fn junit(path: &Path) -> Vec<Case> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("JUnit {}: {e}", path.display()));
    let doc = roxmltree::Document::parse(&text).expect("JUnit is XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            let child_text = |tag: &str| {
                n.children()
                    .find(|c| c.has_tag_name(tag))
                    .and_then(|c| c.text())
                    .unwrap_or("")
                    .to_string()
            };
            Case {
                name: n.attribute("name").unwrap_or("").into(),
                classname: n.attribute("classname").unwrap_or("").into(),
                failure: n
                    .children()
                    .find(|c| c.has_tag_name("failure") || c.has_tag_name("error"))
                    .map(|f| f.attribute("message").unwrap_or("").to_string()),
                system_out: child_text("system-out"),
                failure_body: n
                    .children()
                    .filter(|c| c.has_tag_name("failure") || c.has_tag_name("error"))
                    .flat_map(|f| f.descendants().filter_map(|d| d.text()))
                    .collect(),
            }
        })
        .collect()
}

/// Pid files (and eBPF pid records) under `root` written since `since`.
pub fn pid_files(root: &Path, since: std::time::SystemTime, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            pid_files(&p, since, out);
        } else {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let recent = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|m| m >= since);
            if recent
                && (name.ends_with(".pid")
                    || (name.starts_with("ebpf_pid_") && name.ends_with(".txt")))
            {
                out.push(p);
            }
        }
    }
}

/// Is the process recorded in `pid_file` (`PID STARTTIME`) still running?
pub fn recorded_alive(pid_file: &Path) -> bool {
    recorded_running(&std::fs::read_to_string(pid_file).unwrap())
}

/// Waits until an eBPF trial's clients run (their pid file appears).
pub fn wait_for_ebpf_clients(since: std::time::SystemTime) {
    let root = &lab_results("host-client").join("ebpf");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut found = Vec::new();
        pid_files(root, since, &mut found);
        if found
            .iter()
            .any(|p| p.ends_with("client_results/clients.pid"))
        {
            return;
        }
        assert!(Instant::now() < deadline, "clients never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Does the lab's host-server still have a `tbf` qdisc on its test link
/// (a known-answer test's cap left behind)?
pub fn server_has_tbf() -> bool {
    let qd = Command::new("ip")
        .args([
            "netns",
            "exec",
            "ebpf-perf-host-server",
            "tc",
            "qdisc",
            "show",
            "dev",
            "port-storage",
        ])
        .output()
        .expect("tc qdisc show");
    String::from_utf8_lossy(&qd.stdout).contains("tbf")
}

/// Metadata of every trial of the last run, by trial name (from the JUnit paths).
pub fn trial_metadata(cfg: &Path) -> Vec<(String, serde_json::Value)> {
    let text = std::fs::read_to_string(cfg.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            let name = n.attribute("name").unwrap().to_string();
            let out = n.descendants().filter_map(|d| d.text()).collect::<String>();
            let dir = out
                .lines()
                .find_map(|l| {
                    l.strip_prefix("server: ")
                        .and_then(|r| r.split_once(':'))
                        .map(|(_, p)| PathBuf::from(p.split(" (pair ").next().unwrap_or(p)))
                })
                .unwrap_or_else(|| panic!("{name}: no server path in {out}"));
            let leaf = dir.file_name().unwrap().to_string_lossy().into_owned();
            let ts = &leaf[leaf.len() - 15..];
            let meta = std::fs::read_to_string(dir.join(format!("metadata_{ts}.json"))).unwrap();
            (name, serde_json::from_str(&meta).unwrap())
        })
        .collect()
}

/// A seed under which pair 1 of `cycle` (`tool_002_case_3_host`) runs
/// its sides in `order`.
pub fn seed_where(cycle: &str, order: ebpf_perf::schedule::Order) -> String {
    (0u64..)
        .find(|&s| ebpf_perf::schedule::order(s, cycle, 1) == order)
        .unwrap()
        .to_string()
}
