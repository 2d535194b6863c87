//! Downloading remote files and trees over SFTP on the host's session.

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

/// Copies `remote` (a file or a tree; remote symlinks are skipped) to
/// `rel` below the local directory `into`, never writing outside it (see
/// [`crate::host::confined`]).
pub fn download(
    host: &str,
    conn: &Conn,
    remote: &str,
    (into, rel): (&Path, &Path),
    progress: &mut dyn Progress,
) -> Result<u64, RemoteError> {
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
    conn.sess.set_blocking(true);
    // A transfer that makes no progress for this long fails.
    let _stall = super::exec::BlockingTimeout::set(&conn.sess, STALL_MS);
    let sftp = conn.sess.sftp().map_err(ssh("opening SFTP".into()))?;
    let root = PathBuf::from(remote);
    let stat = sftp
        .stat(&root)
        .map_err(ssh(format!("{remote} cannot be read")))?;
    let mut total = 0;
    let local = into;
    let mut todo: Vec<(PathBuf, PathBuf, bool)> =
        vec![(PathBuf::from(remote), rel.to_path_buf(), stat.is_dir())];
    while let Some((src, dst, is_dir)) = todo.pop() {
        let shown = local.join(&dst).display().to_string();
        if is_dir {
            confined::create_dirs(local, &dst).map_err(io(format!("creating {shown}")))?;
            let entries = sftp
                .readdir(&src)
                .map_err(ssh(format!("listing {}", src.display())))?;
            for (path, st) in entries {
                let Some(fname) = path.file_name() else {
                    continue;
                };
                if st.file_type().is_symlink() {
                    continue;
                }
                todo.push((path.clone(), dst.join(fname), st.is_dir()));
            }
            continue;
        }
        let size = sftp.stat(&src).ok().and_then(|s| s.size).unwrap_or(0);
        progress.file(&src, size);
        let mut f = sftp
            .open(&src)
            .map_err(ssh(format!("opening {}", src.display())))?;
        let mut out =
            confined::create_file(local, &dst).map_err(io(format!("creating {shown}")))?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = f
                .read(&mut buf)
                .map_err(io(format!("reading {}", src.display())))?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])
                .map_err(io(format!("writing {shown}")))?;
            total += n as u64;
            progress.bytes(n as u64);
        }
    }
    Ok(total)
}
