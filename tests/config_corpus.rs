//! The malformed-configuration corpus: each file under tests/corpus/bad/ edits
//! one file of the valid tests/corpus/base/ and names the problem it must cause
//! (file, key path, line where known, and a piece of the message).

mod common;

use ebpf_perf::config::{self, Problem};
use rstest::rstest;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    file: String,
    #[serde(default)]
    find: Option<String>,
    #[serde(default)]
    replace: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    delete: bool,
    /// Further edits of other files (find/replace), for problems that two
    /// files make together.
    #[serde(default)]
    also: Vec<Edit>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    file: String,
    find: String,
    replace: String,
}

/// Replaces `find` (which must occur once) in `path`.
fn replace_once(path: &std::path::Path, find: &str, replace: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        text.matches(find).count(),
        1,
        "{find:?} must occur once in {}",
        path.display()
    );
    std::fs::write(path, text.replace(find, replace)).unwrap();
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    file: String,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    line: Option<usize>,
    message: String,
}

#[test]
fn base_is_valid() {
    let cfg = config::load(&common::corpus_base()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.tools.len(), 3);
    assert_eq!(cfg.hooks.global.setup.len(), 1);
    // The program shape becomes ordinary cases: the program run with its
    // template, the case's vars as its parameters.
    let t = &cfg.tools["tool_003"];
    let ids: Vec<u32> = t.cases.iter().map(|c| c.id).collect();
    assert_eq!(ids, [10, 11]);
    assert_eq!(
        t.cases[0].command,
        "bpftrace /opt/tools/drops/drops.bt {interface} {threshold}"
    );
    assert_eq!(t.cases[0].parameters["threshold"].text(), "100");
    assert_eq!(t.cases[1].target, config::Target::Both);
    assert_eq!(t.cases[1].duration, 600);
    assert_eq!(t.environments, ["host"]);
    // The seeds' hook keys: condition, background, output.
    let bg = &cfg.hooks.case.setup[0];
    assert!(bg.background && bg.when == config::When::Ebpf);
    assert_eq!(bg.output.as_deref(), Some("perf_stat_{timestamp}.log"));
}

#[test]
fn corpus_is_large_enough() {
    let n = std::fs::read_dir(common::repo().join("tests/corpus/bad"))
        .unwrap()
        .count();
    assert!(n >= 20, "only {n} malformed configurations");
}

#[rstest]
fn malformed_config_is_reported(#[files("tests/corpus/bad/*.yaml")] entry: PathBuf) {
    let e: Entry = ebpf_perf::yaml::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
    let dir = common::copy_dir(&common::corpus_base());
    let target = dir.path().join(&e.file);
    if e.delete {
        std::fs::remove_file(&target).unwrap();
    } else if let Some(c) = &e.content {
        std::fs::write(&target, c).unwrap();
    } else {
        let find = e.find.as_deref().expect("find, content or delete");
        replace_once(&target, find, e.replace.as_deref().unwrap_or(""));
    }
    for a in &e.also {
        replace_once(&dir.path().join(&a.file), &a.find, &a.replace);
    }

    let err = config::load(dir.path()).expect_err("the edit must make the config invalid");
    let shown = err.to_string();
    let hit = |p: &Problem| {
        p.file.ends_with(&e.expect.file)
            && e.expect.key.as_ref().is_none_or(|k| &p.key == k)
            && e.expect.line.is_none_or(|l| p.line == Some(l))
            && p.message.contains(&e.expect.message)
    };
    assert!(
        err.problems.iter().any(hit),
        "{}: expected a problem in {} at key {:?} line {:?} with {:?}; got:\n{shown}",
        entry.display(),
        e.expect.file,
        e.expect.key,
        e.expect.line,
        e.expect.message
    );
    // What a person reads names the file and the key.
    assert!(shown.contains(&e.expect.file), "{shown}");
    if let Some(k) = &e.expect.key {
        assert!(shown.contains(k.as_str()), "{shown}");
    }
}

