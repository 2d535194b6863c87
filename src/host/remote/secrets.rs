//! Passwords named by `password_env` (docs/security.md): moved out of the
//! process environment where a binary starts, so that no local child (git,
//! strip, apt-get, the lab's sshd) inherits them. Sessions read them here.

use crate::config::Config;
use std::collections::BTreeMap;
use std::sync::Mutex;

static TAKEN: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

/// Moves each variable that a host's `password_env` names from the
/// environment into this store. Call it where a binary starts, before it
/// starts threads or children.
pub fn take_from_env(cfg: &Config) {
    let mut taken = TAKEN.lock().unwrap_or_else(|p| p.into_inner());
    for var in cfg
        .ssh_hosts
        .values()
        .filter_map(|h| h.password_env.as_ref())
    {
        // `remove_var` panics on such names; validation refuses them.
        if var.is_empty() || var.contains(['=', '\0']) {
            continue;
        }
        if let Some(v) = std::env::var_os(var) {
            if let Ok(v) = v.into_string() {
                taken.insert(var.clone(), v);
            }
            std::env::remove_var(var);
        }
    }
}

/// The password in `var`: taken from the environment at start, or (in a
/// library user that never called `take_from_env`) still there.
pub fn password(var: &str) -> Option<String> {
    let taken = TAKEN.lock().unwrap_or_else(|p| p.into_inner());
    taken.get(var).cloned().or_else(|| std::env::var(var).ok())
}
