//! Running the matrix for real on the lab: the `perf` harness with real
//! sshd, iperf3, netperf, sar and bpftrace. Tests share the lab's hosts and
//! ports, so they run one at a time.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static LAB: Mutex<()> = Mutex::new(());

use common::{junit, pid_files, recorded_alive, replace_in, wait_for_ebpf_clients, Case};

use common::quick_config as config;

fn perf(cfg: &Path, args: &[&str]) -> (Output, PathBuf) {
    let (o, _) = common::perf_in(cfg, args);
    (o, cfg.join("junit.xml"))
}

/// `server: host:/path (pair N)` and `client: …` lines of a system-out:
/// the trial's last block's directories.
fn paths(out: &str) -> BTreeMap<String, PathBuf> {
    out.lines()
        .filter_map(|l| {
            let (role, rest) = l.split_once(": ")?;
            let (_, path) = rest.split_once(':')?;
            let path = path.split(" (pair ").next()?;
            Some((role.to_string(), PathBuf::from(path)))
        })
        .collect()
}

fn listed(cfg: &Path, args: &[&str]) -> Vec<String> {
    let mut a = vec!["--list"];
    a.extend_from_slice(args);
    common::listed(&perf(cfg, &a).0)
}

#[test]
fn filtered_subset_runs_green_with_junit_and_remote_tree() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = config(|_| {});
    let filter = ["vm", "--skip", "throughput"];
    let expected = listed(cfg.path(), &filter);
    assert_eq!(expected.len(), 8, "{expected:?}");
    let (o, jpath) = perf(cfg.path(), &filter);
    assert!(
        o.status.success(),
        "{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );

    let cases = junit(&jpath);
    // The eBPF trials first (their case's pairs decide them), then the
    // baselines whose blocks those pairs measured.
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    let mut want: Vec<&str> = expected.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(sorted, want);
    assert!(
        names[..4].iter().all(|n| n.starts_with("tool_003")),
        "{names:?}"
    );
    for c in &cases {
        assert!(c.failure.is_none(), "{}: {:?}", c.name, c.failure);
        let cycle = if c.name.starts_with("baseline") {
            "baseline_vm"
        } else {
            "tool_003_case_4_vm"
        };
        assert_eq!(c.classname, format!("ebpf_perf.{cycle}"));
        let head = if c.name.starts_with("baseline") {
            "blocks 2 (in the pairs of 1 case), 1 run a block\n"
        } else {
            "pairs 2 (baseline first in "
        };
        assert!(c.system_out.starts_with(head), "{}", c.system_out);
        if c.name.contains("latency") {
            assert!(
                c.system_out.contains("\nlatency_mean_us median "),
                "{}",
                c.system_out
            );
        } else {
            assert!(c.system_out.contains("\npps median "), "{}", c.system_out);
            assert!(
                c.system_out.contains("\nthroughput_bps median "),
                "{}",
                c.system_out
            );
        }
        if !c.name.starts_with("baseline") {
            assert!(
                c.system_out.contains("\nbaseline baseline::vm::")
                    && c.system_out.contains("\noverhead "),
                "{}",
                c.system_out
            );
        }
        // The remote tree (the lab's hosts share this file system).
        let p = paths(&c.system_out);
        let variant = c.name.rsplit("::").next().unwrap();
        for role in ["server", "client"] {
            let dir = &p[role];
            let leaf = dir.file_name().unwrap().to_str().unwrap();
            let ts = leaf
                .strip_prefix(&format!("{variant}_"))
                .unwrap_or_else(|| panic!("{leaf}"));
            assert!(
                ts.len() == 15
                    && ts.as_bytes()[8] == b'_'
                    && ts.replace('_', "").chars().all(|c| c.is_ascii_digit()),
                "{leaf}"
            );
            assert!(dir.join("monitoring").is_dir(), "{}", dir.display());
            for sub in ["client_results", "server_results", "monitoring"] {
                assert!(
                    dir.join("run_1").join(sub).is_dir(),
                    "{}/run_1/{sub}",
                    dir.display()
                );
            }
            assert_eq!(
                dir.join("run_1/ebpf_monitoring").is_dir(),
                !c.name.starts_with("baseline")
            );
            let meta: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join(format!("metadata_{ts}.json"))).unwrap(),
            )
            .unwrap();
            assert_eq!(meta["execution"]["status"], "success");
            assert_eq!(meta["test_case"]["trial"], c.name.as_str());
            assert!(meta["commands"].as_array().unwrap().len() >= 5);
            assert!(meta["runs"][0]["results"].is_object(), "{meta}");
        }
        let streams = if c.name.contains("multi_2") { 2 } else { 1 };
        let ext = if c.name.contains("latency") {
            "txt"
        } else {
            "json"
        };
        for s in 1..=streams {
            assert!(p["client"]
                .join(format!("run_1/client_results/stream_{s}.{ext}"))
                .is_file());
        }
        assert!(
            p["server"]
                .join("run_1/server_results")
                .read_dir()
                .unwrap()
                .count()
                > 0
        );
    }
    // Case-long files of the eBPF program, and the session summary.
    let case_root = cases
        .iter()
        .find(|c| c.name.starts_with("tool_003"))
        .map(|c| {
            paths(&c.system_out)["server"]
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .to_path_buf()
        })
        .unwrap();
    let mon: Vec<String> = std::fs::read_dir(case_root.join("ebpf_monitoring"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    for prefix in ["tool_output_", "tool_error_", "ebpf_pid_", "ebpf_command_"] {
        assert!(
            mon.iter().any(|f| f.starts_with(prefix)),
            "{prefix} in {mon:?}"
        );
    }
    // Seed 001's per-trial logs: what the program wrote during each eBPF
    // trial, cut from the case-long log, in the trial's server directory.
    // Case directories are the same in every session: this session's is the latest.
    let out_file = mon
        .iter()
        .filter(|f| f.starts_with("tool_output_"))
        .max()
        .unwrap();
    let case_long =
        std::fs::read_to_string(case_root.join("ebpf_monitoring").join(out_file)).unwrap();
    let mut sliced = 0;
    for c in cases.iter().filter(|c| c.name.starts_with("tool_003")) {
        let dir = &paths(&c.system_out)["server"];
        let names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(!names.iter().any(|n| n == ".tool_log_offsets"), "{names:?}");
        let out = names
            .iter()
            .find(|n| n.starts_with("tool_output_"))
            .unwrap_or_else(|| panic!("{}: {names:?}", c.name));
        assert!(
            names.iter().any(|n| n.starts_with("tool_error_")),
            "{names:?}"
        );
        let slice = std::fs::read_to_string(dir.join(out)).unwrap();
        assert!(
            case_long.contains(&slice),
            "{}: not a part of the case's log",
            c.name
        );
        sliced += slice.len();
    }
    // bpftrace prints @rx every second, and the trials take seconds.
    assert!(sliced > 0, "every slice is empty");
    // Seed 001's session summary at the results root.
    let root = case_root
        .ancestors()
        .find(|a| {
            a.file_name()
                .is_some_and(|n| n == "performance-test-results")
        })
        .unwrap();
    let session = ebpf_perf::results::read(&cfg.path().join("results.json"))
        .unwrap()
        .session
        .id;
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(format!("session_summary_{session}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["trials"]["total"], 8, "{summary}");
    // The command as it ran, rendered, next to its output.
    let cmd_file = mon.iter().find(|f| f.starts_with("ebpf_command_")).unwrap();
    let cmd = std::fs::read_to_string(case_root.join("ebpf_monitoring").join(cmd_file)).unwrap();
    assert_eq!(
        cmd,
        "bpftrace -q -e 'tracepoint:net:netif_receive_skb { @rx[cpu] = count(); } interval:s:1 { print(@rx); clear(@rx); }'\n"
    );
    let err = common::stderr(&o);
    assert!(err.contains("8 of 48 trials selected"), "{err}");
    // The results file holds the same trials, judged.
    let r = ebpf_perf::results::read(&cfg.path().join("results.json")).unwrap();
    assert_eq!(r.trials.len(), 8);
    assert!(r
        .trials
        .iter()
        .all(|t| t.status == ebpf_perf::results::Status::Passed));
}

/// The default config with case 2's command run after `prefix` (a shell
/// fragment that fails or never loads a BPF program).
fn case_2_prefixed(prefix: &str) -> tempfile::TempDir {
    config(|d| {
        replace_in(
            &d.join("ebpf-cases.json"),
            "\"command\": \"bpftrace -q -e 'tracepoint:net:netif_receive_skb { @len",
            &format!(
                "\"command\": \"{prefix}bpftrace -q -e 'tracepoint:net:netif_receive_skb {{ @len"
            ),
        )
    })
}

/// The JUnit cases of `host tcp_rr --skip baseline`: exactly its trials,
/// case by case, then the baseline they are compared with.
fn host_tcp_rr_trials(jpath: &Path) -> Vec<Case> {
    let cases = junit(jpath);
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "tool_001::case_1::host::latency::tcp_rr",
            "tool_001::case_2::host::latency::tcp_rr",
            "tool_002::case_3::host::latency::tcp_rr",
            "baseline::host::latency::tcp_rr",
        ]
    );
    cases
}

#[test]
fn a_case_whose_program_exits_fails_exactly_its_trials() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = case_2_prefixed("echo 'probe attach failed' >&2; exit 3; ");
    let (o, jpath) = perf(cfg.path(), &["host", "tcp_rr", "--skip", "baseline"]);
    assert!(!o.status.success());
    let cases = host_tcp_rr_trials(&jpath);
    assert!(cases[0].failure.is_none(), "{:?}", cases[0].failure);
    let f = cases[1].failure.as_deref().expect("case 2 fails");
    assert!(f.contains("exited with status 3"), "{f}");
    for want in [
        "step: eBPF program",
        "host: host-server",
        "exit code: 3",
        "probe attach failed",
    ] {
        assert!(
            cases[1].failure_body.contains(want),
            "{want:?} in {}",
            cases[1].failure_body
        );
    }
    assert!(
        cases[2].failure.is_none(),
        "the next case still runs: {:?}",
        cases[2].failure
    );
}

