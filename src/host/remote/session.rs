//! Opening one SSH session to a host: TCP connect with a timeout, handshake,
//! host key verification (known_hosts), then authentication by identity file,
//! ssh-agent, or a password from the environment.

use super::error::{ChangedKey, RemoteError};
use super::known_hosts::{self, Verdict};
use crate::config::{HostKeyCheck, SshHost};
use ssh2::Session;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A link that answers nothing for this long counts as lost: TCP keepalive
/// probes an idle session, the user timeout bounds unacknowledged data.
const DEAD_LINK: Duration = Duration::from_secs(15);
const HANDSHAKE_TIMEOUT_MS: u32 = 15_000;

/// How a session authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    IdentityFile,
    Agent,
    Password,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::IdentityFile => "identity file",
            AuthMethod::Agent => "ssh-agent",
            AuthMethod::Password => "password",
        }
    }
}

/// What host key verification concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStatus {
    Known { file: PathBuf, line: usize },
    Added { file: PathBuf },
    Unchecked,
}

impl std::fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyStatus::Known { file, line } => write!(f, "known ({}:{line})", file.display()),
            KeyStatus::Added { file } => write!(f, "added to {}", file.display()),
            KeyStatus::Unchecked => write!(f, "not checked (host_key_check: off)"),
        }
    }
}

/// An open, authenticated session.
pub struct Conn {
    pub sess: Session,
    pub tcp: TcpStream,
    pub auth: AuthMethod,
    pub key: KeyStatus,
}

pub fn open(name: &str, h: &SshHost, config_dir: &Path) -> Result<Conn, RemoteError> {
    let addr_text = format!("{}:{}", h.host, h.port);
    let connect_err = |source| RemoteError::Connect {
        host: name.to_string(),
        addr: addr_text.clone(),
        source,
    };
    let addr = (h.host.as_str(), h.port)
        .to_socket_addrs()
        .map_err(connect_err)?
        .next()
        .ok_or_else(|| connect_err(std::io::Error::other("the name resolves to no address")))?;
    let tcp = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(connect_err)?;
    tcp.set_nodelay(true).ok();
    detect_dead_links(&tcp);
    let ssh = |what: &str| {
        let what = what.to_string();
        move |source| RemoteError::Ssh {
            host: name.to_string(),
            what,
            source,
        }
    };
    let mut sess = Session::new().map_err(ssh("creating a session"))?;
    sess.set_tcp_stream(tcp.try_clone().map_err(connect_err)?);
    sess.set_timeout(HANDSHAKE_TIMEOUT_MS);
    pin_host_key_types(h, &sess, config_dir);
    sess.handshake().map_err(ssh("SSH handshake"))?;
    let key = verify_host_key(name, h, &sess, config_dir)?;
    let auth = authenticate(name, h, &sess, config_dir)?;
    sess.set_timeout(0);
    Ok(Conn {
        sess,
        tcp,
        auth,
        key,
    })
}

/// Asks the server for a host key of a type on record for it, so that a key
/// of a recorded type is checked against the record (a server offering
/// another type is then a changed key, see `known_hosts::check`).
fn pin_host_key_types(h: &SshHost, sess: &Session, config_dir: &Path) {
    if h.host_key_check == HostKeyCheck::Off {
        return;
    }
    let text = std::fs::read_to_string(h.known_hosts_file(config_dir)).unwrap_or_default();
    let name = known_hosts::host_name(&h.host, h.port);
    let algorithms: Vec<&str> = known_hosts::types_for(&text, &name)
        .into_iter()
        .flat_map(|t| match t {
            "ssh-rsa" => vec!["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
            t => vec![t],
        })
        .collect();
    if !algorithms.is_empty() {
        if let Err(e) = sess.method_pref(ssh2::MethodType::HostKey, &algorithms.join(",")) {
            tracing::debug!(error = %e, "host key types not pinned");
        }
    }
}

/// Makes the kernel end the connection when the link stops answering, so
/// that a command waiting on a dropped link fails within [`DEAD_LINK`]
/// instead of at its own (possibly long) timeout. Best effort: a socket
/// that refuses the options keeps the defaults.
fn detect_dead_links(tcp: &TcpStream) {
    let sock = socket2::SockRef::from(tcp);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(5))
        .with_interval(Duration::from_secs(2))
        .with_retries(5);
    if let Err(e) = sock
        .set_tcp_keepalive(&keepalive)
        .and_then(|()| sock.set_tcp_user_timeout(Some(DEAD_LINK)))
    {
        tracing::debug!(error = %e, "TCP keepalive not set");
    }
}

