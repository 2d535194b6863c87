//! Remote errors: each says which host, what was being done, and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{host}: not connecting: {config}/ssh-config.yaml says `list_only: true` (its hosts are elsewhere; list, validate and generate workflows only)")]
    ListOnly { host: String, config: String },
    #[error("{host}: the lab is not up (its network namespace is missing); run `ebpf-perf lab up` as root")]
    LabDown { host: String },
    #[error("host {host:?} is not in ssh-config.yaml")]
    UnknownHost { host: String },
    #[error(
        "{host} ({addr}): cannot connect: {source}; is sshd running there and the address right?"
    )]
    Connect {
        host: String,
        addr: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    HostKeyChanged(Box<ChangedKey>),
    #[error("{host}: host key {fingerprint} is revoked in {}:{line}; refusing to connect", file.display())]
    HostKeyRevoked {
        host: String,
        fingerprint: String,
        file: PathBuf,
        line: usize,
    },
    #[error(
        "{host}: host key {fingerprint} of {name} is not in {} and host_key_check is strict; \
         add it (ssh-keyscan) or use accept-new",
        file.display()
    )]
    HostKeyUnknown {
        host: String,
        name: String,
        fingerprint: String,
        file: PathBuf,
    },
    #[error("{host}: authentication as {user} failed ({tried}); {hint}")]
    Auth {
        host: String,
        user: String,
        tried: String,
        hint: String,
    },
    #[error("{host}: {what}: {source}")]
    Ssh {
        host: String,
        what: String,
        source: ssh2::Error,
    },
    #[error("{host}: {what}: {source}")]
    Io {
        host: String,
        what: String,
        source: std::io::Error,
    },
    #[error("{host}: `{command}` timed out after {secs:.1} s and was ended")]
    Timeout {
        host: String,
        command: String,
        secs: f64,
    },
    #[error("{host}: `{command}` exited with {code}: {stderr_tail}")]
    Failed {
        host: String,
        command: String,
        code: i32,
        stderr_tail: String,
    },
    #[error("{host}: the connection was lost while running `{command}` ({detail}); the host or its link went away")]
    ConnectionLost {
        host: String,
        command: String,
        detail: String,
    },
    #[error("{host}: unreachable for {secs:.0} s ({error}); not retried before {retry_in:.0} s more, so this fails at once")]
    Unreachable {
        host: String,
        secs: f64,
        retry_in: f64,
        error: String,
    },
    #[error("{host}: no space left on device at {path}{detail}; free space there or point the host's workdir at a larger file system")]
    NoSpace {
        host: String,
        path: String,
        /// What the message said after "No space left on device", if anything.
        detail: String,
    },
    #[error("{host}: `{command}` was interrupted")]
    Interrupted { host: String, command: String },
    #[error("{host}: {what}")]
    Protocol { host: String, what: String },
    /// A copy that would pass a limit (`fetch --max-bytes/--max-files`,
    /// the local disk), or a remote entry that is no file to copy.
    #[error("{host}: {what}")]
    Refused { host: String, what: String },
}

/// A host key that differs from the one known_hosts holds.
#[derive(Debug, thiserror::Error)]
#[error(
    "{host}: HOST KEY CHANGED: the server offers {key_type} {fingerprint}, but {}:{line} holds \
     {known} for {name}. Refusing to connect. If the host was really reinstalled, remove \
     that line (ssh-keygen -R '{name}' -f {})",
    file.display(),
    file.display()
)]
pub struct ChangedKey {
    pub host: String,
    pub name: String,
    pub key_type: String,
    /// What the server offers.
    pub fingerprint: String,
    /// What known_hosts holds at `line`.
    pub known: String,
    pub file: PathBuf,
    pub line: usize,
}

impl RemoteError {
    /// Did this fail because the connection itself is gone?
    pub fn is_transport(&self) -> bool {
        match self {
            RemoteError::Ssh { source, .. } => matches!(
                source.code(),
                ssh2::ErrorCode::Session(-7 | -13 | -43 | -9 | -2)
            ),
            RemoteError::Io { .. } => true,
            _ => false,
        }
    }

    /// Is the host (or the way to it) gone, so that a stop must wait until
    /// it is reachable again?
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            RemoteError::Connect { .. }
                | RemoteError::Unreachable { .. }
                | RemoteError::ConnectionLost { .. }
                | RemoteError::Timeout { .. }
        ) || self.is_transport()
    }
}

/// What coreutils and the shell print when a write hits a full file system.
pub const NO_SPACE: &str = "No space left on device";

/// The end of a text, at most `max` bytes, starting at a line boundary when
/// one lies within the last `max` bytes (else at a char boundary).
pub fn tail(text: &str, max: usize) -> String {
    let t = text.trim_end();
    let mut start = t.len().saturating_sub(max);
    while !t.is_char_boundary(start) {
        start += 1;
    }
    if start > 0 && !t[..start].ends_with('\n') {
        if let Some(nl) = t[start..].find('\n') {
            if nl + 1 < t.len() - start {
                start += nl + 1;
            }
        }
    }
    t[start..].trim_start().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tail_starts_at_a_line() {
        assert_eq!(
            super::tail("first line\nsecond\nthird\n", 12),
            "second\nthird"
        );
        assert_eq!(super::tail("short", 100), "short");
        assert_eq!(super::tail("one very long line", 4), "line");
    }
}
