//! Reading and writing the results file: the schema check on read, and
//! atomic writes (a temporary file in the same directory, then rename).

use super::{Results, SCHEMA};
use serde::Deserialize;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("cannot read results file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "results file {path} is not valid ({source}); expected a results.json written by ebpf-perf"
    )]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("results file {path} has schema {found}; this ebpf-perf reads schemas 1 to {SCHEMA} (re-run, or use the ebpf-perf that wrote it)")]
    Schema { path: PathBuf, found: u32 },
    #[error("cannot write results file {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// Reads a results file, checking its schema version.
pub fn read(path: &Path) -> Result<Results, ResultsError> {
    let text = std::fs::read_to_string(path).map_err(|source| ResultsError::Read {
        path: path.into(),
        source,
    })?;
    let schema_error = |found| ResultsError::Schema {
        path: path.into(),
        found,
    };
    match serde_json::from_str::<Results>(&text) {
        Ok(mut r) if (1..SCHEMA).contains(&r.schema) => {
            if r.schema == 1 {
                // Schema 1 loads into blocks (see `results::block`).
                for t in &mut r.trials {
                    t.upgrade();
                }
            }
            // Schemas 1 and 2 scored stability 0–100; it is 0–10 now.
            for d in &mut r.decisions {
                for s in [&mut d.a, &mut d.b] {
                    if let Some(x) = &mut s.stability_score {
                        *x /= 10.0;
                    }
                }
            }
            Ok(r)
        }
        Ok(r) if r.schema == SCHEMA => Ok(r),
        Ok(r) => Err(schema_error(r.schema)),
        Err(source) => {
            // Another schema may fail to parse: say so rather than where.
            #[derive(Deserialize)]
            struct Head {
                schema: u32,
            }
            match serde_json::from_str::<Head>(&text) {
                Ok(h) if !(1..=SCHEMA).contains(&h.schema) => Err(schema_error(h.schema)),
                _ => Err(ResultsError::Parse {
                    path: path.into(),
                    source,
                }),
            }
        }
    }
}

/// Writes atomically: a temporary file in the same directory, then rename.
pub fn write(path: &Path, results: &Results) -> Result<(), ResultsError> {
    let err = |source| ResultsError::Write {
        path: path.into(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    // Compact: a large matrix's file is read by programs (and `jq` for people).
    let data = serde_json::to_vec(results).map_err(|e| err(io::Error::other(e)))?;
    write_atomic(path, &data).map_err(err)
}

/// Writes a file of the controller atomically: a fresh temporary file in the
/// same directory (created exclusively, under an unpredictable name), then
/// renamed over `path`; a crash leaves the old file or the new one. Its mode
/// is 0666 less the umask, like any file a command writes.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut tmp = temp_beside(path)?;
    io::Write::write_all(&mut tmp, data)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A fresh temporary file in `path`'s directory, mode 0666 less the umask
/// (`open(2)` applies it), to be renamed over `path`.
pub fn temp_beside(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
}
