//! `ebpf-perf fetch`: copies a host's result tree (or any remote path) to
//! this machine, file by file or packed remotely with tar+gzip as one file.

use crate::host::remote::{Progress, Remote, RemoteError, SHORT};
use crate::naming;
use crate::shell::steps;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error("unpacking {archive} into {dir}: {source}")]
    Unpack {
        archive: PathBuf,
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Local {
        what: String,
        source: std::io::Error,
    },
}

/// Progress on stderr for transfers past 1 MiB, at most twice a second.
pub struct StderrProgress {
    total: u64,
    last: Instant,
    started: Instant,
}

impl Default for StderrProgress {
    fn default() -> Self {
        StderrProgress {
            total: 0,
            last: Instant::now(),
            started: Instant::now(),
        }
    }
}

impl Progress for StderrProgress {
    fn file(&mut self, _: &Path, _: u64) {}
    fn bytes(&mut self, n: u64) {
        self.total += n;
        if self.total > 1 << 20 && self.last.elapsed() > Duration::from_millis(500) {
            self.last = Instant::now();
            let mib = self.total as f64 / f64::from(1 << 20);
            eprintln!(
                "fetch: {mib:.1} MiB ({:.1} MiB/s)",
                mib / self.started.elapsed().as_secs_f64().max(0.001)
            );
        }
    }
}

/// Fetches `remote_path` (default: the host's results root) into `local_dir`;
/// returns the local path of the copy and the bytes transferred.
pub fn fetch(
    remote: &Remote,
    host: &str,
    local_dir: &Path,
    remote_path: Option<&str>,
    compress: bool,
    progress: &mut dyn Progress,
) -> Result<(PathBuf, u64), FetchError> {
    let root = match remote_path {
        Some(p) => p.trim_end_matches('/').to_string(),
        None => naming::results_root(&remote.host(host)?.workdir),
    };
    let base = Path::new(&root)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".into());
    let dest = local_dir.join(&base);
    std::fs::create_dir_all(local_dir).map_err(|source| FetchError::Local {
        what: format!("creating {}", local_dir.display()),
        source,
    })?;
    if !compress {
        let n = remote.download(host, &root, &dest, progress)?;
        return Ok((dest, n));
    }
    let parent = Path::new(&root)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "/".into());
    let made = remote.check(host, &steps::pack(&parent, &base), Duration::from_secs(600))?;
    let archive = made.stdout.trim().to_string();
    let local_tmp = tempfile::Builder::new()
        .suffix(".tgz")
        .tempfile_in(local_dir)
        .map_err(|source| FetchError::Local {
            what: format!("creating a temporary file in {}", local_dir.display()),
            source,
        })?;
    let got = remote.download(host, &archive, local_tmp.path(), progress);
    // The remote archive goes whatever happened.
    let cleanup = remote.exec(host, &steps::rm_f(&archive), SHORT);
    let n = got?;
    cleanup?;
    let f = std::fs::File::open(local_tmp.path()).map_err(|source| FetchError::Local {
        what: format!("opening {}", local_tmp.path().display()),
        source,
    })?;
    tar::Archive::new(flate2::read::GzDecoder::new(f))
        .unpack(local_dir)
        .map_err(|source| FetchError::Unpack {
            archive: local_tmp.path().to_path_buf(),
            dir: local_dir.to_path_buf(),
            source,
        })?;
    Ok((dest, n))
}
