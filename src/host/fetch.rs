//! `ebpf-perf fetch`: copies a host's result tree (or any remote path) to
//! this machine, file by file or packed remotely with tar+gzip as one file.

use crate::host::confined;
use crate::host::remote::{Budget, Fetched, Limits, Progress, Remote, RemoteError, SHORT};
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

/// `ebpf-perf fetch`'s flags.
#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// Host name from ssh-config.yaml.
    #[arg(long)]
    pub host: String,
    /// Local directory to copy into.
    #[arg(long)]
    pub local_dir: PathBuf,
    /// Remote path; default: the host's performance-test-results root.
    #[arg(long)]
    pub remote_path: Option<String>,
    /// Pack remotely with tar+gzip and transfer one file.
    #[arg(long)]
    pub compress: bool,
    /// Copy at most this many bytes (unpacked, with --compress); a tree
    /// larger than this, or than the local disk's free space, is refused
    /// before anything is copied.
    #[arg(long, default_value_t = crate::host::remote::DEFAULT_LIMITS.max_bytes)]
    pub max_bytes: u64,
    /// Copy at most this many files and directories.
    #[arg(long, default_value_t = crate::host::remote::DEFAULT_LIMITS.max_files)]
    pub max_files: u64,
}

impl FetchArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.max_bytes,
            max_files: self.max_files,
        }
    }
}

/// What to tell the user about the entries a fetch left out.
pub fn skipped_lines(f: &Fetched) -> Vec<String> {
    const SHOWN: usize = 5;
    if f.skipped.is_empty() {
        return Vec::new();
    }
    let more = f.skipped.len().saturating_sub(SHOWN);
    let mut names = f.skipped[..f.skipped.len().min(SHOWN)].join(", ");
    if more > 0 {
        names += &format!(" and {more} more");
    }
    vec![format!(
        "skipped {} entries that are neither regular files nor directories (devices, FIFOs, sockets): {names}",
        f.skipped.len()
    )]
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

/// Fetches `remote_path` (default: the host's results root) into `local_dir`,
/// within `limits` (unpacked bytes and entries too, with `compress`);
/// returns the local path of the copy and what was copied (the bytes
/// transferred, which `compress` makes the archive's).
pub fn fetch(
    remote: &Remote,
    host: &str,
    local_dir: &Path,
    (remote_path, compress): (Option<&str>, bool),
    limits: Limits,
    progress: &mut dyn Progress,
) -> Result<(PathBuf, Fetched), FetchError> {
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
        let f = remote.download(host, &root, (local_dir, Path::new(&base)), limits, progress)?;
        return Ok((dest, f));
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
    let got = remote.download(host, &archive, (local_dir, &tmp_name), limits, progress);
    // The remote archive goes whatever happened.
    let cleanup = remote.exec(host, &steps::rm_f(&archive), SHORT);
    let mut fetched = got?;
    cleanup?;
    let f = std::fs::File::open(local_tmp.path()).map_err(|source| FetchError::Local {
        what: format!("opening {}", local_tmp.path().display()),
        source,
    })?;
    // The archive's own bytes are on this disk already: the unpacked tree
    // is counted afresh, against what is left.
    let budget = Budget::new(limits, local_dir);
    let unpacked = unpack(f, local_dir, &base, budget).map_err(|source| FetchError::Unpack {
        archive: local_tmp.path().to_path_buf(),
        dir: local_dir.join(&base),
        source,
    })?;
    fetched.files = unpacked.entries;
    fetched.skipped = unpacked.skipped;
    Ok((dest, fetched))
}

/// What an archive unpacked to.
#[derive(Debug, Default)]
struct Unpacked {
    /// Entries read.
    entries: u64,
    /// Entries that are neither links nor regular files nor directories
    /// (devices, FIFOs, sockets), named as `fetch` without `--compress`
    /// names them: escaped, for the names are the host's.
    skipped: Vec<String>,
}

/// Unpacks the archive of `base` below `local_dir`: directories and regular
/// files only (links are skipped, devices and the like skipped and named),
/// every entry inside `base/` or the whole archive is refused, written
/// through [`confined`] (no symlink followed, modes 0644/0755), every entry
/// and every unpacked byte taken from `budget` (a gzip bomb stops at its
/// limit).
fn unpack(
    archive: std::fs::File,
    local_dir: &Path,
    base: &str,
    mut budget: Budget,
) -> std::io::Result<Unpacked> {
    use tar::EntryType;
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let mut out = Unpacked::default();
    for entry in a.entries()? {
        let mut e = entry?;
        budget.take(1, 0).map_err(too_much)?;
        out.entries += 1;
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
                copy_within(&mut e, &mut f, &mut budget)?;
            }
            EntryType::Symlink | EntryType::Link => {}
            _ => out
                .skipped
                .push(crate::untrusted::visible(&path.display().to_string()).into_owned()),
        }
    }
    Ok(out)
}