#[test]
fn example_hooks_validate_with_the_default_config() {
    let dir = common::copy_dir(&common::repo().join("config"));
    std::fs::copy(
        common::repo().join("config/examples/hooks.yaml"),
        dir.path().join("hooks.yaml"),
    )
    .unwrap();
    let cfg = config::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.hooks.global.setup[0].name, "check_system_requirements");
    assert_eq!(cfg.hooks.test.teardown.len(), 1);
    let text = std::fs::read_to_string(common::repo().join("config/examples/hooks.yaml")).unwrap();
    assert!(!text.lines().any(
        |l| !l.trim_start().starts_with('#') && (l.contains("pkill") || l.contains("killall"))
    ));
}

#[test]
fn a_kill_by_name_on_real_hosts_is_allowed_with_a_warning_naming_file_and_line() {
    let dir = common::copy_dir(&common::corpus_base());
    let hooks = dir.path().join("hooks.yaml");
    let text = std::fs::read_to_string(&hooks)
        .unwrap()
        .replace("ls -la {result_dir}", "killall -q my-collector");
    std::fs::write(&hooks, text).unwrap();
    let cfg = config::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let w: Vec<String> = cfg.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("hooks.yaml:12") && w[0].contains("kills processes by name (killall)"),
        "{w:?}"
    );
    // The default configuration and its example hooks have none.
    let base = config::load(&common::corpus_base()).unwrap();
    assert!(base.warnings.is_empty());
}

/// Issue 31 (16): a workdir under a directory every user can write to is
/// warned about, with the file, line and what to do.
#[test]
fn a_workdir_under_tmp_is_warned_about() {
    let dir = common::copy_dir(&common::corpus_base());
    let ssh = dir.path().join("ssh-config.yaml");
    let text = std::fs::read_to_string(&ssh)
        .unwrap()
        .replace("\"/var/lib/ebpf-perf-corpus/vm-client\"", "\"/tmp/lcc\"");
    std::fs::write(&ssh, text).unwrap();
    let cfg = config::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let w: Vec<String> = cfg.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("ssh-config.yaml:21")
            && w[0].contains("is under /tmp, which every user of the host can write to")
            && w[0].contains("choose a workdir that root owns, outside /tmp"),
        "{w:?}"
    );
}

#[test]
fn a_case_task_for_baselines_is_warned_that_paired_baselines_run_inside_the_ebpf_case() {
    let dir = common::copy_dir(&common::corpus_base());
    let hooks = dir.path().join("hooks.yaml");
    let text = std::fs::read_to_string(&hooks).unwrap().replace(
        "        when: ebpf\n        run: \"ls",
        "        when: baseline\n        run: \"ls",
    );
    std::fs::write(&hooks, text).unwrap();
    let cfg = config::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let w: Vec<String> = cfg.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("hooks.yaml:11")
            && w[0].contains("runs only for a baseline measured alone")
            && w[0].contains("a test task with `when: baseline`"),
        "{w:?}"
    );
}

#[test]
fn the_default_config_has_two_pools_of_four_hosts_each() {
    let mut cfg = config::load(&common::repo().join("config")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.pool_count(), 2);
    let envs: Vec<String> = cfg.environments.keys().cloned().collect();
    assert_eq!(
        cfg.pool_hosts(&envs),
        ["host-server", "host-client", "vm-server", "vm-client"]
    );
    cfg.use_pool(2);
    assert_eq!(
        cfg.pool_hosts(&envs),
        [
            "host-server-2",
            "host-client-2",
            "vm-server-2",
            "vm-client-2"
        ]
    );
    assert_eq!(cfg.environments["host"].server.test_ip, "198.18.1.13");
    assert_eq!(
        cfg.pool_hosts(&["host".to_string()]),
        ["host-server-2", "host-client-2"]
    );
}

#[test]
fn ratings_override_their_aspect_and_keep_the_others() {
    let dir = common::copy_dir(&common::corpus_base());
    let tools = dir.path().join("ebpf-tools-config.yaml");
    let mut text = std::fs::read_to_string(&tools).unwrap();
    text.push_str("ratings:\n  memory_mb: {excellent: 8, good: 32, fair: 128}\n");
    std::fs::write(&tools, text).unwrap();
    let cfg = config::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let defaults = ebpf_perf::ratings::Thresholds::default();
    assert_eq!(
        cfg.ratings.memory_mb,
        ebpf_perf::ratings::Levels::new(8.0, 32.0, 128.0)
    );
    assert_ne!(cfg.ratings.memory_mb, defaults.memory_mb);
    assert_eq!(cfg.ratings.cpu_pct, defaults.cpu_pct);
}
