//! Downloading remote files and trees over SFTP on the host's session.
//!
//! What the host holds is not trusted to be small or plain: the tree is
//! listed first, symlinks and entries that are neither regular files nor
//! directories (devices, FIFOs, sockets: a node for /dev/zero reads
//! forever) are skipped and named, and nothing is copied when the listing
//! passes [`Limits`] or the local disk's free space. While copying, the
//! same [`Budget`] stops a file that grows past them.

use super::error::RemoteError;
use super::session::Conn;
use crate::host::confined;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Told about transferred bytes; implementations print progress.
pub trait Progress {
    fn file(&mut self, remote: &Path, size: u64);
    fn bytes(&mut self, n: u64);
}

/// How long one SFTP call may block (no byte moved) before the transfer fails.
const STALL_MS: u32 = 60_000;

/// Says nothing.
impl Progress for () {
    fn file(&mut self, _: &Path, _: u64) {}
    fn bytes(&mut self, _: u64) {}
}

/// What one fetch may copy (`ebpf-perf fetch --max-bytes`, `--max-files`;
/// directories count as files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_files: u64,
}

/// 10 GiB and 100,000 files: a session's result tree is a few MB in a few
/// thousand files.
pub const DEFAULT_LIMITS: Limits = Limits {
    max_bytes: 10 << 30,
    max_files: 100_000,
};

/// What a copy has taken, against its [`Limits`] and the free space of
/// the local file system it writes to (read once, at the start).
#[derive(Debug)]
pub struct Budget {
    limits: Limits,
    free: Option<(u64, PathBuf)>,
    files: u64,
    bytes: u64,
}

impl Budget {
    pub fn new(limits: Limits, into: &Path) -> Budget {
        Budget {
            limits,
            free: confined::free_bytes(into)
                .ok()
                .map(|f| (f, into.to_path_buf())),
            files: 0,
            bytes: 0,
        }
    }

    /// Why `files` more files of `bytes` more bytes do not fit, if they don't.
    pub fn over(&self, files: u64, bytes: u64) -> Option<String> {
        let (f, b) = (
            self.files.saturating_add(files),
            self.bytes.saturating_add(bytes),
        );
        let mib = |n: u64| match n as f64 / f64::from(1 << 20) {
            m if m >= 1024.0 => format!("{:.1} GiB", m / 1024.0),
            m => format!("{m:.1} MiB"),
        };
        if f > self.limits.max_files {
            return Some(format!(
                "more than {} files (--max-files); raise it, or fetch part of the tree with --remote-path",
                self.limits.max_files
            ));
        }
        if b > self.limits.max_bytes {
            return Some(format!(
                "more than {} (--max-bytes); raise it, or fetch part of the tree with --remote-path",
                mib(self.limits.max_bytes)
            ));
        }
        match &self.free {
            Some((free, at)) if b > *free => Some(format!(
                "{} would not fit in the {} free at {}; free space there or fetch elsewhere",
                mib(b),
                mib(*free),
                at.display()
            )),
            _ => None,
        }
    }

    /// Takes `files` files and `bytes` bytes, or says which limit they pass.
    pub fn take(&mut self, files: u64, bytes: u64) -> Result<(), String> {
        if let Some(why) = self.over(files, bytes) {
            return Err(why);
        }
        self.files += files;
        self.bytes += bytes;
        Ok(())
    }
}

/// What a download copied, and what it left out.
#[derive(Debug, Default)]
pub struct Fetched {
    pub bytes: u64,
    pub files: u64,
    /// Remote entries that are neither regular files, directories nor
    /// symlinks (shown escaped: the names are the host's).
    pub skipped: Vec<String>,
}

/// One entry of the listing: remote path, local relative path, size.
struct Entry {
    src: PathBuf,
    dst: PathBuf,
    size: u64,
}

