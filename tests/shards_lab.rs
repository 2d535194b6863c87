//! Sharded runs on the lab: two `--partition` shares started at the same
//! time on the same hosts (the second queues behind the first's lease), then
//! `ebpf-perf merge`: every selected trial once, nothing lost, nothing twice.

mod common;

use std::path::Path;
use std::process::Command;

const SELECTION: &[&str] = &["tcp_rr", "--skip", "vm"];

#[test]
fn two_shards_at_once_queue_on_shared_hosts_and_merge_into_the_selection() {
    let Some(_) = common::lab() else { return };
    let shard = |_| common::quick_config(|_| {});
    let cfgs: Vec<tempfile::TempDir> = (0..2).map(shard).collect();
    let mut args = vec!["--list"];
    args.extend_from_slice(SELECTION);
    let mut want = common::listed(&common::perf(
        &[
            &["--config-dir", cfgs[0].path().to_str().unwrap()],
            &args[..],
        ]
        .concat(),
    ));
    assert_eq!(want.len(), 4, "{want:?}");
    let runs: Vec<_> = cfgs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let share = format!("count:{}/2", i + 1);
            let mut a = SELECTION.to_vec();
            a.extend(["--partition", &share]);
            common::spawn_perf(c.path(), &a)
        })
        .collect();
    let mut waited = false;
    for r in runs {
        let o = r.wait_with_output().unwrap();
        let err = common::stderr(&o);
        assert!(o.status.success(), "{err}");
        waited |= err.contains("waiting for it to end");
    }
    assert!(waited, "one shard queued behind the other's lease");
    let out = tempfile::tempdir().unwrap();
    let missing = out.path().join("shard_3");
    let merge = |extra: Option<&Path>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ebpf-perf"));
        c.arg("merge").arg(out.path().join("merged"));
        c.args(cfgs.iter().map(|d| d.path()));
        c.args(extra);
        c.output().unwrap()
    };
    let o = merge(None);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let merged = ebpf_perf::results::read(&out.path().join("merged/results.json")).unwrap();
    let mut got: Vec<String> = merged.trials.iter().map(|t| t.name.clone()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "every selected trial once");
    assert!(merged.trials.iter().all(|t| !t.compared_only));
    assert_eq!(
        merged
            .session
            .shards
            .iter()
            .map(|s| s.trials)
            .sum::<usize>(),
        4
    );
    let junit = std::fs::read_to_string(out.path().join("merged/junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase").count(), 4, "{junit}");
    assert!(out.path().join("merged/report.html").exists());
    // A shard whose artifact is missing is named and fails the merge.
    let o = merge(Some(&missing));
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).contains("shard_3") && common::stderr(&o).contains("missing"),
        "{}",
        common::stderr(&o)
    );
    let junit = std::fs::read_to_string(out.path().join("merged/junit.xml")).unwrap();
    assert!(junit.contains("merge::shard::"), "{junit}");
}
