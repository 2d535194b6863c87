//! Checks of ssh-config.yaml and test-env-config.yaml.

use super::*;

pub(super) fn check_ssh(ck: &mut Checker, (src, f): &(Source, SshFile)) {
    if f.ssh_hosts.is_empty() {
        ck.at(src, &["ssh_hosts"], "is empty; expected at least one host");
    }
    for (name, h) in &f.ssh_hosts {
        let p = |k: &'static str| ["ssh_hosts", name.as_str(), k];
        ck.id(src, &["ssh_hosts", name], "host name", name);
        let host_ok = h.host.parse::<IpAddr>().is_ok()
            || (!h.host.is_empty()
                && h.host.len() <= 253
                && h.host.split('.').all(|l| {
                    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                }));
        if !host_ok {
            ck.at(
                src,
                &p("host"),
                format!("{:?} is neither an IP address nor a host name", h.host),
            );
        }
        if h.port == 0 {
            ck.at(src, &p("port"), "0 is not a port; expected 1-65535");
        }
        if f.lab.is_some() && host_ok && !crate::naming::in_lab_range(&h.host) {
            ck.at(
                src,
                &p("host"),
                format!(
                    "{:?} is outside {}; a lab configuration (`lab: netns`) reaches only \
                     the lab's own addresses, so nothing of a run leaves this machine",
                    h.host,
                    crate::naming::LAB_RANGE
                ),
            );
        }
        if h.user.is_empty()
            || h.user
                .chars()
                .any(|c| c.is_whitespace() || c == '@' || c == ':')
        {
            ck.at(src, &p("user"), format!("{:?} is not a user name", h.user));
        }
        if !h.workdir.starts_with('/') {
            ck.at(
                src,
                &p("workdir"),
                format!(
                    "{:?} is not absolute; expected e.g. /home/me/lcc",
                    h.workdir
                ),
            );
        } else if h.workdir.split('/').any(|s| s == "..") || h.workdir.chars().any(char::is_control)
        {
            ck.at(
                src,
                &p("workdir"),
                format!(
                    "{:?} must not contain `..` or control characters",
                    h.workdir
                ),
            );
        }
        if let Some(shared) = under_shared_dir(&h.workdir) {
            let owner = match h.user.as_str() {
                "root" => "root".to_string(),
                u => format!("root or {u}"),
            };
            ck.warn(
                src,
                &p("workdir"),
                format!(
                    "{:?} is under {shared}, which every user of the host can write to: \
                     the monitor agent is refused where another user could swap it; \
                     choose a workdir that {owner} owns, outside {shared}",
                    h.workdir
                ),
            );
        }
        if let Some(v) = &h.password_env {
            let ok = v
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                ck.at(
                    src,
                    &p("password_env"),
                    format!("{v:?} is not an environment variable name; put the variable's name here, never the password"),
                );
            }
        }
        if h.identity_file
            .as_deref()
            .is_some_and(|f| f.trim().is_empty())
        {
            ck.at(
                src,
                &p("identity_file"),
                "is empty; expected a path to a private key",
            );
        }
    }
}

pub(super) fn check_envs(ck: &mut Checker, (src, f): &(Source, EnvFile), ssh: &SshFile) {
    if f.test_environments.is_empty() {
        ck.at(
            src,
            &["test_environments"],
            "is empty; expected at least one environment",
        );
    }
    for (name, e) in &f.test_environments {
        ck.id(src, &["test_environments", name], "environment name", name);
        let mut used: Vec<(&str, usize)> = Vec::new();
        for (pi, (server, client)) in e.pairs().into_iter().enumerate() {
            let idx = format!("[{}]", pi.saturating_sub(1));
            for (role, h) in [("server", server), ("client", client)] {
                let base: Vec<&str> = if pi == 0 {
                    vec!["test_environments", name.as_str(), role]
                } else {
                    vec![
                        "test_environments",
                        name.as_str(),
                        "pools",
                        idx.as_str(),
                        role,
                    ]
                };
                let p = |k: &'static str| {
                    let mut v = base.clone();
                    v.push(k);
                    v
                };
                if !ssh.ssh_hosts.contains_key(&h.ssh_ref) {
                    let known: Vec<&str> = ssh.ssh_hosts.keys().map(String::as_str).collect();
                    ck.at(
                        src,
                        &p("ssh_ref"),
                        format!(
                            "{:?} is not a host of {SSH_FILE}; expected one of: {}",
                            h.ssh_ref,
                            known.join(", ")
                        ),
                    );
                }
                if let Some((_, other)) = used
                    .iter()
                    .find(|(host, other)| *host == h.ssh_ref && *other != pi)
                {
                    ck.at(
                        src,
                        &p("ssh_ref"),
                        format!(
                            "{:?} is in pool {} of {name} too; pools must not share hosts, \
                             or shards running at the same time distort each other's numbers",
                            h.ssh_ref,
                            other + 1
                        ),
                    );
                }
                used.push((h.ssh_ref.as_str(), pi));
                ck.ip(src, &p("test_ip"), &h.test_ip);
                let iface_ok = !h.interface.is_empty()
                    && h.interface.len() <= 15
                    && h.interface
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
                if !iface_ok {
                    ck.at(
                        src,
                        &p("interface"),
                        format!(
                            "{:?} is not an interface name; expected 1-15 of [A-Za-z0-9_.@-]",
                            h.interface
                        ),
                    );
                }
            }
        }
        for (role, list) in e.cpus.roles() {
            if let Some(l) = list.filter(|l| !crate::config::model::is_cpu_list(l)) {
                ck.at(
                    src,
                    &["test_environments", name, "cpus", role],
                    format!("{l:?} is not a CPU list; expected numbers and ranges like \"0\", \"2-3\" or \"0,2\""),
                );
            }
        }
        for k in e.vars.keys() {
            if template::placeholders(&format!("{{{k}}}")) != [k.as_str()] {
                ck.at(
                    src,
                    &["test_environments", name, "vars", k],
                    "is not a placeholder name; expected [A-Za-z_][A-Za-z0-9_]*",
                );
            } else if ENV_PLACEHOLDERS.contains(&k.as_str())
                || PERF_PLACEHOLDERS.contains(&k.as_str())
            {
                ck.at(
                    src,
                    &["test_environments", name, "vars", k],
                    "shadows a built-in placeholder; choose another name",
                );
            }
        }
    }
}

/// The usual world-writable directory `workdir` is below, if any (this
/// check reads only the configuration; the host's own directories are
/// checked where the monitor agent is put, see `shell::monitor`).
fn under_shared_dir(workdir: &str) -> Option<&'static str> {
    ["/tmp", "/var/tmp", "/dev/shm"]
        .into_iter()
        .find(|d| workdir == *d || workdir.starts_with(&format!("{d}/")))
}