/// What a hostile tool prints on stderr: a CDATA terminator with a forged
/// testcase, every control character, invalid UTF-8, `\r`, and Markdown
/// that would link, embed, mention and head a section.
const HOSTILE: &str = r#"printf ']]></failure></testcase><testcase name="injected"/><![CDATA[\n' >&2
printf '\000\001\002\003\004\005\006\007\010\011\013\014\015\016\017\020\021\022\023\024\025\026\027\030\031\032\033\034\035\036\037|\n' >&2
printf '\033[31mred\033[0m \377\376 not utf-8 \r over\n' >&2
printf '[click](https://evil.example) ![img](https://evil.example/x.png) @org/team\n# heading\n' >&2
exit 3
"#;

/// Text of a Markdown document outside its code spans.
fn outside_code_spans(md: &str) -> String {
    let mut out = String::new();
    let mut rest = md;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let fence = rest[start..].chars().take_while(|c| *c == '`').count();
        let after = &rest[start + fence..];
        let close = after.find(&"`".repeat(fence)).expect("code span closed");
        rest = &after[close + fence..];
    }
    out + rest
}

#[test]
fn hostile_output_of_a_tool_leaves_junit_well_formed_and_the_summary_inert() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let scripts = tempfile::tempdir().unwrap();
    let script = scripts.path().join("hostile.sh");
    std::fs::write(&script, HOSTILE).unwrap();
    let cfg = case_2_prefixed(&format!("sh {}; exit 3; ", script.display()));
    let (o, jpath) = perf(cfg.path(), &["host", "tcp_rr", "--skip", "baseline"]);
    assert!(!o.status.success());
    // JUnit: well-formed (an independent parser reads it), exactly the trials.
    let cases = host_tcp_rr_trials(&jpath);
    let body = &cases[1].failure_body;
    assert!(
        body.contains(r#"]]></failure></testcase><testcase name="injected"/>"#),
        "the tool's words are kept, as text: {body}"
    );
    assert!(
        body.contains("\\x1b[31mred") && body.contains("\\x00\\x01"),
        "{body}"
    );
    let xml = std::fs::read_to_string(&jpath).unwrap();
    assert!(!xml.chars().any(|c| c.is_control() && !"\n\t\r".contains(c)));
    // The summary is inert: what the tool said stands only in code spans.
    let md = std::fs::read_to_string(cfg.path().join("summary.md")).unwrap();
    assert!(md.contains("evil.example"), "the failure is listed: {md}");
    let live = outside_code_spans(&md);
    for bad in ["evil.example", "@org", "](", "# heading", "\u{1b}", "\r"] {
        assert!(!live.contains(bad), "{bad:?} is live in summary.md:\n{md}");
    }
    // The terminal sees control characters, made visible.
    let said = format!("{}{}", common::stdout(&o), common::stderr(&o));
    assert!(said.contains("\\x1b[31mred"), "{said}");
    assert!(
        !said.contains('\u{1b}') && !said.contains('\u{1}'),
        "{said:?}"
    );
}

