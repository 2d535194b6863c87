//! The remote layer: the only way the product talks to a host. One SSH session
//! per host, opened lazily and reused for every command of the run; a session
//! found dead before a command started is reopened once, then the error
//! surfaces. Commands always have a timeout; values in command lines are
//! shell-quoted in `crate::shell`, where every snippet is built.
//!
//! A host that cannot be reached is marked down: its commands fail at once
//! (no connect timeout each) until [`RETRY_UNREACHABLE`] has passed, when
//! one command tries again. Stops that could not reach their host are kept
//! as pending, to be done by [`Remote::stop_pending`] once it is back.

mod error;
pub mod exec;
mod files;
mod processes;
pub mod secrets;
pub mod known_hosts;
pub mod session;

pub use error::{tail, ChangedKey, RemoteError};
pub use exec::CmdOutput;
pub use files::{Budget, Fetched, Limits, Progress, DEFAULT_LIMITS};
pub use processes::Spawn;
pub use session::{AuthMethod, KeyStatus};

use crate::config::{Config, SshHost};
use crate::shell::process::ProcessRecord;
use crate::shell::steps;
use exec::ExecError;
use indexmap::IndexMap;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Timeout of the framework's own short commands (mkdir, cat, kill scripts).
pub const SHORT: Duration = Duration::from_secs(30);

/// How long a host that could not be reached is left alone: its commands
/// fail at once in between.
pub const RETRY_UNREACHABLE: Duration = Duration::from_secs(10);

type Slot = Arc<Mutex<Option<session::Conn>>>;

/// A host that could not be reached.
struct Down {
    since: Instant,
    /// The last attempt to reach it; `None`: try at the next command.
    last_try: Option<Instant>,
    error: String,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Forgets a session without blocking on a polite SSH disconnect: shutting
/// the socket down makes libssh2's cleanup fail fast, and the server ends
/// the session (and its commands' channels) when the connection goes.
fn drop_session(g: &mut MutexGuard<'_, Option<session::Conn>>) {
    if let Some(c) = g.take() {
        let _ = c.tcp.shutdown(std::net::Shutdown::Both);
        c.sess.set_blocking(false);
    }
}

/// Sessions to the configured hosts.
pub struct Remote {
    hosts: IndexMap<String, SshHost>,
    /// The hosts are the built-in lab: connect only while its namespace exists.
    lab: bool,
    /// The configuration says `list_only`: never connect.
    list_only: bool,
    config_dir: PathBuf,
    slots: Mutex<HashMap<String, Slot>>,
    down: Mutex<HashMap<String, Down>>,
    /// Processes whose stop could not reach their host, per host.
    pending: Mutex<BTreeMap<String, Vec<ProcessRecord>>>,
}

/// What connecting to a host established.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub auth: AuthMethod,
    pub key: KeyStatus,
}

impl Remote {
    pub fn new(cfg: &Config) -> Remote {
        let mut r = Remote::from_hosts(cfg.ssh_hosts.clone(), cfg.dir.clone(), cfg.lab.is_some());
        r.list_only = cfg.list_only;
        r
    }

    pub fn from_hosts(hosts: IndexMap<String, SshHost>, config_dir: PathBuf, lab: bool) -> Remote {
        Remote {
            hosts,
            lab,
            list_only: false,
            config_dir,
            slots: Mutex::default(),
            down: Mutex::default(),
            pending: Mutex::default(),
        }
    }

    pub fn host(&self, name: &str) -> Result<&SshHost, RemoteError> {
        self.hosts
            .get(name)
            .ok_or_else(|| RemoteError::UnknownHost {
                host: name.to_string(),
            })
    }

    fn slot(&self, name: &str) -> Result<Slot, RemoteError> {
        self.host(name)?;
        let mut slots = locked(&self.slots);
        Ok(slots.entry(name.to_string()).or_default().clone())
    }

