//! The CI examples under examples/ci/ parse, publish the files the harness
//! really writes, and run only commands the README documents.

mod common;

use ebpf_perf::{harness, report, results};
use std::path::Path;

fn yaml(name: &str) -> (String, ebpf_perf::yaml::Value) {
    let text = std::fs::read_to_string(common::repo().join("examples/ci").join(name)).unwrap();
    let v = ebpf_perf::yaml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    (text, v)
}

fn published(dir: &Path) -> Vec<String> {
    let d = dir.display().to_string();
    vec![
        results::DEFAULT_PATH.to_string(),
        format!("{d}/{}", report::HTML),
        format!("{d}/{}", report::MARKDOWN),
        harness::DEFAULT_JUNIT.to_string(),
    ]
}

#[test]
fn examples_parse_publish_what_the_harness_writes_and_use_documented_commands() {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    let dir = Path::new(results::DEFAULT_PATH).parent().unwrap();
    for name in ["github-actions.yml", "gitlab-ci.yml"] {
        let (text, v) = yaml(name);
        assert!(v.is_object(), "{name}");
        for path in published(dir) {
            assert!(text.contains(&path), "{name} does not publish {path}");
        }
        for p in [
            "merged/junit.xml",
            "merged/results.json",
            "merged/report.html",
        ] {
            assert!(text.contains(p), "{name} does not publish the merged {p}");
        }
        for cmd in [
            "cargo test --test perf",
            "--compare-to",
            "--partition count:",
            "cargo run --bin ebpf-perf -- merge merged",
        ] {
            assert!(text.contains(cmd), "{name} lacks {cmd}");
            assert!(readme.contains(cmd), "README does not document {cmd}");
        }
        assert!(
            readme.contains(&format!("examples/ci/{name}")),
            "README does not link {name}"
        );
    }
}