/// Copies `remote` (a file or a tree; remote symlinks are skipped) to
/// `rel` below the local directory `into`, never writing outside it (see
/// [`crate::host::confined`]), within `limits`.
pub fn download(
    host: &str,
    conn: &Conn,
    remote: &str,
    (into, rel): (&Path, &Path),
    limits: Limits,
    progress: &mut dyn Progress,
) -> Result<Fetched, RemoteError> {
    let ssh = |what: String| {
        move |source| RemoteError::Ssh {
            host: host.to_string(),
            what,
            source,
        }
    };
    let io = |what: String| {
        move |source| RemoteError::Io {
            host: host.to_string(),
            what,
            source,
        }
    };
    let refused = |what: String| RemoteError::Refused {
        host: host.to_string(),
        what,
    };
    conn.sess.set_blocking(true);
    // A transfer that makes no progress for this long fails.
    let _stall = super::exec::BlockingTimeout::set(&conn.sess, STALL_MS);
    let sftp = conn.sess.sftp().map_err(ssh("opening SFTP".into()))?;
    let shown = |p: &Path| crate::untrusted::visible(&p.display().to_string()).into_owned();
    let stat = sftp
        .stat(Path::new(remote))
        .map_err(ssh(format!("{} cannot be read", shown(Path::new(remote)))))?;
    let mut budget = Budget::new(limits, into);
    let mut fetched = Fetched::default();
    let (mut dirs, mut files) = (Vec::new(), Vec::new());
    let root = Entry {
        src: PathBuf::from(remote),
        dst: rel.to_path_buf(),
        size: stat.size.unwrap_or(0),
    };
    if stat.is_dir() {
        // The listing, bounded by the file count as it grows.
        let mut todo = vec![root];
        while let Some(d) = todo.pop() {
            let entries = sftp
                .readdir(&d.src)
                .map_err(ssh(format!("listing {}", shown(&d.src))))?;
            dirs.push(d.dst.clone());
            for (path, st) in entries {
                let Some(fname) = path.file_name() else {
                    continue;
                };
                let e = Entry {
                    dst: d.dst.join(fname),
                    size: st.size.unwrap_or(0),
                    src: path.clone(),
                };
                let kind = st.file_type();
                match () {
                    _ if kind.is_symlink() => continue,
                    _ if kind.is_dir() => todo.push(e),
                    _ if kind.is_file() => files.push(e),
                    _ => fetched.skipped.push(shown(&path)),
                }
            }
            let n = (dirs.len() + files.len()) as u64;
            if let Some(why) = budget.over(n, 0) {
                return Err(refused(format!("{}: {why}", shown(Path::new(remote)))));
            }
        }
    } else if stat.file_type().is_file() {
        files.push(root);
    } else {
        return Err(refused(format!(
            "{} is neither a regular file nor a directory (a device, FIFO or socket?); fetch copies files only",
            shown(Path::new(remote))
        )));
    }
    let total = files.iter().map(|f| f.size).fold(0u64, u64::saturating_add);
    let count = (dirs.len() + files.len()) as u64;
    budget
        .take(count, 0)
        .and_then(|()| match budget.over(0, total) {
            Some(why) => Err(why),
            None => Ok(()),
        })
        .map_err(|why| {
            refused(format!(
                "{} holds {count} files and directories, {total} bytes: {why}",
                shown(Path::new(remote))
            ))
        })?;
    for d in &dirs {
        let local = into.join(d).display().to_string();
        confined::create_dirs(into, d).map_err(io(format!("creating {local}")))?;
    }
    for f in &files {
        let local = into.join(&f.dst).display().to_string();
        progress.file(&f.src, f.size);
        let mut src = sftp
            .open(&f.src)
            .map_err(ssh(format!("opening {}", shown(&f.src))))?;
        let mut out =
            confined::create_file(into, &f.dst).map_err(io(format!("creating {local}")))?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = src
                .read(&mut buf)
                .map_err(io(format!("reading {}", shown(&f.src))))?;
            if n == 0 {
                break;
            }
            // A file that grew (or lied) since the listing stops here.
            budget
                .take(0, n as u64)
                .map_err(|why| refused(format!("{}: {why}", shown(&f.src))))?;
            out.write_all(&buf[..n])
                .map_err(io(format!("writing {local}")))?;
            fetched.bytes += n as u64;
            progress.bytes(n as u64);
        }
        fetched.files += 1;
    }
    Ok(fetched)
}
