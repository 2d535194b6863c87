//! `ebpf-perf import --hooks` on seed 001 §4.2's hook blocks as printed
//! (tests/data/seed/001-4.2-*.yaml, verbatim), on variants of them, and on
//! wrong ones. `tests/seed_hooks_lab.rs` runs the result on the lab.

mod common;

use common::{ebpf_perf, stderr};
use ebpf_perf::config::{self, HookTask, Shell, When};

const BLOCKS: [&str; 4] = [
    "tests/data/seed/001-4.2-model.yaml",
    "tests/data/seed/001-4.2-A-init-hooks.yaml",
    "tests/data/seed/001-4.2-B-post-hooks.yaml",
    "tests/data/seed/001-4.2-C-custom-hooks.yaml",
];

/// Imports `files` into a copy of the lab configuration: its output, the
/// hooks.yaml text and the loaded (validated) configuration.
fn import(files: &[&str]) -> (std::process::Output, String, Option<config::Config>) {
    let d = common::copy_dir(&common::repo().join("config"));
    let mut args = vec!["import", "--force", "--out", d.path().to_str().unwrap()];
    for f in files {
        args.extend(["--hooks", f]);
    }
    let o = ebpf_perf(&args);
    let text = std::fs::read_to_string(d.path().join("hooks.yaml")).unwrap_or_default();
    let cfg = o
        .status
        .success()
        .then(|| config::load(d.path()).unwrap_or_else(|e| panic!("{e}\n{text}")));
    (o, text, cfg)
}

fn tasks(cfg: &config::Config) -> Vec<(&'static str, &HookTask)> {
    let h = &cfg.hooks;
    [
        ("global", &h.global),
        ("tool", &h.tool),
        ("case", &h.case),
        ("test", &h.test),
    ]
    .into_iter()
    .flat_map(|(n, l)| l.setup.iter().chain(&l.teardown).map(move |t| (n, t)))
    .collect()
}

/// The comment left for seed task `name`.
fn comment<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find(|l| l.trim_start().starts_with("# seed ") && l.contains(&format!("`{name}`")))
        .unwrap_or_else(|| panic!("no comment for {name}:\n{text}"))
}

#[test]
fn every_hook_block_of_seed_001_imports_as_printed_and_validates() {
    let (o, text, cfg) = import(&BLOCKS);
    assert!(o.status.success(), "{}", stderr(&o));
    let cfg = cfg.unwrap();
    // The seed's 23 tasks: 9 init, 9 post, 5 custom; each is a task or a
    // comment naming what replaces it.
    assert!(
        stderr(&o).contains("11 seed hook tasks copied, 12 left out"),
        "{}",
        stderr(&o)
    );
    let all = tasks(&cfg);
    for (name, why) in [
        ("cleanup_previous_processes", "a kill by name"),
        ("start_ebpf_program", "starts each case's eBPF program"),
        ("start_case_monitoring", "monitor agent"),
        ("start_performance_servers", "starts and stops the servers"),
        ("stop_performance_servers", "a kill by name"),
        ("stop_case_monitoring", "a kill by name"),
        ("stop_ebpf_program", "by the PID it recorded itself"),
        ("final_cleanup", "a kill by name"),
        ("ebpf_cpu_monitoring", "monitor agent"),
        ("ebpf_memory_monitoring", "monitor agent"),
        (
            "ebpf_log_size_monitoring",
            "reads {result_path}/ebpf_output_{timestamp}.log, which only the seed's `start_ebpf_program` wrote",
        ),
        ("system_performance", "monitor agent"),
    ] {
        let c = comment(&text, name);
        assert!(c.contains("not copied") && c.contains(why), "{c}");
        assert!(all.iter().all(|(_, t)| t.name != name), "{name} copied");
    }
    let copied: Vec<(&str, &str)> = all.iter().map(|(l, t)| (*l, t.name.as_str())).collect();
    assert_eq!(
        copied,
        [
            ("global", "create_base_directories"),
            ("global", "check_system_requirements"),
            ("global", "generate_session_summary"),
            ("tool", "create_tool_directories"),
            ("tool", "tool_specific_setup"),
            ("tool", "collect_tool_summary"),
            ("tool", "tool_specific_cleanup"),
            ("case", "create_case_directories"),
            ("case", "collect_case_data"),
            ("test", "network_performance"),
            ("test", "collect_test_results"),
        ]
    );
    // Bash for every task (the seed's brace expansion); case init runs for
    // baselines too, as in the seed.
    assert!(all.iter().all(|(_, t)| t.shell == Shell::Bash));
    assert!(all.iter().all(|(_, t)| t.when == When::Always));
    let get = |n: &str| all.iter().find(|(_, t)| t.name == n).unwrap().1;
    assert_eq!(
        get("create_base_directories").run,
        "mkdir -p {workdir}/performance-test-results/{baseline,ebpf}"
    );
    assert!(get("tool_specific_setup").run.starts_with(
        "export EBPF_PERF_TOOL_ID={tool_id} EBPF_PERF_ENVIRONMENT={environment}\n\
         echo \"Starting tool ${{EBPF_PERF_TOOL_ID}} in environment ${{EBPF_PERF_ENVIRONMENT}} at: "
    ));
    assert!(get("network_performance").background && !get("collect_test_results").background);
    // No line that runs a kill by name or starts a server.
    for l in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        assert!(!l.contains("pkill") && !l.contains("iperf3 -s"), "{l}");
    }
}

