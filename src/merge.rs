//! `ebpf-perf merge OUT_DIR SHARD...`: the stage after sharded runs. It reads
//! each shard's results file (a directory holding `results.json`, or the file
//! itself) and writes one results file, one JUnit file and one report into
//! OUT_DIR.
//!
//! Every trial appears once. A baseline that several shards ran only to
//! compare with is kept from the shard whose selection held it, else from the
//! first. Each eBPF trial keeps the comparison made in its own shard, against
//! the baseline measured in that session on those hosts. A shard that is
//! missing, unreadable or incomplete is named in all three outputs, never
//! dropped silently.

use crate::results::{self, Results, Shard, ShardStatus};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The results file of a shard argument: `DIR/results.json`, or the file.
pub fn results_file(source: &Path) -> PathBuf {
    if source.is_dir() {
        source.join("results.json")
    } else {
        source.to_path_buf()
    }
}

/// A shard as read: its file's contents, or why there are none.
fn load(source: &Path) -> (Shard, Option<Results>) {
    let file = results_file(source);
    let mut shard = Shard {
        source: source.display().to_string(),
        session: None,
        status: ShardStatus::Ok,
        problem: String::new(),
        trials: 0,
    };
    if !file.exists() {
        shard.status = ShardStatus::Missing;
        shard.problem = format!(
            "no results file at {}: its job failed before writing one, or its artifact was not downloaded",
            file.display()
        );
        return (shard, None);
    }
    match results::read(&file) {
        Err(e) => {
            shard.status = ShardStatus::Unreadable;
            shard.problem = e.to_string();
            (shard, None)
        }
        Ok(r) => {
            shard.session = Some(r.session.id.clone());
            if r.session.interrupted {
                shard.status = ShardStatus::Incomplete;
                shard.problem = "interrupted (Ctrl-C); its finished trials are kept".into();
            } else if r.session.finished.is_none() {
                shard.status = ShardStatus::Incomplete;
                shard.problem =
                    "never finished (the job was killed mid-run); its finished trials are kept"
                        .into();
            }
            (shard, Some(r))
        }
    }
}

/// Merges the shards, in the order given.
pub fn merge(sources: &[PathBuf]) -> Results {
    let mut merged: Option<Results> = None;
    let mut shards = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    // The selection's terms so far: a set, so that many terms stay linear.
    let mut terms: HashSet<String> = HashSet::new();
    for source in sources {
        let (mut shard, loaded) = load(source);
        let Some(r) = loaded else {
            shards.push(shard);
            continue;
        };
        let m = merged.get_or_insert_with(|| {
            let mut s = r.session.clone();
            s.selection.clear();
            s.teardown_errors.clear();
            Results::new(s)
        });
        let s = &mut m.session;
        s.started = s.started.clone().min(r.session.started.clone());
        s.finished = match (&s.finished, &r.session.finished) {
            (Some(a), Some(b)) => Some(a.clone().max(b.clone())),
            (a, b) => a.clone().or(b.clone()),
        };
        s.interrupted |= r.session.interrupted;
        for term in &r.session.selection {
            if terms.insert(term.clone()) {
                s.selection.push(term.clone());
            }
        }
        s.hosts.extend(r.session.hosts.clone());
        s.teardown_errors
            .extend(
                r.session
                    .teardown_errors
                    .iter()
                    .map(|e| results::TeardownError {
                        scope: format!("{} (shard {})", e.scope, shard.source),
                        ..e.clone()
                    }),
            );
        let mut repeated = 0;
        for t in r.trials {
            match at.get(&t.name) {
                None => {
                    at.insert(t.name.clone(), m.trials.len());
                    m.trials.push(t);
                    shard.trials += 1;
                }
                // The copy from the shard whose selection held it wins.
                Some(&i) if m.trials[i].compared_only && !t.compared_only => {
                    m.trials[i] = t;
                    shard.trials += 1;
                }
                Some(&i) => {
                    if !t.compared_only && !m.trials[i].compared_only {
                        repeated += 1;
                    }
                }
            }
        }
        if repeated > 0 {
            shard.problem = format!(
                "{repeated} of its trials were already in an earlier shard and are counted once \
                 (was the same partition run twice?)"
            );
        }
        shards.push(shard);
    }
    let mut m = merged.unwrap_or_else(|| Results::new(results::Session::default()));
    m.session.shards = shards;
    m.decisions = crate::decision::of_session(&m);
    m
}

/// What a merge wrote, and whether it is a pass.
pub struct Written {
    pub results: PathBuf,
    pub junit: PathBuf,
    pub report: Result<PathBuf, String>,
    pub trials: usize,
    pub failed: usize,
    pub bad_shards: Vec<String>,
}

impl Written {
    pub fn passed(&self) -> bool {
        self.failed == 0 && self.bad_shards.is_empty()
    }
}

/// Writes `results.json`, `junit.xml`, `report.html` and `summary.md` of
/// `merged` into `out`.
pub fn write(out: &Path, merged: &Results) -> Result<Written, std::io::Error> {
    std::fs::create_dir_all(out)?;
    write_paths(
        &out.join("results.json"),
        &out.join("junit.xml"),
        Some(out),
        merged,
    )
}