#[test]
fn a_program_that_never_attaches_fails_its_case_unless_allowed() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    // Runs, but loads no BPF program: measuring it would report a baseline.
    // It is given 3 s to attach, not the default 20.
    let cfg = case_2_prefixed("sleep 600; ");
    replace_in(
        &cfg.path().join("ebpf-cases.json"),
        "\"id\": 2,",
        "\"id\": 2, \"attach_timeout_s\": 3,",
    );
    let started = std::time::SystemTime::now();
    let (o, jpath) = perf(cfg.path(), &["case_2", "tcp_rr"]);
    assert!(!o.status.success());
    let cases = junit(&jpath);
    let c = cases.iter().find(|c| c.name.contains("case_2")).unwrap();
    let f = c.failure_body.as_str();
    for want in [
        "case 2 attached no BPF program within 3s",
        "attach_timeout_s",
        "\"allow_no_bpf\": true",
        "host: host-server",
    ] {
        assert!(f.contains(want), "{want:?} in {f}");
    }
    // Its program was stopped by PID at teardown.
    let mut pids = Vec::new();
    pid_files(&common::lab_hosts(), started, &mut pids);
    assert!(!pids.is_empty());
    for p in &pids {
        assert!(!recorded_alive(p), "{} still running", p.display());
    }
    // A tool that loads none says so, and its case runs.
    replace_in(
        &cfg.path().join("ebpf-cases.json"),
        "\"id\": 2,",
        "\"id\": 2, \"allow_no_bpf\": true,",
    );
    let (o, _) = perf(cfg.path(), &["case_2", "tcp_rr"]);
    assert!(o.status.success(), "{}", common::stdout(&o));
}

/// The default config with multi-stream tests of `secs` seconds.
fn long_multi_stream(secs: u32) -> tempfile::TempDir {
    config(|d| common::long_multi_stream_in(d, secs))
}

/// A seed under which pair 1 of `cycle` runs its baseline side first.
fn baseline_first(cycle: &str) -> String {
    common::seed_where(cycle, ebpf_perf::schedule::Order::BaselineFirst)
}

#[test]
fn sigint_during_a_trial_stops_everything_and_writes_junit() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    // A long test, so that Ctrl-C arrives while clients, servers and the
    // eBPF program (on both hosts) run.
    let cfg = long_multi_stream(8);
    // Background hook tasks of the case and of the test run too; Ctrl-C
    // stops them by PID like the rest.
    std::fs::write(
        cfg.path().join("hooks.yaml"),
        "hooks:\n  case:\n    setup:\n      - {name: case_bg, background: true, run: \"sleep 600.201\"}\n  test:\n    setup:\n      - {name: test_bg, on: client, background: true, run: \"trap '' TERM; sleep 600.202\"}\n",
    )
    .unwrap();
    // A seed whose first pair runs the baseline side first: the interrupt
    // then finds a baseline block done and the tool's block running.
    let seed = baseline_first("tool_002_case_3_host");
    let since = std::time::SystemTime::now();
    let junit_path = cfg.path().join("junit.xml");
    let child = common::spawn_perf(
        cfg.path(),
        &["case_3", "throughput", "multi_2_tcp", "--seed", &seed],
    );
    // Wait until the clients run (their pid file appears), then press Ctrl-C.
    wait_for_ebpf_clients(since);
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    // SAFETY: signalling our own child by its PID.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "teardown took {:?}",
        t.elapsed()
    );
    let cases = junit(&junit_path);
    // The eBPF trial was interrupted in its tool block; its baseline has a
    // block but no verdict: both say so.
    assert_eq!(cases.len(), 2, "{cases:?}");
    assert_eq!(
        cases[0].name,
        "tool_002::case_3::host::throughput::multi_2_tcp"
    );
    assert_eq!(cases[1].name, "baseline::host::throughput::multi_2_tcp");
    for c in &cases {
        let f = c.failure.as_deref().unwrap_or("");
        assert!(f.contains("interrupted"), "{}: {f:?}", c.name);
    }
    let r = ebpf_perf::results::read(&cfg.path().join("results.json")).unwrap();
    assert!(
        r.session.interrupted,
        "the results file says the run was interrupted"
    );
    assert_eq!(r.trials.len(), 2);
    let base = common::trial(&r, "baseline::host::throughput::multi_2_tcp");
    assert_eq!(base.blocks.len(), 1, "the baseline block of pair 1 is kept");
    // Every process the run started, on every lab host, by its recorded PID.
    let mut files = Vec::new();
    pid_files(&common::lab_hosts(), since, &mut files);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().filter(|n| n.starts_with("ebpf_pid_")).count() == 2,
        "one episode of the eBPF program, on both hosts: {names:?}"
    );
    assert!(
        names.iter().any(|n| n == "clients.pid") && names.iter().any(|n| n.starts_with("server_")),
        "{names:?}"
    );
    // Background tasks: the case's on both hosts, the test's on the client
    // of both blocks (one of them ignoring TERM).
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("hook_case_bg_"))
            .count(),
        2,
        "{names:?}"
    );
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("hook_test_bg_"))
            .count(),
        2,
        "{names:?}"
    );
    for f in &files {
        assert!(!recorded_alive(f), "{} is still running", f.display());
    }
}

