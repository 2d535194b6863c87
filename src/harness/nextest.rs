//! Under cargo-nextest every trial runs in a process of its own, and nextest
//! tells each one its run (`NEXTEST_RUN_ID`). Each process writes its results
//! as a fragment, `{results dir}/nextest/{run id}/{trial}.json`; then, holding
//! the lock of that directory, it merges every fragment of the run so far
//! ([`crate::merge`]: each trial once, a selected trial over a baseline run
//! only to compare with) into the usual results file, JUnit and report.
//! Whichever process ends last leaves them whole: a nextest run loses no
//! trial. A retried trial overwrites its own fragment.

use std::path::{Path, PathBuf};

/// The variable nextest sets in every test process of a run.
pub const RUN_ID_ENV: &str = "NEXTEST_RUN_ID";

/// Where this process's results go, and where the merge goes.
#[derive(Debug, Clone)]
pub struct Fragment {
    /// `{results dir}/nextest/{run id}`.
    pub dir: PathBuf,
    /// This process's results file, in `dir`.
    pub file: PathBuf,
}

/// A file name made of `s`: letters, digits, `_`, `-`, `.` and `:` kept,
/// anything else `_`.
fn file_name(s: &str) -> String {
    let n: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-.:".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if n.is_empty() || n.starts_with('.') {
        format!("_{n}")
    } else {
        n
    }
}

impl Fragment {
    /// The fragment of `trial` (the process's first selected trial) in run
    /// `run_id`, next to `results`.
    pub fn new(run_id: &str, results: &Path, trial: &str) -> Fragment {
        let dir = results
            .parent()
            .unwrap_or(Path::new("."))
            .join("nextest")
            .join(file_name(run_id));
        let file = dir.join(format!("{}.json", file_name(trial)));
        Fragment { dir, file }
    }

    /// The fragments of the run so far, in the order they were written
    /// (the trials of a nextest run end one after another).
    fn all(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
        for e in std::fs::read_dir(&self.dir)? {
            let e = e?;
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json") {
                found.push((e.metadata()?.modified()?, p));
            }
        }
        found.sort();
        Ok(found.into_iter().map(|(_, p)| p).collect())
    }

    /// Merges every fragment of the run into `results`, `junit` and (when
    /// `report`) the report next to `results`, under the directory's lock;
    /// returns how many trials and fragments the merge holds.
    pub fn merge(
        &self,
        results: &Path,
        junit: &Path,
        report: bool,
    ) -> std::io::Result<(usize, usize)> {
        let lock = std::fs::File::create(self.dir.join(".lock"))?;
        lock.lock()?;
        let files = self.all()?;
        let merged = crate::merge::merge(&files);
        let report_dir = report.then(|| {
            results
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
        });
        crate::merge::write_paths(results, junit, report_dir, &merged)?;
        Ok((merged.trials.len(), files.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_named_by_run_and_trial() {
        let f = Fragment::new(
            "1f79aa0d-4ec8",
            Path::new("target/ebpf-perf/results.json"),
            "tool_001::case_1::host::latency::tcp_rr",
        );
        assert_eq!(
            f.file,
            Path::new("target/ebpf-perf/nextest/1f79aa0d-4ec8/tool_001::case_1::host::latency::tcp_rr.json")
        );
        let odd = Fragment::new("../x", Path::new("r.json"), "a/b c");
        assert_eq!(odd.file, Path::new("nextest/_.._x/a_b_c.json"));
    }
}