/// Writes the results file and JUnit of `merged` to their paths, and its
/// report into `report_dir` when given.
pub fn write_paths(
    results_path: &Path,
    junit_path: &Path,
    report_dir: Option<&Path>,
    merged: &Results,
) -> Result<Written, std::io::Error> {
    results::write(results_path, merged).map_err(std::io::Error::other)?;
    crate::junit::write_trials(junit_path, &crate::junit::records_of(merged))?;
    let report = match report_dir {
        Some(dir) => crate::report::write(merged, dir, &crate::report::Options::default())
            .map(|w| w.html)
            .map_err(|e| e.to_string()),
        None => Err("not asked for".to_string()),
    };
    Ok(Written {
        results: results_path.to_path_buf(),
        junit: junit_path.to_path_buf(),
        report,
        trials: merged.trials.len(),
        failed: merged
            .trials
            .iter()
            .filter(|t| t.status == results::Status::Failed)
            .count()
            + merged.session.teardown_errors.len(),
        bad_shards: merged
            .session
            .shards
            .iter()
            .filter(|s| s.status != ShardStatus::Ok)
            .map(|s| format!("{} ({}: {})", s.source, s.status, s.problem))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    //! Shards cut from a results file of a real lab run.
    use super::*;
    use crate::partition::Partition;

    fn lab() -> Results {
        results::read(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/results_lab.json"
        )))
        .unwrap()
    }

    /// Splits `all` as `--partition count:K/N` would, each shard also holding
    /// (as compared-only copies) the baselines its eBPF trials need.
    fn shards(all: &Results, n: u64, dir: &Path) -> Vec<PathBuf> {
        let idx: Vec<usize> = (0..all.trials.len()).collect();
        (1..=n)
            .map(|k| {
                let p: Partition = format!("count:{k}/{n}").parse().unwrap();
                let own = p.apply(&idx, |t| all.trials[t].cycle.as_str());
                let mut r = Results::new(all.session.clone());
                r.session.selection.push(format!("--partition {p}"));
                for &t in &own {
                    let tr = &all.trials[t];
                    if let Some(b) = &tr.analysis.comparison.as_ref().map(|c| c.baseline.clone()) {
                        if !own.iter().any(|&o| &all.trials[o].name == b) {
                            if let Some(bt) = all.trials.iter().find(|x| &x.name == b) {
                                if !r.trials.iter().any(|x| &x.name == b) {
                                    let mut copy = bt.clone();
                                    copy.compared_only = true;
                                    r.trials.push(copy);
                                }
                            }
                        }
                    }
                    r.trials.push(tr.clone());
                }
                let d = dir.join(format!("shard_{k}"));
                std::fs::create_dir_all(&d).unwrap();
                results::write(&d.join("results.json"), &r).unwrap();
                d
            })
            .collect()
    }

    #[test]
    fn shards_merge_back_into_every_trial_once() {
        let all = lab();
        let dir = tempfile::tempdir().unwrap();
        let paths = shards(&all, 3, dir.path());
        let m = merge(&paths);
        let mut got: Vec<&str> = m.trials.iter().map(|t| t.name.as_str()).collect();
        let mut want: Vec<&str> = all.trials.iter().map(|t| t.name.as_str()).collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "nothing lost, nothing twice");
        assert!(
            m.trials.iter().all(|t| !t.compared_only),
            "owned copies win"
        );
        assert_eq!(m.session.shards.len(), 3);
        assert!(m.session.shards.iter().all(|s| s.status == ShardStatus::Ok));
        assert_eq!(
            m.session.shards.iter().map(|s| s.trials).sum::<usize>(),
            all.trials.len()
        );
        // Each eBPF trial keeps the comparison of its own shard.
        for t in &m.trials {
            let orig = all.trials.iter().find(|o| o.name == t.name).unwrap();
            assert_eq!(
                serde_json::to_value(&t.analysis).unwrap(),
                serde_json::to_value(&orig.analysis).unwrap()
            );
        }
        assert!(m
            .session
            .selection
            .iter()
            .any(|s| s == "--partition count:2/3"));
    }

    #[test]
    fn a_missing_or_unfinished_shard_is_named_everywhere() {
        let all = lab();
        let dir = tempfile::tempdir().unwrap();
        let mut paths = shards(&all, 2, dir.path());
        // Shard 2 was killed mid-run: its file has no `finished`.
        let f = paths[1].join("results.json");
        let mut r = results::read(&f).unwrap();
        r.session.finished = None;
        results::write(&f, &r).unwrap();
        paths.push(dir.path().join("shard_3"));
        let m = merge(&paths);
        let status: Vec<&str> = m.session.shards.iter().map(|s| s.status.as_str()).collect();
        assert_eq!(status, ["ok", "incomplete", "missing"]);
        assert!(m.session.shards[2].problem.contains("no results file"));
        // The unfinished shard's trials are kept.
        assert_eq!(m.trials.len(), all.trials.len());
        let out = dir.path().join("merged");
        let w = write(&out, &m).unwrap();
        assert!(!w.passed());
        assert_eq!(w.bad_shards.len(), 2);
        let junit = std::fs::read_to_string(&w.junit).unwrap();
        assert!(junit.contains("merge::shard::"), "{junit}");
        assert!(junit.contains("shard_3"), "{junit}");
        let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
        assert!(!summary.is_empty());
        let back = results::read(&w.results).unwrap();
        assert_eq!(back.session.shards, m.session.shards);
    }
}