#[test]
fn failing_setup_tears_down_what_was_set_up() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let marks = tempfile::tempdir().unwrap();
    let m = marks.path().display().to_string();
    let cfg = config(|d| {
        std::fs::write(
            d.join("hooks.yaml"),
            format!(
                "hooks:\n  tool:\n    setup:\n      - {{name: mark, on: server, run: \"touch {m}/tool_setup\"}}\n    teardown:\n      - {{name: unmark, on: server, run: \"touch {m}/tool_teardown\"}}\n  test:\n    setup:\n      - {{name: fail, on: client, when: ebpf, run: \"echo no-go >&2; exit 7\"}}\n"
            ),
        )
        .unwrap();
    });
    let since = std::time::SystemTime::now();
    // Pair 1 runs the baseline blocks first: they are measured before the
    // tool blocks fail.
    let seed = baseline_first("tool_001_case_1_host");
    let (o, jpath) = perf(cfg.path(), &["case_1", "latency", "--seed", &seed]);
    assert!(!o.status.success());
    let cases = junit(&jpath);
    // Case 1's trials fail in their first tool block; the baselines (the
    // failing task is `when: ebpf`) pass with the block they had.
    assert_eq!(cases.len(), 4);
    assert!(cases[2..].iter().all(|c| c.failure.is_none()), "{cases:?}");
    for c in &cases[..2] {
        let f = c.failure.as_deref().unwrap();
        assert!(
            f.contains("hook test.setup.fail") && f.contains("exited with 7"),
            "{f}"
        );
        for want in [
            "step: hook test.setup.fail",
            "host: host-client",
            "exit code: 7",
            "no-go",
        ] {
            assert!(
                c.failure_body.contains(want),
                "{want:?} in {}",
                c.failure_body
            );
        }
    }
    // The tool layer was set up and torn down; the eBPF program (set up by
    // the case layer before the failing test step) was stopped.
    assert!(Path::new(&format!("{m}/tool_setup")).exists());
    assert!(Path::new(&format!("{m}/tool_teardown")).exists());
    let mut files = Vec::new();
    pid_files(
        &common::lab_results("host-server").join("ebpf"),
        since,
        &mut files,
    );
    let ebpf: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("ebpf_pid_")
        })
        .filter(|f| f.to_string_lossy().contains("/tool_001_case_1_"))
        .collect();
    assert_eq!(ebpf.len(), 1, "{files:?}");
    assert!(!recorded_alive(ebpf[0]));
    // Servers were never started: the user's setup task runs before them.
    assert!(
        !files
            .iter()
            .any(|f| f.to_string_lossy().contains("server_results")),
        "{files:?}"
    );
}

