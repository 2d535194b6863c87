//! Files under a directory of the lab's trees, for tests that look for
//! what a run wrote.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Every file under `root`, recursively, sorted.
pub fn under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The files under `root` whose name satisfies `pred`, changed since `since`.
pub fn named_since(root: &Path, since: SystemTime, pred: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    under(root)
        .into_iter()
        .filter(|p| {
            p.file_name().is_some_and(|n| pred(&n.to_string_lossy()))
                && p.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|m| m >= since)
        })
        .collect()
}