fn verify_host_key(
    name: &str,
    h: &SshHost,
    sess: &Session,
    config_dir: &Path,
) -> Result<KeyStatus, RemoteError> {
    if h.host_key_check == HostKeyCheck::Off {
        return Ok(KeyStatus::Unchecked);
    }
    let blob = sess
        .host_key()
        .map(|(k, _)| k.to_vec())
        .ok_or_else(|| RemoteError::Protocol {
            host: name.to_string(),
            what: "the server sent no host key".into(),
        })?;
    let file = h.known_hosts_file(config_dir);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(RemoteError::Io {
                host: name.to_string(),
                what: format!("reading {}", file.display()),
                source,
            })
        }
    };
    let kh_name = known_hosts::host_name(&h.host, h.port);
    let fingerprint = known_hosts::fingerprint(&blob);
    let judge = |v: Verdict, file: PathBuf| match v {
        Verdict::Known { line } => Ok(KeyStatus::Known { file, line }),
        Verdict::Changed { line, known } => {
            Err(RemoteError::HostKeyChanged(Box::new(ChangedKey {
                host: name.to_string(),
                name: kh_name.clone(),
                key_type: known_hosts::key_type(&blob).unwrap_or("?").to_string(),
                fingerprint: fingerprint.clone(),
                known,
                file,
                line,
            })))
        }
        Verdict::Revoked { line } => Err(RemoteError::HostKeyRevoked {
            host: name.to_string(),
            fingerprint: fingerprint.clone(),
            file,
            line,
        }),
        Verdict::Unknown => Err(RemoteError::HostKeyUnknown {
            host: name.to_string(),
            name: kh_name.clone(),
            fingerprint: fingerprint.clone(),
            file,
        }),
    };
    match known_hosts::check(&text, &kh_name, &blob) {
        Verdict::Unknown if h.host_key_check != HostKeyCheck::Strict => {
            // accept-new: decided again under the file's lock.
            let v = known_hosts::add(&file, &kh_name, &blob).map_err(|source| RemoteError::Io {
                host: name.to_string(),
                what: format!("adding the host key to {}", file.display()),
                source,
            })?;
            if v != Verdict::Unknown {
                return judge(v, file);
            }
            tracing::warn!(host = name, %fingerprint, file = %file.display(), "host key added");
            Ok(KeyStatus::Added { file })
        }
        v => judge(v, file),
    }
}

fn authenticate(
    name: &str,
    h: &SshHost,
    sess: &Session,
    config_dir: &Path,
) -> Result<AuthMethod, RemoteError> {
    let mut tried = Vec::new();
    if let Some(id) = &h.identity_file {
        let path = crate::config::resolve_path(id, config_dir);
        match sess.userauth_pubkey_file(&h.user, None, &path, None) {
            Ok(()) if sess.authenticated() => return Ok(AuthMethod::IdentityFile),
            Ok(()) => tried.push(format!("identity file {}: not accepted", path.display())),
            Err(e) => tried.push(format!("identity file {}: {}", path.display(), e.message())),
        }
    } else if std::env::var_os("SSH_AUTH_SOCK").is_some() {
        match sess.userauth_agent(&h.user) {
            Ok(()) if sess.authenticated() => return Ok(AuthMethod::Agent),
            Ok(()) => tried.push("ssh-agent: no key accepted".into()),
            Err(e) => tried.push(format!("ssh-agent: {}", e.message())),
        }
    }
    if let Some(var) = &h.password_env {
        match super::secrets::password(var) {
            Some(pw) => match sess.userauth_password(&h.user, &pw) {
                Ok(()) if sess.authenticated() => return Ok(AuthMethod::Password),
                _ => tried.push(format!("password from ${var}: rejected")),
            },
            None => tried.push(format!("password: ${var} is not set")),
        }
    }
    if tried.is_empty() {
        tried.push("no method configured".into());
    }
    Err(RemoteError::Auth {
        host: name.to_string(),
        user: h.user.clone(),
        tried: tried.join("; "),
        hint: "set identity_file, run an ssh-agent, or export the variable named by password_env"
            .into(),
    })
}