    /// The open session of `name`, opening it when needed.
    fn conn<'a>(
        &self,
        name: &str,
        guard: &'a mut MutexGuard<'_, Option<session::Conn>>,
    ) -> Result<&'a session::Conn, RemoteError> {
        if guard.is_none() {
            let h = self.host(name)?;
            if self.list_only {
                return Err(RemoteError::ListOnly {
                    host: name.to_string(),
                    config: self.config_dir.display().to_string(),
                });
            }
            if self.lab && !crate::host::lab::host_present(name) {
                return Err(RemoteError::LabDown {
                    host: name.to_string(),
                });
            }
            self.fail_fast(name)?;
            match session::open(name, h, &self.config_dir) {
                Ok(c) => **guard = Some(c),
                Err(e) => {
                    if e.is_unreachable() {
                        let mut down = locked(&self.down);
                        let d = down.entry(name.to_string()).or_insert(Down {
                            since: Instant::now(),
                            last_try: None,
                            error: String::new(),
                        });
                        d.last_try = Some(Instant::now());
                        d.error = e.to_string();
                    }
                    return Err(e);
                }
            }
            if let Some(d) = locked(&self.down).remove(name) {
                eprintln!(
                    "ebpf-perf: {name} is reachable again after {:.0} s",
                    d.since.elapsed().as_secs_f64()
                );
            }
            tracing::debug!(host = name, "ssh session opened");
        }
        Ok(guard.as_ref().expect("set above"))
    }

    /// Fails at once while `name` is down and not due for another try.
    fn fail_fast(&self, name: &str) -> Result<(), RemoteError> {
        let down = locked(&self.down);
        let Some(d) = down.get(name) else {
            return Ok(());
        };
        match d.last_try.map(|t| t.elapsed()) {
            Some(waited) if waited < RETRY_UNREACHABLE => Err(RemoteError::Unreachable {
                host: name.to_string(),
                secs: d.since.elapsed().as_secs_f64(),
                retry_in: (RETRY_UNREACHABLE - waited).as_secs_f64(),
                error: d.error.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Is `name` marked down (it could not be reached at its last try)?
    pub fn is_down(&self, name: &str) -> bool {
        locked(&self.down).contains_key(name)
    }

    /// Tries to reach `name` every second until it answers, `max` passes
    /// or `cancel` is set; the last error when it never answered.
    pub fn wait_reachable(
        &self,
        name: &str,
        max: Duration,
        cancel: &AtomicBool,
    ) -> Result<(), RemoteError> {
        let until = Instant::now() + max;
        loop {
            if let Some(d) = locked(&self.down).get_mut(name) {
                d.last_try = None;
            }
            let tried = Instant::now();
            match self.connect(name) {
                Ok(_) => return Ok(()),
                Err(e) if !e.is_unreachable() => return Err(e),
                Err(e) => {
                    if Instant::now() >= until || cancel.load(Ordering::SeqCst) {
                        return Err(e);
                    }
                    std::thread::sleep(Duration::from_secs(1).saturating_sub(tried.elapsed()));
                }
            }
        }
    }

    /// Opens (or reuses) the session and says how it authenticated.
    pub fn connect(&self, name: &str) -> Result<ConnInfo, RemoteError> {
        let slot = self.slot(name)?;
        let mut g = locked(&slot);
        let c = self.conn(name, &mut g)?;
        Ok(ConnInfo {
            auth: c.auth,
            key: c.key.clone(),
        })
    }

    /// Local address of the open session of `name` (which connection is ours).
    pub fn local_addr(&self, name: &str) -> Option<std::net::SocketAddr> {
        let slot = self.slot(name).ok()?;
        let g = locked(&slot);
        g.as_ref().and_then(|c| c.tcp.local_addr().ok())
    }

    /// Closes the session of `name`; the next command opens a new one.
    pub fn disconnect(&self, name: &str) {
        if let Ok(slot) = self.slot(name) {
            *locked(&slot) = None;
        }
    }

    /// Runs a shell command; a non-zero exit is a result, not an error.
    pub fn exec(
        &self,
        name: &str,
        command: &str,
        timeout: Duration,
    ) -> Result<CmdOutput, RemoteError> {
        self.exec_with_stdin(name, command, &[], timeout)
    }

    pub fn exec_with_stdin(
        &self,
        name: &str,
        command: &str,
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<CmdOutput, RemoteError> {
        self.exec_full(name, command, stdin, timeout, None)
    }

    /// Like [`Remote::exec`], but gives up waiting once `cancel` is set
    /// (Ctrl-C); the remote command is then ended by its own timeout.
    pub fn exec_cancellable(
        &self,
        name: &str,
        command: &str,
        timeout: Duration,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<CmdOutput, RemoteError> {
        self.exec_full(name, command, &[], timeout, Some(cancel))
    }

    fn exec_full(
        &self,
        name: &str,
        command: &str,
        stdin: &[u8],
        timeout: Duration,
        cancel: Option<&std::sync::atomic::AtomicBool>,
    ) -> Result<CmdOutput, RemoteError> {
        let slot = self.slot(name)?;
        let mut g = locked(&slot);
        // Every command starts in the host's workdir (seed 001's `cd
        // {workdir}`): relative paths in commands and hooks are under it.
        let in_workdir = match self.hosts.get(name) {
            Some(h) => crate::shell::steps::in_dir(&h.workdir) + command,
            None => command.to_string(),
        };
        for attempt in 0..2 {
            let conn = self.conn(name, &mut g)?;
            match exec::run(conn, &in_workdir, stdin, timeout, cancel) {
                Ok(out) if out.timed_out => {
                    return Err(RemoteError::Timeout {
                        host: name.to_string(),
                        command: command.to_string(),
                        secs: out.duration.as_secs_f64(),
                    })
                }
                Ok(out) => return Ok(out),
                Err(ExecError::NotStarted(msg)) if attempt == 0 => {
                    tracing::warn!(host = name, error = %msg, "session lost; reopening once");
                    *g = None;
                }
                Err(ExecError::NotStarted(msg)) => {
                    drop_session(&mut g);
                    return Err(RemoteError::Protocol {
                        host: name.to_string(),
                        what: format!("running `{command}`: {msg}"),
                    });
                }
                Err(ExecError::Started(msg)) => {
                    drop_session(&mut g);
                    return Err(RemoteError::ConnectionLost {
                        host: name.to_string(),
                        command: command.to_string(),
                        detail: msg,
                    });
                }
                Err(ExecError::Cancelled) => {
                    drop_session(&mut g);
                    return Err(RemoteError::Interrupted {
                        host: name.to_string(),
                        command: command.to_string(),
                    });
                }
                Err(ExecError::LocalTimeout) => {
                    drop_session(&mut g);
                    return Err(RemoteError::Timeout {
                        host: name.to_string(),
                        command: command.to_string(),
                        secs: timeout.as_secs_f64(),
                    });
                }
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// Runs a command that must succeed.
    pub fn check(
        &self,
        name: &str,
        command: &str,
        timeout: Duration,
    ) -> Result<CmdOutput, RemoteError> {
        self.exec(name, command, timeout)?.checked(name, command)
    }

    pub fn mkdir_p(&self, name: &str, dir: &str) -> Result<(), RemoteError> {
        self.check(name, &steps::mkdir_p(&[dir]), SHORT).map(drop)
    }

    pub fn read_file(&self, name: &str, path: &str) -> Result<String, RemoteError> {
        self.check(name, &steps::cat(path), SHORT).map(|o| o.stdout)
    }

    /// Writes a file atomically: a temporary file in the same directory, then
    /// rename; a failed write leaves neither a temporary nor a short file.
    pub fn write_file(&self, name: &str, path: &str, data: &[u8]) -> Result<(), RemoteError> {
        let cmd = steps::write_stdin_to(path);
        match self.check_with_stdin(name, &cmd, data) {
            Err(RemoteError::NoSpace { host, detail, .. }) => Err(RemoteError::NoSpace {
                host,
                path: path.to_string(),
                detail,
            }),
            r => r,
        }
    }

    fn check_with_stdin(&self, name: &str, cmd: &str, data: &[u8]) -> Result<(), RemoteError> {
        self.exec_with_stdin(name, cmd, data, SHORT)?
            .checked(name, cmd)
            .map(drop)
    }

    /// Copies a remote directory tree (or one file) to `local`.
    /// Copies `remote` to `rel` below the local directory `into` (see
    /// [`files::download`]).
    pub fn download(
        &self,
        name: &str,
        remote: &str,
        (into, rel): (&Path, &Path),
        limits: Limits,
        progress: &mut dyn Progress,
    ) -> Result<Fetched, RemoteError> {
        let slot = self.slot(name)?;
        let mut g = locked(&slot);
        let conn = self.conn(name, &mut g)?;
        files::download(name, conn, remote, (into, rel), limits, progress)
    }
}
