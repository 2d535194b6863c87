//! `ebpf-perf fetch`: copies a host's result tree (or any remote path) to
//! this machine, file by file or packed remotely with tar+gzip as one file.

use crate::host::confined;
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
        let n = remote.download(host, &root, (local_dir, Path::new(&base)), progress)?;
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
    let tmp_name = local_tmp
        .path()
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_default();
    let got = remote.download(host, &archive, (local_dir, &tmp_name), progress);
    // The remote archive goes whatever happened.
    let cleanup = remote.exec(host, &steps::rm_f(&archive), SHORT);
    let n = got?;
    cleanup?;
    let f = std::fs::File::open(local_tmp.path()).map_err(|source| FetchError::Local {
        what: format!("opening {}", local_tmp.path().display()),
        source,
    })?;
    unpack(f, local_dir, &base).map_err(|source| FetchError::Unpack {
        archive: local_tmp.path().to_path_buf(),
        dir: local_dir.join(&base),
        source,
    })?;
    Ok((dest, n))
}

/// Unpacks the archive of `base` below `local_dir`: directories and regular
/// files only (links, devices and the like are skipped), every entry inside
/// `base/` or the whole archive is refused, written through
/// [`confined`] (no symlink followed, modes 0644/0755).
fn unpack(archive: std::fs::File, local_dir: &Path, base: &str) -> std::io::Result<()> {
    use tar::EntryType;
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    for entry in a.entries()? {
        let mut e = entry?;
        let path = e.path()?.into_owned();
        let inside = path
            .components()
            .find(|c| *c != std::path::Component::CurDir)
            .is_some_and(|c| c.as_os_str() == base);
        if !inside {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "the archive holds {}, outside {base}/; refusing it",
                    path.display()
                ),
            ));
        }
        match e.header().entry_type() {
            EntryType::Directory => {
                confined::create_dirs(local_dir, &path)?;
            }
            EntryType::Regular | EntryType::Continuous => {
                let mut f = confined::create_file(local_dir, &path)?;
                std::io::copy(&mut e, &mut f)?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gzipped tar holding `entries` (raw names, so that `..` and absolute
    /// names go in as a hostile host would send them).
    fn archive(entries: &[(&str, tar::EntryType, &[u8])]) -> std::fs::File {
        let mut f = tempfile::tempfile().unwrap();
        {
            let gz = flate2::write::GzEncoder::new(&mut f, flate2::Compression::fast());
            let mut b = tar::Builder::new(gz);
            for (name, kind, data) in entries {
                let mut h = tar::Header::new_old();
                let raw = &mut h.as_old_mut().name;
                raw[..name.len()].copy_from_slice(name.as_bytes());
                h.set_entry_type(*kind);
                h.set_size(data.len() as u64);
                h.set_mode(0o4777);
                if *kind == tar::EntryType::Symlink {
                    h.set_link_name("/").unwrap();
                }
                h.set_cksum();
                b.append(&h, *data).unwrap();
            }
            b.into_inner().unwrap().finish().unwrap();
        }
        use std::io::Seek;
        f.rewind().unwrap();
        f
    }

    #[test]
    fn an_archive_writes_only_plain_files_below_its_base() {
        use tar::EntryType::{Directory, Regular, Symlink};
        let dir = tempfile::tempdir().unwrap();
        let a = archive(&[
            ("r/", Directory, b""),
            ("r/ok.txt", Regular, b"ok"),
            ("r/link", Symlink, b""),
        ]);
        unpack(a, dir.path(), "r").unwrap();
        assert_eq!(std::fs::read(dir.path().join("r/ok.txt")).unwrap(), b"ok");
        assert!(std::fs::symlink_metadata(dir.path().join("r/link")).is_err());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("r/ok.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7000, 0, "no setuid from the host: {mode:o}");
        for name in [
            ".git/hooks/pre-commit",
            "r/../../escaped",
            "/tmp/abs",
            "other/x",
        ] {
            let e = unpack(archive(&[(name, Regular, b"x")]), dir.path(), "r").unwrap_err();
            assert!(
                e.to_string().contains("refusing") || e.to_string().contains("plain"),
                "{name}: {e}"
            );
        }
        assert!(!dir.path().join(".git").exists() && !dir.path().join("other").exists());
    }
}
