//! What the experiments of `examples/` share: the shipped configuration
//! copied into a session directory, and one session of the harness on it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Copies the shipped configuration (`config/`'s files) into `dir`.
pub fn copy_config(dir: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(repo().join("config"))? {
        let e = e?;
        if e.file_type()?.is_file() {
            std::fs::copy(e.path(), dir.join(e.file_name()))?;
        }
    }
    Ok(())
}

/// Runs session `s` of the configuration in `dir` with the selection
/// `select` (the release harness; its stderr into `session_S.log`) and
/// returns the results file's text, or why there is none.
pub fn session(dir: &Path, s: u32, select: &[&str]) -> Result<String, String> {
    let results: PathBuf = dir.join(format!("results_{s}.json"));
    let log = std::fs::File::create(dir.join(format!("session_{s}.log")))
        .map_err(|e| format!("session {s}: cannot write its log: {e}"))?;
    let status = Command::new(env!("CARGO"))
        .args(["test", "--release", "-q", "--test", "perf", "--"])
        .arg("--config-dir")
        .arg(dir)
        .arg("--results")
        .arg(&results)
        .arg("--junit")
        .arg(dir.join("junit.xml"))
        .arg("--no-report")
        .args(select)
        .current_dir(repo())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .status();
    match (status, std::fs::read_to_string(&results)) {
        (Ok(_), Ok(t)) => Ok(t),
        (st, r) => Err(format!("session {s}: no results ({st:?}, {r:?})")),
    }
}

/// Keeps session `s`'s results text and log in `keep`, saying so on failure.
pub fn keep(keep: &Path, dir: &Path, s: u32, text: &str) {
    let kept = std::fs::create_dir_all(keep)
        .and_then(|()| std::fs::write(keep.join(format!("results_{s}.json")), text))
        .and_then(|()| {
            std::fs::copy(
                dir.join(format!("session_{s}.log")),
                keep.join(format!("session_{s}.log")),
            )
            .map(|_| ())
        });
    if let Err(e) = kept {
        eprintln!("session {s}: cannot keep it in {}: {e}", keep.display());
    }
}
