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
    // 4 s tests: a shard holds the hosts long enough for the other to find
    // them held.
    let shard = |_| {
        common::lab_config(4, |d| {
            common::replace_in(
                &d.join("performance-test-spec.yaml"),
                "repeats: 3",
                "repeats: 1",
            )
        })
    };
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
    // Both shards run at once: the second starts once the first holds the
    // lease (so it must queue, whatever the start-up times).
    let lease = Path::new("/var/lib/ebpf-perf-lab/hosts/host-server/.ebpf-perf/lease");
    assert!(!lease.exists(), "a run holds the lab already");
    let start = |i: usize| {
        let share = format!("count:{}/2", i + 1);
        let mut a = SELECTION.to_vec();
        a.extend(["--partition", &share]);
        common::spawn_perf(cfgs[i].path(), &a)
    };
    let first = start(0);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !lease.exists() {
        assert!(
            std::time::Instant::now() < until,
            "the first shard never took its lease"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let runs = vec![first, start(1)];
    // A shard may fail a trial on its verdicts (1 s runs are noisy); what
    // matters here is that each ran its share to the end.
    let mut waited = false;
    for (r, c) in runs.into_iter().zip(&cfgs) {
        let o = r.wait_with_output().unwrap();
        let err = common::stderr(&o);
        let shard = ebpf_perf::results::read(&c.path().join("results.json"))
            .unwrap_or_else(|e| panic!("{e}\n{err}"));
        assert!(
            shard.session.finished.is_some() && !shard.trials.is_empty(),
            "{}\n{err}",
            common::stdout(&o)
        );
        assert!(!err.contains("error:"), "{err}");
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
    let merged = ebpf_perf::results::read(&out.path().join("merged/results.json")).unwrap();
    let failed = merged
        .trials
        .iter()
        .filter(|t| t.status == ebpf_perf::results::Status::Failed)
        .count();
    assert_eq!(
        o.status.success(),
        failed == 0,
        "the merge passes exactly when every trial did: {}",
        common::stdout(&o)
    );
    assert!(
        common::stdout(&o).contains(&format!(
            "merged 4 trials from 2 of 2 shards ({failed} failed)"
        )),
        "{}",
        common::stdout(&o)
    );
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