#[test]
fn shell_metacharacters_in_config_values_reach_commands_verbatim() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let value = "it's \"x\"; touch /tmp/ebpf-perf-injected-run $(id) `id` & |";
    let cfg = config(|d| {
        replace_in(
            &d.join("test-env-config.yaml"),
            "    client:\n      ssh_ref: \"vm-client\"",
            &format!(
                "    vars:\n      title: {}\n    client:\n      ssh_ref: \"vm-client\"",
                serde_json::to_string(value).unwrap()
            ),
        );
        // The host environment needs the var too: baseline templates use it.
        replace_in(
            &d.join("test-env-config.yaml"),
            "    client:\n      ssh_ref: \"host-client\"",
            &format!(
                "    vars:\n      title: {}\n    client:\n      ssh_ref: \"host-client\"",
                serde_json::to_string(value).unwrap()
            ),
        );
        replace_in(
            &d.join("performance-test-spec.yaml"),
            "-t {duration} -b {target_bw} -J\"",
            "-t {duration} -b {target_bw} -J --title {title}\"",
        );
    });
    let (o, jpath) = perf(cfg.path(), &["baseline", "vm", "single_tcp_1G"]);
    assert!(
        o.status.success(),
        "{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );
    let cases = junit(&jpath);
    let client = &paths(&cases[0].system_out)["client"];
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(client.join("run_1/client_results/stream_1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["title"], value, "iperf3 received the value verbatim");
    assert!(!Path::new("/tmp/ebpf-perf-injected-run").exists());
}

#[test]
fn layers_run_in_order_and_only_where_selected() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let logd = tempfile::tempdir().unwrap();
    let log = logd.path().join("layers.log");
    let l = log.display().to_string();
    // Each task appends `layer phase host [extra]`; the case setup task also
    // records whether an eBPF program already runs in its case directory (it
    // must not: user setup tasks come before the built-in steps), and the test
    // teardown task whether the servers still run (they must not: user
    // teardown tasks come after the built-in steps).
    let hooks = format!(
        "hooks:\n\
         \x20 global:\n    setup: [{{name: g, run: \"echo global setup {{host}} >> {l}\"}}]\n    teardown: [{{name: g, run: \"echo global teardown {{host}} >> {l}\"}}]\n\
         \x20 tool:\n    setup: [{{name: t, on: server, run: \"echo tool setup {{tool_id}} >> {l}\"}}]\n    teardown: [{{name: t, on: server, run: \"echo tool teardown {{tool_id}} >> {l}\"}}]\n\
         \x20 case:\n    setup: [{{name: c, on: server, run: \"echo case setup {{cycle}} $(ls {{result_dir}}/ebpf_monitoring 2>/dev/null | grep -c 'ebpf_pid_.*txt$') >> {l}\"}}]\n    teardown: [{{name: c, on: server, run: \"echo case teardown {{cycle}} >> {l}\"}}]\n\
         \x20 test:\n    setup: [{{name: s, on: server, run: \"echo test setup {{variant}} >> {l}\"}}]\n    teardown: [{{name: s, on: server, run: \"echo test teardown {{variant}} $(cat {{result_dir}}/../run_1/server_results/server_1.pid | (read p t; s=$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null); if [ -z \\\"$s\\\" ] || [ $s = Z ]; then echo server-stopped; else echo server-running; fi)) >> {l}\"}}]\n"
    );
    let cfg = config(|d| std::fs::write(d.join("hooks.yaml"), hooks).unwrap());
    // The eBPF program of case 1 is new in this session: count its pid files first.
    let (o, jpath) = perf(cfg.path(), &["case_1", "latency"]);
    assert!(
        o.status.success(),
        "{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );
    // Case 1's two trials, then the two baselines they are compared with.
    assert_eq!(junit(&jpath).len(), 4);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let pos = |want: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(want))
            .unwrap_or_else(|| panic!("{want:?} not in\n{text}"))
    };
    // The n-th line starting with `want`.
    let nth = |want: &str, n: usize| {
        lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.starts_with(want))
            .nth(n)
            .map(|(i, _)| i)
            .unwrap_or_else(|| panic!("{want:?} #{n} not in\n{text}"))
    };
    // Global on exactly the host environment's hosts; no vm host, no other tool or case.
    assert!(
        text.contains("global setup host-server") && text.contains("global setup host-client"),
        "{text}"
    );
    assert!(!text.contains("vm-"), "{text}");
    assert_eq!(text.matches("tool setup").count(), 1, "{text}");
    assert!(text.contains("tool setup tool_001"));
    // The baselines are measured in the case's pairs: one case scope.
    assert_eq!(text.matches("case setup").count(), 1, "{text}");
    // One test scope per block: 2 trials × 2 pairs × 2 sides.
    assert_eq!(text.matches("test setup").count(), 8, "{text}");
    // Nesting: global < tool < case < tests < case teardown < tool
    // teardown < global teardown.
    let order = [
        pos("global setup"),
        pos("tool setup"),
        pos("case setup tool_001_case_1_host"),
        nth("test setup tcp_rr", 0),
        nth("test teardown tcp_rr", 0),
        nth("test setup udp_rr", 0),
        nth("test teardown udp_rr", 0),
        nth("test setup udp_rr", 3),
        pos("case teardown tool_001_case_1_host"),
        pos("tool teardown"),
        pos("global teardown"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{text}");
    // User setup before the built-in start of the eBPF program; user test
    // teardown after the built-in stop of the servers.
    let case_line = lines[pos("case setup tool_001_case_1_host")];
    let running_before: usize = case_line.rsplit(' ').next().unwrap().parse().unwrap();
    let pid_files_after = std::fs::read_dir(
        common::lab_results("host-server")
            .join("ebpf")
            .read_dir()
            .unwrap()
            .flatten()
            .find(|e| {
                // The default config's case 1 (protocol all, direction tx):
                // other configurations' case 1 may lie next to it.
                e.file_name()
                    .to_string_lossy()
                    .starts_with("tool_001_case_1_all_tx_")
            })
            .unwrap()
            .path()
            .join("host/ebpf_monitoring"),
    )
    .unwrap()
    .flatten()
    .filter(|e| {
        e.file_name().to_string_lossy().starts_with("ebpf_pid_")
            && e.file_name().to_string_lossy().ends_with(".txt")
    })
    .count();
    // One program start per pair (its episode), both after the case's
    // setup task.
    assert_eq!(
        pid_files_after,
        running_before + 2,
        "the case's setup task ran before its eBPF program started"
    );
    for l in lines.iter().filter(|l| l.starts_with("test teardown")) {
        assert!(l.ends_with("server-stopped"), "{l}\n{text}");
    }
}

#[test]
fn a_failed_case_fails_its_remaining_trials_at_once() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = case_2_prefixed("exit 4; ");
    // Pair 1 measures the baselines first; then the tool fails to start.
    let seed = baseline_first("tool_001_case_2_host");
    let (o, _) = perf(
        cfg.path(),
        &["case_2", "--skip", "latency", "--seed", &seed],
    );
    assert!(!o.status.success());
    let out = common::stdout(&o);
    // 6 trials of case 2, all failed with the program's exit at once, no
    // retries; their 6 baselines pass with the block they had.
    assert_eq!(out.matches("exited with status 4").count(), 6, "{out}");
    assert!(out.contains("6 passed; 6 failed"), "{out}");
    // No retries: each of the case's trials has the baseline block of pair
    // 1 and no tool block.
    let r = ebpf_perf::results::read(&cfg.path().join("results.json")).unwrap();
    let case_2: Vec<_> = r
        .trials
        .iter()
        .filter(|t| t.name.starts_with("tool_001::case_2::"))
        .collect();
    assert_eq!(case_2.len(), 6);
    for t in case_2 {
        let sides: Vec<_> = t.blocks.iter().map(|b| (b.pair, b.side)).collect();
        assert_eq!(
            sides,
            [(1, ebpf_perf::results::Side::Baseline)],
            "{}",
            t.name
        );
    }
}

