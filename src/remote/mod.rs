//! The remote layer: the only way the product talks to a host. One SSH session
//! per host, opened lazily and reused for every command of the run; a session
//! found dead before a command started is reopened once, then the error
//! surfaces. Commands always have a timeout; values in command lines are
//! shell-quoted by the template layer.

mod error;
pub mod exec;
mod files;
pub mod known_hosts;
pub mod session;

pub use error::{tail, ChangedKey, RemoteError};
pub use exec::CmdOutput;
pub use files::Progress;
pub use session::{AuthMethod, KeyStatus};

use crate::config::{Config, SshHost};
use crate::process::{self, ProcessRecord, Stopped};
use exec::ExecError;
use indexmap::IndexMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Timeout of the framework's own short commands (mkdir, cat, kill scripts).
pub const SHORT: Duration = Duration::from_secs(30);

type Slot = Arc<Mutex<Option<session::Conn>>>;

/// A command to start detached, with its output files and pid file.
#[derive(Debug, Clone, Copy)]
pub struct Spawn<'a> {
    pub command: &'a str,
    pub stdout: &'a str,
    pub stderr: &'a str,
    pub pid_file: &'a str,
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
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
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
            if self.lab && !crate::lab::host_present(name) {
                return Err(RemoteError::LabDown {
                    host: name.to_string(),
                });
            }
            **guard = Some(session::open(name, h, &self.config_dir)?);
            tracing::debug!(host = name, "ssh session opened");
        }
        Ok(guard.as_ref().expect("set above"))
    }

    /// Opens (or reuses) the session and says how it authenticated.
    pub fn connect(&self, name: &str) -> Result<ConnInfo, RemoteError> {
        let slot = self.slot(name)?;
        let mut g = slot.lock().unwrap_or_else(|p| p.into_inner());
        let c = self.conn(name, &mut g)?;
        Ok(ConnInfo {
            auth: c.auth,
            key: c.key.clone(),
        })
    }

    /// Local address of the open session of `name` (which connection is ours).
    pub fn local_addr(&self, name: &str) -> Option<std::net::SocketAddr> {
        let slot = self.slot(name).ok()?;
        let g = slot.lock().unwrap_or_else(|p| p.into_inner());
        g.as_ref().and_then(|c| c.tcp.local_addr().ok())
    }

    /// Closes the session of `name`; the next command opens a new one.
    pub fn disconnect(&self, name: &str) {
        if let Ok(slot) = self.slot(name) {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
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
        let mut g = slot.lock().unwrap_or_else(|p| p.into_inner());
        for attempt in 0..2 {
            let conn = self.conn(name, &mut g)?;
            match exec::run(conn, command, stdin, timeout, cancel) {
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
                Err(ExecError::NotStarted(msg)) | Err(ExecError::Started(msg)) => {
                    drop_session(&mut g);
                    return Err(RemoteError::Protocol {
                        host: name.to_string(),
                        what: format!("running `{command}`: {msg}"),
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

    /// Starts `command` detached (see [`crate::process`]).
    pub fn spawn(
        &self,
        name: &str,
        command: &str,
        stdout: &str,
        stderr: &str,
        pid_file: &str,
    ) -> Result<ProcessRecord, RemoteError> {
        let mut v = self.spawn_many(
            name,
            &[Spawn {
                command,
                stdout,
                stderr,
                pid_file,
            }],
        )?;
        Ok(v.remove(0))
    }

    /// Starts several commands detached in one round trip.
    pub fn spawn_many(
        &self,
        name: &str,
        specs: &[Spawn<'_>],
    ) -> Result<Vec<ProcessRecord>, RemoteError> {
        let scripts: Vec<String> = specs
            .iter()
            .map(|s| process::start_script(s.command, s.stdout, s.stderr, s.pid_file))
            .collect();
        let out = self.check(name, &process::batch(&scripts), SHORT)?;
        let outputs = process::split_outputs(&out.stdout);
        specs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                outputs
                    .get(i)
                    .and_then(|o| process::parse_started(o, s.pid_file))
                    .ok_or_else(|| RemoteError::Protocol {
                        host: name.to_string(),
                        what: format!(
                            "starting `{}` printed no PID: {}",
                            s.command,
                            tail(&out.stdout, 200)
                        ),
                    })
            })
            .collect()
    }

    /// Stops a process started by [`Remote::spawn`], by its recorded PID.
    pub fn stop(
        &self,
        name: &str,
        p: &ProcessRecord,
        grace: Duration,
    ) -> Result<Stopped, RemoteError> {
        let mut v = self.stop_many(name, std::slice::from_ref(p), grace)?;
        Ok(v.remove(0))
    }

    /// Stops several recorded processes in one round trip (one after another).
    pub fn stop_many(
        &self,
        name: &str,
        ps: &[ProcessRecord],
        grace: Duration,
    ) -> Result<Vec<Stopped>, RemoteError> {
        let scripts: Vec<String> = ps.iter().map(|p| process::stop_script(p, grace)).collect();
        let n = u32::try_from(ps.len()).unwrap_or(u32::MAX);
        let out = self.check(name, &process::batch(&scripts), grace * n + SHORT)?;
        let outputs = process::split_outputs(&out.stdout);
        ps.iter()
            .enumerate()
            .map(|(i, p)| {
                outputs
                    .get(i)
                    .and_then(|o| process::parse_stopped(o))
                    .ok_or_else(|| RemoteError::Protocol {
                        host: name.to_string(),
                        what: format!(
                            "stopping PID {}: unexpected output {:?}",
                            p.pid,
                            tail(&out.stdout, 200)
                        ),
                    })
            })
            .collect()
    }

    /// Waits until a process of `p`'s group holds an fd linking to `fd_link`.
    pub fn wait_fd(
        &self,
        name: &str,
        p: &ProcessRecord,
        fd_link: &str,
        max: Duration,
    ) -> Result<String, RemoteError> {
        let out = self.check(name, &process::wait_fd_script(p, fd_link, max), max + SHORT)?;
        Ok(out.stdout.trim().to_string())
    }

    /// Waits until a recorded process has exited; `cancel` (Ctrl-C) ends the wait.
    pub fn wait_exit(
        &self,
        name: &str,
        p: &ProcessRecord,
        timeout: Duration,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<(), RemoteError> {
        self.exec_cancellable(name, &process::wait_script(p), timeout, cancel)
            .map(drop)
    }

    pub fn is_alive(&self, name: &str, p: &ProcessRecord) -> Result<bool, RemoteError> {
        let out = self.check(name, &process::alive_script(p), SHORT)?;
        Ok(out.stdout.trim() == "alive")
    }

    pub fn mkdir_p(&self, name: &str, dir: &str) -> Result<(), RemoteError> {
        self.check(
            name,
            &format!("mkdir -p -- {}", crate::template::quote(dir)),
            SHORT,
        )
        .map(drop)
    }

    pub fn read_file(&self, name: &str, path: &str) -> Result<String, RemoteError> {
        self.check(
            name,
            &format!("cat -- {}", crate::template::quote(path)),
            SHORT,
        )
        .map(|o| o.stdout)
    }

    /// Writes a file atomically: a temporary file in the same directory, then rename.
    pub fn write_file(&self, name: &str, path: &str, data: &[u8]) -> Result<(), RemoteError> {
        let q = crate::template::quote(path);
        let tmp_path = format!("{path}.tmp.ebpf-perf");
        let tmp = crate::template::quote(&tmp_path);
        let cmd = format!("mkdir -p -- \"$(dirname -- {q})\" && cat > {tmp} && mv -f -- {tmp} {q}");
        self.check_with_stdin(name, &cmd, data)
    }

    fn check_with_stdin(&self, name: &str, cmd: &str, data: &[u8]) -> Result<(), RemoteError> {
        self.exec_with_stdin(name, cmd, data, SHORT)?
            .checked(name, cmd)
            .map(drop)
    }

    /// Copies a remote directory tree (or one file) to `local`.
    pub fn download(
        &self,
        name: &str,
        remote: &str,
        local: &Path,
        progress: &mut dyn Progress,
    ) -> Result<u64, RemoteError> {
        let slot = self.slot(name)?;
        let mut g = slot.lock().unwrap_or_else(|p| p.into_inner());
        let conn = self.conn(name, &mut g)?;
        files::download(name, conn, remote, local, progress)
    }
}
