//! Running one command on an open session: stdout and stderr read together
//! (neither can stall the other), a deadline enforced on both ends (the remote
//! side runs under coreutils `timeout`, which ends the whole process group),
//! and the exit code, output and duration returned.

use super::session::Conn;
use std::io::{ErrorKind, Read};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What a finished command left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdOutput {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
    pub timed_out: bool,
}

impl CmdOutput {
    pub fn success(&self) -> bool {
        self.exit_code == 0 && !self.timed_out
    }

    /// The output when the command exited 0, else a `Failed` error naming the
    /// host, the command, the exit code and the tail of stderr.
    pub fn checked(self, host: &str, command: &str) -> Result<CmdOutput, super::RemoteError> {
        if self.exit_code == 0 {
            return Ok(self);
        }
        if let Some(line) = self
            .stderr
            .lines()
            .find(|l| l.contains(super::error::NO_SPACE))
        {
            return Err(super::RemoteError::NoSpace {
                host: host.to_string(),
                path: no_space_path(line)
                    .unwrap_or_else(|| format!("(a file of `{}`)", super::tail(command, 120))),
                detail: line
                    .split(super::error::NO_SPACE)
                    .nth(1)
                    .map(|rest| rest.trim().to_string())
                    .filter(|rest| !rest.is_empty())
                    .map(|rest| format!(" {rest}"))
                    .unwrap_or_default(),
            });
        }
        Err(super::RemoteError::Failed {
            host: host.to_string(),
            command: command.to_string(),
            code: self.exit_code,
            stderr_tail: super::tail(&self.stderr, 1000),
        })
    }
}

/// The path a "No space left on device" line of the shell or coreutils
/// names (`sh: 1: cannot create /x: …`, `mkdir: cannot create directory
/// '/x': …`, `tee: /x: …`), if it names one.
pub fn no_space_path(line: &str) -> Option<String> {
    let head = line.split(super::error::NO_SPACE).next()?.trim_end();
    let head = head.strip_suffix(':').unwrap_or(head);
    let head = head.trim_end_matches(['\'', '’']);
    let start = head
        .char_indices()
        .rev()
        .find(|(_, c)| matches!(c, ' ' | '\'' | '‘'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let path = &head[start..];
    path.starts_with('/').then(|| path.to_string())
}

/// Exit code of coreutils `timeout` when it ended the command.
const TIMEOUT_EXIT: i32 = 124;
/// Extra seconds the local side waits past the remote deadline.
const LOCAL_GRACE: Duration = Duration::from_secs(5);

/// The command line actually executed: the user's shell command under
/// `timeout`, with KILL following TERM after 2 s.
pub fn wrap(command: &str, timeout: Duration) -> String {
    crate::shell::steps::with_timeout(command, timeout)
}

/// Where the failure happened, so the caller knows whether a retry is safe.
pub enum ExecError {
    /// Nothing reached the host (channel open or exec request failed).
    NotStarted(String),
    /// The command may have run.
    Started(String),
    LocalTimeout,
    Cancelled,
}

/// Runs `command`, feeding it `stdin` (then end of file). When `cancel` becomes
/// true the wait ends early (the remote side's own timeout ends the command).
pub fn run(
    conn: &Conn,
    command: &str,
    stdin: &[u8],
    timeout: Duration,
    cancel: Option<&AtomicBool>,
) -> Result<CmdOutput, ExecError> {
    let start = Instant::now();
    let sess = &conn.sess;
    sess.set_blocking(true);
    let not_started = |e: ssh2::Error| ExecError::NotStarted(e.to_string());
    let started = |e: ssh2::Error| ExecError::Started(e.to_string());
    let mut ch = sess.channel_session().map_err(not_started)?;
    ch.exec(&wrap(command, timeout)).map_err(not_started)?;
    if !stdin.is_empty() {
        std::io::Write::write_all(&mut ch, stdin).map_err(|e| ExecError::Started(e.to_string()))?;
    }
    ch.send_eof().map_err(started)?;
    sess.set_blocking(false);
    let deadline = start + timeout + LOCAL_GRACE;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut buf = [0u8; 32 * 1024];
    let result = loop {
        let mut progressed = false;
        let mut closed = 0;
        let mut failure = None;
        for (stream_id, sink) in [(0, &mut out), (1, &mut err)] {
            let mut s = ch.stream(stream_id);
            match s.read(&mut buf) {
                Ok(0) => closed += 1,
                Ok(n) => {
                    sink.extend_from_slice(&buf[..n]);
                    progressed = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => failure = Some(ExecError::Started(e.to_string())),
            }
        }
        if let Some(f) = failure {
            break Err(f);
        }
        if closed == 2 && ch.eof() {
            break Ok(());
        }
        if progressed {
            continue;
        }
        if cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
            break Err(ExecError::Cancelled);
        }
        let now = Instant::now();
        if now >= deadline {
            break Err(ExecError::LocalTimeout);
        }
        wait_socket(conn, (deadline - now).min(Duration::from_millis(200)));
    };
    if let Err(e) = result {
        // No blocking close: it would wait for the remote command to end. The
        // caller drops the whole session instead, which closes the connection.
        drop(ch);
        return Err(e);
    }
    sess.set_blocking(true);
    ch.wait_close().map_err(started)?;
    let exit_code = ch.exit_status().map_err(started)?;
    let duration = start.elapsed();
    Ok(CmdOutput {
        timed_out: exit_code == TIMEOUT_EXIT && duration >= timeout,
        exit_code,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
        duration,
    })
}

/// Sleeps until the session's socket is readable (or writable when libssh2
/// wants to send), or `max` passes.
fn wait_socket(conn: &Conn, max: Duration) {
    let dirs = conn.sess.block_directions();
    let mut events = libc::POLLIN;
    if matches!(
        dirs,
        ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both
    ) {
        events |= libc::POLLOUT;
    }
    let mut fds = libc::pollfd {
        fd: conn.tcp.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe {
        libc::poll(&mut fds, 1, max.as_millis().max(1) as libc::c_int);
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    /// Lines as dash, coreutils and tee print them on a full tmpfs.
    #[rstest]
    #[case(
        "sh: 1: cannot create /w/x.json: No space left on device",
        Some("/w/x.json")
    )]
    #[case(
        "mkdir: cannot create directory '/w/d': No space left on device",
        Some("/w/d")
    )]
    #[case(
        "mkdir: cannot create directory ‘/w/d’: No space left on device",
        Some("/w/d")
    )]
    #[case("tee: /w/s.log.part: No space left on device", Some("/w/s.log.part"))]
    #[case("cat: write error: No space left on device", None)]
    fn names_the_path_of_a_full_write(#[case] line: &str, #[case] want: Option<&str>) {
        assert_eq!(super::no_space_path(line).as_deref(), want);
    }
}