#[test]
fn quiet_and_threads_are_passed_to_libtest_but_trials_stay_serial() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = config(|_| {});
    let (o, jpath) = perf(
        cfg.path(),
        &["-q", "--test-threads", "8", "baseline", "vm", "latency"],
    );
    let out = common::stdout(&o);
    assert!(o.status.success(), "{out}");
    // Terse output: one character per trial, no per-trial lines.
    assert!(out.contains(".."), "{out}");
    assert!(!out.contains("test baseline"), "{out}");
    // Serial: measured alone, the two baselines take turns, block by
    // block, and no two blocks overlap in time.
    let cases = junit(&jpath);
    assert_eq!(
        cases.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        [
            "baseline::vm::latency::tcp_rr",
            "baseline::vm::latency::udp_rr"
        ]
    );
    let r = ebpf_perf::results::read(&cfg.path().join("results.json")).unwrap();
    let mut spans: Vec<(String, String, &str)> = r
        .trials
        .iter()
        .flat_map(|t| {
            t.blocks
                .iter()
                .map(move |b| (b.start.clone(), b.end.clone(), t.variant.as_str()))
        })
        .collect();
    spans.sort();
    assert_eq!(spans.len(), 4, "{spans:?}");
    assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "{spans:?}");
    let order: Vec<&str> = spans.iter().map(|s| s.2).collect();
    assert_eq!(order, ["tcp_rr", "udp_rr", "tcp_rr", "udp_rr"]);
}

/// Is any process on this machine running with exactly this argument? (Read
/// only: the lab's hosts share this process table.)
fn running_with_arg(arg: &str) -> Vec<u32> {
    use ebpf_perf::host::proc;
    proc::pids()
        .into_iter()
        .filter(|&pid| proc::cmdline(pid).iter().any(|a| a == arg))
        .collect()
}

#[test]
fn hung_commands_end_at_their_timeout_with_their_process_group() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    // A hook that never returns, and leaves a background child in its group.
    let hook = config(|d| {
        std::fs::write(
            d.join("hooks.yaml"),
            "hooks:\n  test:\n    setup:\n      - {name: hang, on: server, timeout: 3, run: \"sleep 600.101 & sleep 600.102\"}\n",
        )
        .unwrap();
    });
    let t = std::time::Instant::now();
    let (o, jpath) = perf(hook.path(), &["--exact", "baseline::host::latency::tcp_rr"]);
    assert!(!o.status.success());
    assert!(
        t.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        t.elapsed()
    );
    let c = &junit(&jpath)[0];
    for want in [
        "sleep 600.101 & sleep 600.102",
        "timed out after 3",
        "host: host-server",
    ] {
        assert!(
            c.failure_body.contains(want),
            "{want:?} in {}",
            c.failure_body
        );
    }
    // A server that never listens.
    let server = config(|d| {
        replace_in(
            &d.join("performance-test-spec.yaml"),
            "server_cmd: \"netserver -L {server_ip} -p {port} -D\"",
            "server_cmd: \"sleep 600.103\"",
        )
    });
    let (o, jpath) = perf(
        server.path(),
        &["--exact", "baseline::host::latency::tcp_rr"],
    );
    assert!(!o.status.success());
    let c = &junit(&jpath)[0];
    for want in [
        "is not listening after 10 s",
        "sleep 600.103",
        "host: host-server",
    ] {
        assert!(
            c.failure_body.contains(want),
            "{want:?} in {}",
            c.failure_body
        );
    }
    // Nothing of either is left running.
    std::thread::sleep(std::time::Duration::from_millis(500));
    for arg in ["600.101", "600.102", "600.103"] {
        assert!(
            running_with_arg(arg).is_empty(),
            "sleep {arg} still runs: {:?}",
            running_with_arg(arg)
        );
    }
}

#[test]
fn a_run_killed_hard_is_cleaned_up_by_the_next_run() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = long_multi_stream(20);
    let since = std::time::SystemTime::now();
    let mut child = common::spawn_perf(cfg.path(), &["case_3", "throughput", "multi_2_tcp"]);
    // Wait until the eBPF trial's clients run, then SIGKILL the harness.
    wait_for_ebpf_clients(since);
    child.kill().unwrap();
    child.wait().unwrap();
    // What it started keeps running: the eBPF program on both hosts at least.
    let mut files = Vec::new();
    pid_files(&common::lab_hosts(), since, &mut files);
    let left: Vec<&PathBuf> = files.iter().filter(|f| recorded_alive(f)).collect();
    assert!(
        left.iter()
            .filter(|f| f
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("ebpf_pid_"))
            .count()
            == 2,
        "{left:?}"
    );
    // The next run stops them in its global setup, says so, and runs clean.
    let (o, jpath) = perf(cfg.path(), &["--exact", "baseline::host::latency::tcp_rr"]);
    let err = common::stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(junit(&jpath)[0].failure.is_none());
    assert!(err.contains("was stale"), "{err}");
    for f in &left {
        assert!(!recorded_alive(f), "{} still runs", f.display());
        // Clients may end on their own once their servers are stopped; the
        // eBPF programs and monitors never do, so they must have been stopped.
        let name = f.file_name().unwrap().to_string_lossy();
        if name.starts_with("ebpf_pid_") || name.starts_with("monitor_") {
            assert!(
                err.contains(&*f.display().to_string()),
                "{} not named in\n{err}",
                f.display()
            );
        }
    }
    // Its lease is given back: a second run finds the hosts free.
    for h in ["host-server", "host-client"] {
        assert!(
            !common::lab_hosts()
                .join(format!("{h}/.ebpf-perf/lease"))
                .exists(),
            "{h} lease left"
        );
    }
}