#[test]
fn each_block_imports_on_its_own() {
    for (block, want) in [
        (BLOCKS[1], "5 seed hook tasks copied, 4 left out"),
        (BLOCKS[2], "5 seed hook tasks copied, 4 left out"),
        (BLOCKS[3], "2 seed hook tasks copied, 3 left out"),
    ] {
        let (o, text, cfg) = import(&[block]);
        assert!(
            o.status.success() && cfg.is_some(),
            "{block}: {}",
            stderr(&o)
        );
        assert!(stderr(&o).contains(want), "{block}: {}", stderr(&o));
        // Alone, block C's log-size monitor is copied: nothing in it says
        // which task wrote the log. The note says so.
        if block == BLOCKS[3] {
            let note = "`ebpf_log_size_monitoring` (stage case): it reads \
                        {result_path}/ebpf_output_{timestamp}.log, which no imported task writes";
            assert!(text.lines().any(|l| l.contains(note)), "{text}");
        }
    }
}

/// The seed's shape with other names, order and values.
const VARIANT: &str = r#"layered_custom_hooks:
  per_case_watchers:
    stage: case
    targets: server
    monitoring_tasks:
      perf_stat:
        cmd: "perf stat -I 1000 -p {ebpf_pid} -o {result_path}/perf_{timestamp}.txt"
        condition: "ebpf_pid != None"
layered_init_hooks:
  case_setup:
    execution: per_case
    tasks:
      - cmd: "echo \"case {case_id} of {tool_id}\" > {result_path}/hello_{timestamp}.txt"
        name: hello
        targets: [client]
      - name: snapshot
        cmd: "cat /proc/{ebpf_pid}/status > {result_path}/status_{timestamp}.txt"
  global_setup:
    stage: global
    targets: ["all"]
    tasks:
      - {name: base, cmd: "mkdir -p {workdir}/r/{a,b,c}"}
layered_post_hooks:
  teardown_of_tests:
    stage: test
    execution: per_performance_test
    condition: "ebpf_command is None"
    tasks:
      - {name: baseline_note, cmd: "cat {result_path}/hello_{timestamp}.txt"}
"#;

#[test]
fn variants_of_the_seed_shape_import_just_as_well() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("my-hooks.yml");
    std::fs::write(&f, VARIANT).unwrap();
    let (o, text, cfg) = import(&[f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cfg = cfg.unwrap();
    let all = tasks(&cfg);
    let get = |n: &str| {
        all.iter()
            .find(|(_, t)| t.name == n)
            .unwrap_or_else(|| panic!("{n}:\n{text}"))
    };
    // A group's stage from its key, its targets for its tasks.
    let (layer, hello) = get("hello");
    assert_eq!(
        (*layer, hello.on, hello.when),
        ("case", config::HookTarget::Client, When::Always)
    );
    assert!(hello
        .run
        .starts_with("export EBPF_PERF_CASE_ID={case_id} EBPF_PERF_TOOL_ID={tool_id}\n"));
    let (_, perf) = get("perf_stat");
    assert!(perf.background && perf.when == When::Ebpf && perf.on == config::HookTarget::Server);
    let (_, snap) = get("snapshot");
    assert!(snap.background && snap.when == When::Ebpf, "{text}");
    let (layer, base) = get("base");
    assert_eq!((*layer, base.on), ("global", config::HookTarget::Both));
    let (layer, note) = get("baseline_note");
    assert_eq!((*layer, note.when), ("test", When::Baseline));
}

#[rstest::rstest]
#[case(
    "layered_init_hooks:\n  setup:\n    execution: per_case\n    tasks: [{name: a, cmd: \"true\"}]\n",
    "layered_init_hooks.setup: the group has no `stage` (global, tool, case or test)"
)]
#[case(
    "layered_init_hooks:\n  g:\n    stage: tool\n    execution: per_case\n    tasks: [{name: a, cmd: \"true\"}]\n",
    "layered_init_hooks.g: execution `per_case` belongs to stage case, but the group's stage is tool"
)]
#[case(
    "layered_post_hooks:\n  case_post:\n    stage: case\n    tasks: [{name: a, cmd: \"true\", condition: \"tool_id == 3\"}]\n",
    "layered_post_hooks.case_post.tasks[0] `a`: condition `tool_id == 3` is not understood"
)]
#[case(
    "layered_post_hooks:\n  case_post:\n    stage: case\n    taks: []\n",
    "layered_post_hooks.case_post.taks: unknown field `taks`, expected one of `stage`"
)]
#[case(
    "layered_custom_hooks:\n  test_mon:\n    monitoring_tasks:\n      m: {purpose: x}\n",
    "layered_custom_hooks.test_mon.monitoring_tasks.m: missing field `cmd`"
)]
fn a_wrong_seed_hook_names_its_place(#[case] yaml: &str, #[case] want: &str) {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("h.yaml");
    std::fs::write(&f, yaml).unwrap();
    let (o, text, _) = import(&[f.to_str().unwrap()]);
    assert!(!o.status.success(), "{text}");
    assert!(stderr(&o).contains(want), "{}", stderr(&o));
}
