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
                path: no_space_path(&crate::untrusted::visible(line))
                    .unwrap_or_else(|| format!("(a file of `{}`)", super::tail(command, 120))),
                detail: line
                    .split(super::error::NO_SPACE)
                    .nth(1)
                    .map(|rest| crate::untrusted::visible(rest.trim()).into_owned())
                    .filter(|rest| !rest.is_empty())
                    .map(|rest| format!(" {rest}"))
                    .unwrap_or_default(),
            });
        }
        Err(super::RemoteError::Failed {
            host: host.to_string(),
            command: command.to_string(),
            code: self.exit_code,
            // The host's words: shown, not obeyed, wherever they go.
            stderr_tail: crate::untrusted::visible(&super::tail(&self.stderr, 1000)).into_owned(),
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
    let deadline = start + timeout + LOCAL_GRACE;
    // Blocking calls (the upload of stdin, the final close) end at the
    // command's deadline too: libssh2 fails them with a timeout error.
    let left_ms = || {
        let ms = deadline
            .saturating_duration_since(Instant::now())
            .as_millis();
        u32::try_from(ms).unwrap_or(u32::MAX).max(1)
    };
    let _reset = BlockingTimeout::set(sess, left_ms());
    let mut ch = sess.channel_session().map_err(not_started)?;
    ch.exec(&wrap(command, timeout)).map_err(not_started)?;
    if !stdin.is_empty() {
        std::io::Write::write_all(&mut ch, stdin).map_err(|e| ExecError::Started(e.to_string()))?;
    }
    ch.send_eof().map_err(started)?;
    sess.set_blocking(false);
    let (mut out, mut err) = (Capped::default(), Capped::default());
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
                    sink.push(&buf[..n]);
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
    sess.set_timeout(left_ms());
    ch.wait_close().map_err(started)?;
    let exit_code = ch.exit_status().map_err(started)?;
    let duration = start.elapsed();
    Ok(CmdOutput {
        timed_out: exit_code == TIMEOUT_EXIT && duration >= timeout,
        exit_code,
        stdout: out.text(),
        stderr: err.text(),
        duration,
    })
}

/// A limit on the session's blocking calls, lifted when dropped (whichever
/// way the call that set it ends).
pub struct BlockingTimeout<'a>(&'a ssh2::Session);

impl<'a> BlockingTimeout<'a> {
    pub fn set(sess: &'a ssh2::Session, ms: u32) -> BlockingTimeout<'a> {
        sess.set_timeout(ms);
        BlockingTimeout(sess)
    }
}

impl Drop for BlockingTimeout<'_> {
    fn drop(&mut self) {
        self.0.set_timeout(0);
    }
}

/// How much of a command's stdout or stderr is kept at its head, and as
/// much at its tail: what a command prints can no longer fill the
/// controller's memory.
pub const KEEP: usize = 8 << 20;

/// A stream's head and tail, with how much was left out between them.
#[derive(Default)]
struct Capped {
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    dropped: u64,
}

impl Capped {
    fn push(&mut self, mut bytes: &[u8]) {
        let room = KEEP.saturating_sub(self.head.len());
        let (h, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(h);
        bytes = rest;
        self.tail.extend(bytes);
        let over = self.tail.len().saturating_sub(KEEP);
        self.tail.drain(..over);
        self.dropped += over as u64;
    }

    fn text(self) -> String {
        let mut all = self.head;
        if self.dropped > 0 {
            all.extend_from_slice(
                format!("\n[ebpf-perf: {} bytes left out here]\n", self.dropped).as_bytes(),
            );
        }
        all.extend(self.tail);
        String::from_utf8_lossy(&all).into_owned()
    }
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
    // Issue 31 (4): a failed command's stderr is the host's text; its error
    // carries it shown, not obeyed.
    #[test]
    fn a_failure_carries_the_hosts_stderr_without_raw_controls() {
        let out = super::CmdOutput {
            exit_code: 3,
            stdout: String::new(),
            stderr: "boom \u{1b}]0;PWNED\u{7}\u{1b}[2J".into(),
            duration: std::time::Duration::ZERO,
            timed_out: false,
        };
        let e = out.checked("h", "true").unwrap_err().to_string();
        assert!(!e.contains('\u{1b}') && !e.contains('\u{7}'), "{e:?}");
        assert!(e.ends_with("boom \\x1b]0;PWNED\\x07\\x1b[2J"), "{e}");
    }

    #[test]
    fn a_flood_of_output_keeps_its_head_and_tail_only() {
        let mut c = super::Capped::default();
        let chunk = vec![b'x'; 1 << 20];
        c.push(b"HEAD");
        for _ in 0..40 {
            c.push(&chunk);
        }
        c.push(b"TAIL");
        let t = c.text();
        assert!(t.len() <= 2 * super::KEEP + 100, "{}", t.len());
        assert!(t.starts_with("HEAD") && t.ends_with("TAIL"));
        assert!(t.contains("bytes left out here"));
        let mut small = super::Capped::default();
        small.push(b"all of it");
        assert_eq!(small.text(), "all of it");
    }

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