#[test]
fn with_no_wait_a_host_held_by_a_live_run_is_refused_and_hosts_clean_says_so() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = config(|_| {});
    // A live owner: this test process itself.
    let me = ebpf_perf::run::leftovers::Owner::me("20261122_999999");
    let lease = common::lab_hosts().join("host-server/.ebpf-perf/lease");
    std::fs::write(&lease, me.text()).unwrap();
    let (o, jpath) = perf(
        cfg.path(),
        &["--exact", "baseline::host::latency::tcp_rr", "--no-wait"],
    );
    let _ = std::fs::remove_file(&lease);
    assert!(!o.status.success());
    let f = &junit(&jpath)[0].failure_body;
    for want in [
        "host-server is in use by session 20261122_999999",
        &format!("PID {}", std::process::id()),
        "ebpf-perf hosts clean --force",
    ] {
        assert!(f.contains(want), "{want:?} in {f}");
    }
    // With the lease gone, `hosts clean` finds nothing left.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ebpf-perf"))
        .args(["hosts", "clean", "--config-dir"])
        .arg(cfg.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains("host-server: nothing left running"),
        "{}",
        common::stdout(&out)
    );
}

#[test]
fn a_second_run_on_held_hosts_waits_for_the_first_or_fails_at_once_with_no_wait() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let trial = "baseline::host::latency::tcp_rr";
    let cfgs: Vec<tempfile::TempDir> = (0..3)
        .map(|_| {
            common::lab_config(5, |d| {
                common::fixed_pairs_in(d, 2);
                common::no_budgets_in(d)
            })
        })
        .collect();
    let lease = common::lab_hosts().join("host-server/.ebpf-perf/lease");
    assert!(!lease.exists(), "a run holds the lab already");
    let first = common::spawn_perf(cfgs[0].path(), &["--exact", trial]);
    let until = Instant::now() + Duration::from_secs(60);
    while !lease.exists() {
        assert!(Instant::now() < until, "the first run never took its lease");
        std::thread::sleep(Duration::from_millis(50));
    }
    // --no-wait: refused at once, naming the run that holds the host.
    let (o, jpath) = perf(cfgs[1].path(), &["--exact", trial, "--no-wait"]);
    assert!(!o.status.success());
    let f = &junit(&jpath)[0].failure_body;
    assert!(f.contains("is in use by session"), "{f}");
    // By default: waits, says for whom, and runs once the first is done.
    let (o, _) = perf(cfgs[2].path(), &["--exact", trial]);
    let err = common::stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("is in use by session") && err.contains("waiting for it to end"),
        "{err}"
    );
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", common::stderr(&first));
    let run_of = |d: &tempfile::TempDir| {
        let r = ebpf_perf::results::read(&d.path().join("results.json")).unwrap();
        let run = common::trial(&r, trial).runs().next().unwrap().clone();
        run
    };
    let (a, b) = (run_of(&cfgs[0]), run_of(&cfgs[2]));
    assert!(
        a.end <= b.start,
        "the runs overlapped: {}..{} and {}..{}",
        a.start,
        a.end,
        b.start,
        b.end
    );
    assert!(!lease.exists(), "the lease is given back");
}

#[test]
fn hosts_are_checked_only_for_the_tools_the_selected_trials_use() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    // Single-stream TCP throughput clients need a program no host has.
    let cfg = config(|d| {
        replace_in(
            &d.join("performance-test-spec.yaml"),
            "client_cmd_tcp: \"iperf3 -c",
            "client_cmd_tcp: \"iperf3-not-installed -c",
        )
    });
    let (o, _) = perf(cfg.path(), &["--exact", "baseline::host::latency::tcp_rr"]);
    assert!(
        o.status.success(),
        "latency needs no iperf3: {}",
        common::stderr(&o)
    );
    let (o, jpath) = perf(
        cfg.path(),
        &["--exact", "baseline::host::throughput::single_tcp_1G"],
    );
    assert!(!o.status.success());
    let f = &junit(&jpath)[0].failure_body;
    assert!(f.contains("host-client: iperf3-not-installed"), "{f}");
    assert!(!f.contains("host-server: iperf3-not-installed"), "{f}");
}

#[test]
fn the_seeds_sar_cmd_with_a_redirect_runs_as_written() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    // The seeds write `sar ... > {result_file}` themselves; every
    // placeholder validation accepts for sar_cmd is filled.
    let cfg = config(|d| {
        replace_in(
            &d.join("performance-test-spec.yaml"),
            "sar_cmd: \"sar -n DEV 1 {duration}\"",
            "sar_cmd: \"echo {port} {stream} {streams} {target_bw} {protocol} {result_dir} >&2; sar -n DEV 1 {duration} > {result_file}\"",
        )
    });
    let (o, results) = common::perf_in(cfg.path(), &["baseline", "host", "pps"]);
    assert!(
        o.status.success(),
        "{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );
    let r = ebpf_perf::results::read(&results).unwrap();
    assert!(!r.trials.is_empty());
    for t in &r.trials {
        let run = t.runs().next().unwrap();
        let pps = run.metrics.get("pps").copied().unwrap_or(0.0);
        assert!(pps > 0.0, "{}: {:?}", t.name, run.metrics);
        // The file sar wrote, renamed from .part once read; the placeholders
        // it echoed, filled.
        let dir = run.dirs[0].split_once(':').unwrap().1;
        let mon = Path::new(dir).join("monitoring");
        let names: Vec<String> = std::fs::read_dir(&mon)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let sar = names
            .iter()
            .find(|n| n.starts_with("sar_dev_") && n.ends_with(".log"))
            .unwrap_or_else(|| panic!("{names:?}"));
        assert!(std::fs::read_to_string(mon.join(sar))
            .unwrap()
            .contains("IFACE"));
        assert!(!names.iter().any(|n| n.ends_with(".part")), "{names:?}");
        let err = std::fs::read_to_string(mon.join(format!("{sar}.err"))).unwrap();
        assert!(err.starts_with("5301 1 2 50M "), "{err}");
        assert!(err.trim_end().ends_with(dir), "{err}");
    }
}

