//! Seed 001 §4.2's hook blocks, verbatim (tests/data/seed/001-4.2-*.yaml),
//! imported with `ebpf-perf import --hooks` and run on the lab with no edit:
//! bash's brace expansion makes the seed's two directories, values that
//! stood inside quotes arrive verbatim through the environment, and every
//! layer's tasks leave the files the seed says they write.

mod common;

use std::path::{Path, PathBuf};

/// The seed's blocks, as printed: the descriptive model, then A, B and C.
pub const SEED_BLOCKS: [&str; 4] = [
    "tests/data/seed/001-4.2-model.yaml",
    "tests/data/seed/001-4.2-A-init-hooks.yaml",
    "tests/data/seed/001-4.2-B-post-hooks.yaml",
    "tests/data/seed/001-4.2-C-custom-hooks.yaml",
];

/// Files under `root` whose name starts with `prefix`, changed since `since`.
fn named(root: &Path, prefix: &str, since: std::time::SystemTime) -> Vec<PathBuf> {
    common::files::named_since(root, since, &|n| n.starts_with(prefix))
}

fn one_text(root: &Path, prefix: &str, since: std::time::SystemTime) -> String {
    let found = named(root, prefix, since);
    let first = found
        .first()
        .unwrap_or_else(|| panic!("no {prefix}* under {}", root.display()));
    std::fs::read_to_string(first).unwrap()
}

#[test]
fn seed_001_hooks_as_printed_import_validate_and_run_on_the_lab() {
    let Some(_) = common::lab() else { return };
    let cfg = common::quick_config(|_| {});
    let mut args = vec!["import", "--force", "--out", cfg.path().to_str().unwrap()];
    for b in SEED_BLOCKS {
        args.extend(["--hooks", b]);
    }
    let o = common::ebpf_perf(&args);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let o = common::ebpf_perf(&["validate", "--config-dir", cfg.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::stderr(&o));

    let since = std::time::SystemTime::now();
    let (o, _) = common::perf_in(cfg.path(), &["tool_001", "case_1", "host", "tcp_rr"]);
    assert!(
        o.status.success(),
        "{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );
    for host in ["host-server", "host-client"] {
        let base = common::lab_hosts()
            .join(host)
            .join("performance-test-results");
        // global_init's `mkdir -p …/{baseline,ebpf}`, in bash: two directories.
        assert!(
            base.join("baseline").is_dir() && base.join("ebpf").is_dir(),
            "{host}"
        );
        assert!(!base.join("{baseline,ebpf}").exists(), "{host}");
        // tool_init's message, its placeholders once inside quotes.
        let start = one_text(&base.join("ebpf/tool_001"), "tool_start_", since);
        assert!(
            start.starts_with("Starting tool tool_001 in environment host at: 20"),
            "{host}: {start}"
        );
        // tool_post and global_post ran too.
        let count = one_text(&base.join("ebpf/tool_001"), "total_files_", since);
        assert!(count.trim().parse::<u32>().is_ok_and(|n| n >= 1), "{count}");
        let summary = one_text(&base, "session_summary_", since);
        assert!(summary.contains("Total result files: "), "{summary}");
        // case_post and test_post write into their layer's directory.
        let results = common::lab_results(host);
        let case = one_text(&results, "case_complete_", since);
        assert!(
            case.starts_with("Case 1 data collection completed at: "),
            "{case}"
        );
        let test = one_text(&results, "test_complete_latency_", since);
        assert!(test.starts_with("Test latency completed at: "), "{test}");
        // The custom sar monitor ran for the test, in the background.
        assert!(
            !named(&results, "network_perf_monitor_latency_", since).is_empty(),
            "{host}"
        );
    }
}