fn too_much(why: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::FileTooLarge, why)
}

/// Copies `from` into `to`, each chunk taken from `budget` before it is
/// written.
fn copy_within(
    from: &mut dyn std::io::Read,
    to: &mut dyn std::io::Write,
    budget: &mut Budget,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        budget.take(0, n as u64).map_err(too_much)?;
        to.write_all(&buf[..n])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::remote::DEFAULT_LIMITS;

    fn budget(dir: &Path) -> Budget {
        Budget::new(DEFAULT_LIMITS, dir)
    }

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
    fn an_archive_names_the_devices_and_fifos_it_skips() {
        use tar::EntryType::{Char, Directory, Fifo, Regular};
        let dir = tempfile::tempdir().unwrap();
        let a = archive(&[
            ("r/", Directory, b""),
            ("r/zero", Char, b""),
            ("r/ok.txt", Regular, b"ok"),
            ("r/p\x1b[2J", Fifo, b""),
        ]);
        let u = unpack(a, dir.path(), "r", budget(dir.path())).unwrap();
        assert_eq!(u.entries, 4);
        assert_eq!(u.skipped, ["r/zero", "r/p\\x1b[2J"]);
        assert!(!dir.path().join("r/zero").exists());
        let lines = skipped_lines(&Fetched {
            skipped: u.skipped,
            ..Default::default()
        });
        assert!(lines.iter().any(|l| l.contains("r/zero")), "{lines:?}");
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
        let u = unpack(a, dir.path(), "r", budget(dir.path())).unwrap();
        assert_eq!(std::fs::read(dir.path().join("r/ok.txt")).unwrap(), b"ok");
        assert!(std::fs::symlink_metadata(dir.path().join("r/link")).is_err());
        assert!(u.skipped.is_empty(), "{:?}", u.skipped);
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
            let e = unpack(
                archive(&[(name, Regular, b"x")]),
                dir.path(),
                "r",
                budget(dir.path()),
            )
            .unwrap_err();
            assert!(
                e.to_string().contains("refusing") || e.to_string().contains("plain"),
                "{name}: {e}"
            );
        }
        assert!(!dir.path().join(".git").exists() && !dir.path().join("other").exists());
    }

    /// Issue 31 (12): a gzip bomb (64 MiB of zeros in a 64 KiB archive)
    /// stops at --max-bytes, having written no more than that.
    #[test]
    fn a_gzip_bomb_stops_at_the_byte_limit() {
        use tar::EntryType::{Directory, Regular};
        let dir = tempfile::tempdir().unwrap();
        let zeros = vec![0u8; 64 << 20];
        let a = archive(&[("r/", Directory, b""), ("r/bomb", Regular, &zeros)]);
        assert!(a.metadata().unwrap().len() < 1 << 20);
        let limits = Limits {
            max_bytes: 1 << 20,
            max_files: 10,
        };
        let e = unpack(a, dir.path(), "r", Budget::new(limits, dir.path())).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
        assert!(
            e.to_string().contains("more than 1.0 MiB (--max-bytes)"),
            "{e}"
        );
        let written = std::fs::metadata(dir.path().join("r/bomb")).unwrap().len();
        assert!(written <= 1 << 20, "{written}");
    }

    /// ... and an archive of many entries at --max-files.
    #[test]
    fn an_archive_of_many_entries_stops_at_the_file_limit() {
        use tar::EntryType::Regular;
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..5).map(|i| format!("r/f{i}")).collect();
        let entries: Vec<_> = names
            .iter()
            .map(|n| (n.as_str(), Regular, &b"x"[..]))
            .collect();
        let limits = Limits {
            max_bytes: 1 << 20,
            max_files: 3,
        };
        let e = unpack(
            archive(&entries),
            dir.path(),
            "r",
            Budget::new(limits, dir.path()),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("more than 3 files (--max-files)"),
            "{e}"
        );
        assert_eq!(std::fs::read_dir(dir.path().join("r")).unwrap().count(), 3);
    }

    /// The free space of the disk is a limit too.
    #[test]
    fn what_does_not_fit_on_the_disk_is_refused_before_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let free = crate::host::confined::free_bytes(dir.path()).unwrap();
        let unlimited = Limits {
            max_bytes: u64::MAX,
            max_files: u64::MAX,
        };
        let b = Budget::new(unlimited, dir.path());
        let why = b.over(0, free + (1 << 30)).expect("does not fit");
        assert!(why.contains("would not fit in the"), "{why}");
        assert!(b.over(1, 1).is_none());
    }
}