/// `--duration` and `--warmup` need no YAML edit: every run lasts the
/// duration, and the warm-up runs are measured and set apart.
#[test]
fn duration_and_warmup_override_the_spec() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = config(|_| {});
    let (o, path) = common::perf_in(
        cfg.path(),
        &[
            "--exact",
            "baseline::vm::latency::tcp_rr",
            "--duration",
            "2",
            "--warmup",
            "1",
        ],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let r = ebpf_perf::results::read(&path).unwrap();
    let t = &r.trials[0];
    // Every block starts with its warm-up.
    assert!(t.blocks.iter().all(|b| b.warmups.len() == 1));
    let at = |s: &str| {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.9f")
            .unwrap()
            .and_utc()
            .timestamp_millis()
    };
    for run in t
        .blocks
        .iter()
        .flat_map(|b| b.runs.iter().chain(&b.warmups))
    {
        let ms = at(&run.end) - at(&run.start);
        assert!((2000..3000).contains(&ms), "a run of {ms} ms, not 2 s");
    }
    let bad = common::perf_in(cfg.path(), &["--list", "--duration", "0"]).0;
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        common::stderr(&bad).contains("--duration takes a whole number of seconds"),
        "{}",
        common::stderr(&bad)
    );
}

/// On a terminal (a pseudo-terminal from `script`), a live line says which
/// trial of how many runs, the time so far, the time left and how long the
/// trial has run, redrawn each second, and is erased for the trial's line;
/// piped, the same run has no live line.
#[test]
fn a_terminal_shows_a_live_line_that_pipes_do_not() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = common::quick_config(|_| {});
    let c = cfg.path().display().to_string();
    let q = |s: &str| ebpf_perf::shell::quote(s).into_owned();
    let cmd = [
        common::perf_exe().display().to_string(),
        "--config-dir".into(),
        c.clone(),
        "--results".into(),
        format!("{c}/results.json"),
        "--junit".into(),
        format!("{c}/junit.xml"),
        "--exact".into(),
        "baseline::host::latency::tcp_rr".into(),
        "--repeat".into(),
        "3".into(),
    ]
    .map(|a| q(&a))
    .join(" ");
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(common::repo())
        .env_remove("NEXTEST_RUN_ID")
        .env("TERM", "xterm")
        .output()
        .expect("script (bsdutils) runs the harness on a pseudo-terminal");
    let tty = common::stdout(&o);
    assert!(o.status.success(), "{tty}");
    // libtest's `test NAME ... ` stays in front of each redraw.
    let live = "\r\x1b[Ktest baseline::host::latency::tcp_rr ... [1/1] ";
    let draws = tty.matches(live).count();
    assert!(draws >= 3, "{draws} draws in {tty:?}");
    assert!(tty.contains(", this trial 2s"), "{tty:?}");
    assert!(tty.contains(" → ") && tty.contains("ok"), "{tty:?}");
    let (piped, _) = common::perf_in(
        cfg.path(),
        &[
            "--exact",
            "baseline::host::latency::tcp_rr",
            "--repeat",
            "3",
        ],
    );
    let err = common::stderr(&piped);
    assert!(piped.status.success(), "{err}");
    assert!(
        !err.contains("\x1b[K") && !err.contains("this trial"),
        "{err}"
    );
    assert!(err.contains("[1/1] "), "{err}");
}

/// Seed 001 §3.3's pps command as written: `| grep {interface}` drops sar's
/// header lines, and the trial still measures packets per second.
#[test]
fn the_seeds_grepped_sar_line_measures_pps() {
    let Some(_) = common::lab() else { return };
    let _g = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = config(|d| {
        replace_in(
            &d.join("performance-test-spec.yaml"),
            "sar_cmd: \"sar -n DEV 1 {duration}\"",
            "sar_cmd: \"sar -n DEV 1 {duration} | grep {interface} > {result_file}\"",
        )
    });
    let (o, results) = common::perf_in(cfg.path(), &["baseline", "host", "pps", "tcp"]);
    assert!(
        o.status.success(),
        "{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );
    let r = ebpf_perf::results::read(&results).unwrap();
    assert!(!r.trials.is_empty());
    for t in &r.trials {
        let run = t.runs().next().unwrap();
        let pps = run.metrics.get("pps").copied().unwrap_or(0.0);
        assert!(pps > 1000.0, "{}: {:?}", t.name, run.metrics);
        let dir = run.dirs[0].split_once(':').unwrap().1;
        let mon = Path::new(dir).join("monitoring");
        let sar = std::fs::read_dir(&mon)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.starts_with("sar_dev_") && n.ends_with(".log")
            })
            .unwrap();
        let text = std::fs::read_to_string(&sar).unwrap();
        assert!(
            !text.contains("IFACE") && text.contains("Average:"),
            "{text}"
        );
    }
}
