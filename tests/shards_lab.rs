//! Sharded runs on the lab, then `ebpf-perf merge`: every selected trial
//! once, nothing lost, nothing twice. Two shares on one pool (`--pool 1`)
//! queue behind each other's lease; two shares on the lab's two pools run at
//! the same time.

mod common;

use std::path::Path;
use std::process::{Child, Command};
use std::sync::Mutex;

const SELECTION: &[&str] = &["tcp_rr", "--skip", "vm"];

/// The tests of this file use the same hosts: one at a time.
static HOSTS: Mutex<()> = Mutex::new(());

/// A shard's config: the default one with `secs`-second tests and one run.
fn shard_config(secs: u32) -> tempfile::TempDir {
    common::lab_config(secs, |d| {
        common::fixed_pairs_in(d, 2);
        common::no_budgets_in(d)
    })
}

/// Starts share `i + 1` of 2 of the selection on `cfg`, with `extra` options.
fn start_share(cfg: &Path, i: usize, extra: &[&str]) -> Child {
    let share = format!("count:{}/2", i + 1);
    let mut a = SELECTION.to_vec();
    a.extend(["--partition", &share]);
    a.extend_from_slice(extra);
    common::spawn_perf(cfg, &a)
}

/// The trial names the selection lists.
fn selection_names(cfg: &Path) -> Vec<String> {
    let mut args = vec!["--config-dir", cfg.to_str().unwrap(), "--list"];
    args.extend_from_slice(SELECTION);
    let mut want = common::listed(&common::perf(&args));
    want.sort();
    want
}

/// Waits for the shards; each must have run its share to the end (a shard
/// may fail a trial on its verdicts: 1 s runs are noisy). Their stderr.
fn finish(runs: Vec<Child>, cfgs: &[tempfile::TempDir]) -> Vec<String> {
    let mut errs = Vec::new();
    for (r, c) in runs.into_iter().zip(cfgs) {
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
        errs.push(err);
    }
    errs
}

/// Merges the shards into `out/merged`; checks every selected trial is
/// there once and the merge passes exactly when every trial did.
fn merge_and_check(out: &Path, cfgs: &[tempfile::TempDir], want: &[String]) {
    let o = merge(out, cfgs, None);
    let merged = ebpf_perf::results::read(&out.join("merged/results.json")).unwrap();
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
    let n = want.len();
    assert!(
        common::stdout(&o).contains(&format!(
            "merged {n} trials from 2 of 2 shards ({failed} failed)"
        )),
        "{}",
        common::stdout(&o)
    );
    let mut got: Vec<String> = merged.trials.iter().map(|t| t.name.clone()).collect();
    got.sort();
    assert_eq!(got, want, "every selected trial once");
    assert!(merged.trials.iter().all(|t| !t.compared_only));
    assert_eq!(
        merged
            .session
            .shards
            .iter()
            .map(|s| s.trials)
            .sum::<usize>(),
        n
    );
    let junit = std::fs::read_to_string(out.join("merged/junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase").count(), n, "{junit}");
    assert!(out.join("merged/report.html").exists());
}

fn merge(out: &Path, cfgs: &[tempfile::TempDir], extra: Option<&Path>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ebpf-perf"));
    c.arg("merge").arg(out.join("merged"));
    c.args(cfgs.iter().map(|d| d.path()));
    c.args(extra);
    c.output().unwrap()
}

/// The lease file of a lab host.
fn lease(host: &str) -> std::path::PathBuf {
    common::lab_hosts().join(host).join(".ebpf-perf/lease")
}

#[test]
fn two_shards_at_once_on_one_pool_queue_and_merge_into_the_selection() {
    let Some(_) = common::lab() else { return };
    let _one = HOSTS.lock().unwrap_or_else(|p| p.into_inner());
    // 4 s tests: a shard holds the hosts long enough for the other to find
    // them held.
    let cfgs: Vec<tempfile::TempDir> = (0..2).map(|_| shard_config(4)).collect();
    let want = selection_names(cfgs[0].path());
    assert_eq!(want.len(), 4, "{want:?}");
    // Both shards run at once on pool 1: the second starts once the first
    // holds the lease (so it must queue, whatever the start-up times).
    let lease = lease("host-server");
    assert!(!lease.exists(), "a run holds the lab already");
    let first = start_share(cfgs[0].path(), 0, &["--pool", "1"]);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !lease.exists() {
        assert!(
            std::time::Instant::now() < until,
            "the first shard never took its lease"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let runs = vec![first, start_share(cfgs[1].path(), 1, &["--pool", "1"])];
    let errs = finish(runs, &cfgs);
    assert!(
        errs.iter().any(|e| e.contains("waiting for it to end")),
        "one shard queued behind the other's lease: {errs:?}"
    );
    let out = tempfile::tempdir().unwrap();
    merge_and_check(out.path(), &cfgs, &want);
    // A shard whose artifact is missing is named and fails the merge.
    let o = merge(out.path(), &cfgs, Some(&out.path().join("shard_3")));
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).contains("shard_3") && common::stderr(&o).contains("missing"),
        "{}",
        common::stderr(&o)
    );
    let junit = std::fs::read_to_string(out.path().join("merged/junit.xml")).unwrap();
    assert!(junit.contains("merge::shard::"), "{junit}");
}

#[test]
fn two_shards_on_two_pools_run_at_the_same_time_and_merge_into_the_selection() {
    let Some(_) = common::lab() else { return };
    let _one = HOSTS.lock().unwrap_or_else(|p| p.into_inner());
    let cfgs: Vec<tempfile::TempDir> = (0..2).map(|_| shard_config(4)).collect();
    let want = selection_names(cfgs[0].path());
    for h in ["host-server", "host-server-2"] {
        assert!(!lease(h).exists(), "a run holds {h} already");
    }
    // Share K takes pool K by itself. Both start at once; each must hold
    // its own pool's lease while the other holds its own.
    let runs: Vec<Child> = (0..2)
        .map(|i| start_share(cfgs[i].path(), i, &[]))
        .collect();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !(lease("host-server").exists() && lease("host-server-2").exists()) {
        assert!(
            std::time::Instant::now() < until,
            "the two shards never held their pools at the same time"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let errs = finish(runs, &cfgs);
    for (i, e) in errs.iter().enumerate() {
        let pool = i + 1;
        assert!(
            e.contains(&format!(", on pool {pool} (")),
            "shard {pool} says which pool it uses: {e}"
        );
        assert!(!e.contains("waiting for it to end"), "no shard queued: {e}");
    }
    // Shard 2's data is on pool 2's hosts, and only there.
    for (i, c) in cfgs.iter().enumerate() {
        let shard = ebpf_perf::results::read(&c.path().join("results.json")).unwrap();
        let hosts: Vec<&String> = shard.session.hosts.keys().collect();
        let server = if i == 0 {
            "host-server"
        } else {
            "host-server-2"
        };
        assert!(
            shard.session.hosts.contains_key(server) && hosts.len() == 2,
            "shard {} ran on {hosts:?}",
            i + 1
        );
    }
    let out = tempfile::tempdir().unwrap();
    merge_and_check(out.path(), &cfgs, &want);
}
