//! Writing what a host sent below a local directory, which the host cannot
//! make us leave: paths are relative and plain (no root, no `..`), no write
//! goes through a symlink (one in the way is an error, one at the file's
//! own name is replaced), and files get 0644 and directories 0755 whatever
//! mode the host gave them.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

fn refuse(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, what)
}

/// The plain components of `rel`, or why it is not a path below a directory.
fn parts(rel: &Path) -> io::Result<Vec<&std::ffi::OsStr>> {
    rel.components()
        .filter(|c| *c != Component::CurDir)
        .map(|c| match c {
            Component::Normal(p) => Ok(p),
            _ => Err(refuse(format!(
                "{} is not a plain relative path (absolute, or with ..)",
                rel.display()
            ))),
        })
        .collect()
}

/// Creates the directories `rel` below `root` (0755), refusing any
/// component that is a symlink or not a directory.
pub fn create_dirs(root: &Path, rel: &Path) -> io::Result<PathBuf> {
    let mut at = root.to_path_buf();
    for p in parts(rel)? {
        at.push(p);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(refuse(format!(
                    "{} is a symlink; nothing is written through it (remove it to fetch here)",
                    at.display()
                )))
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(refuse(format!("{} is not a directory", at.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new().mode(0o755).create(&at)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(at)
}

/// Creates (or truncates) the file `rel` below `root` (0644), its
/// directories made by [`create_dirs`]; a symlink at its name is removed
/// first, and the file is opened without following one.
pub fn create_file(root: &Path, rel: &Path) -> io::Result<File> {
    let ps = parts(rel)?;
    let Some((name, dirs)) = ps.split_last() else {
        return Err(refuse(format!("{} names no file", rel.display())));
    };
    let dir = create_dirs(root, &dirs.iter().collect::<PathBuf>())?;
    let path = dir.join(name);
    if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        fs::remove_file(&path)?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
}

/// The bytes an unprivileged writer may still use on the file system of
/// `dir` (statvfs: available blocks times the fragment size).
pub fn free_bytes(dir: &Path) -> io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| refuse(format!("{} holds a NUL byte", dir.display())))?;
    // SAFETY: an all-zero statvfs is a valid value of this plain C struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a live statvfs to fill.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn nothing_leaves_the_root() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
        for rel in [
            "link/pwn",
            "../pwn",
            "/tmp/pwn",
            "a/../../pwn",
            "link/sub/pwn",
        ] {
            assert!(create_file(root.path(), Path::new(rel)).is_err(), "{rel}");
        }
        assert!(create_dirs(root.path(), Path::new("link/sub")).is_err());
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_symlink_at_the_name_is_replaced_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("victim");
        fs::write(&target, "keep").unwrap();
        fs::create_dir(root.path().join("d")).unwrap();
        std::os::unix::fs::symlink(&target, root.path().join("d/f")).unwrap();
        create_file(root.path(), Path::new("d/f"))
            .unwrap()
            .write_all(b"new")
            .unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
        assert_eq!(fs::read_to_string(root.path().join("d/f")).unwrap(), "new");
        let m = fs::symlink_metadata(root.path().join("d/f")).unwrap();
        assert!(m.is_file());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(m.permissions().mode() & 0o777 & !0o022, 0o644 & !0o022);
    }

    /// Against df's figure for the same file system (in 1 KiB blocks).
    #[test]
    fn free_bytes_is_what_df_says_is_available() {
        let dir = tempfile::tempdir().unwrap();
        let ours = free_bytes(dir.path()).unwrap();
        let df = std::process::Command::new("df")
            .args(["-P", "-k"])
            .arg(dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&df.stdout);
        let kib: u64 = text
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .nth(3)
            .unwrap()
            .parse()
            .unwrap();
        // The file system is shared: allow what others wrote in between.
        let diff = (ours / 1024).abs_diff(kib);
        assert!(diff < 64 * 1024, "statvfs {ours} B, df {kib} KiB");
        assert!(free_bytes(Path::new("/no/such/dir")).is_err());
    }
}
