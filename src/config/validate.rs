//! Reading and checking the configuration files: every problem is collected
//! (not just the first), each with file, line, key path and what is expected.

use super::error::{ConfigError, Problem};
use super::locate;
use super::model::*;
use super::{Config, Tool, ENV_FILE, HOOKS_FILE, PERF_FILE, SSH_FILE, TOOLS_FILE};
use crate::naming::{check_safe_id, Protocol, TestType};
use crate::template;
use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Placeholders that describe the environment a command runs in.
pub const ENV_PLACEHOLDERS: &[&str] = &[
    "server_ip",
    "client_ip",
    "server_interface",
    "client_interface",
    "interface",
    "workdir",
    "results_root",
    "env",
];
/// Extra placeholders of performance test templates.
pub const PERF_PLACEHOLDERS: &[&str] = &[
    "port",
    "duration",
    "target_bw",
    "result_file",
    "result_dir",
    "streams",
    "stream",
    "protocol",
];
/// Extra placeholders of eBPF case commands (besides the case's parameters).
pub const CASE_PLACEHOLDERS: &[&str] = &["tool_id", "case_id", "duration", "result_dir"];

/// Placeholders of hook tasks, per layer (cumulative).
fn hook_placeholders(layer: &str) -> Vec<&'static str> {
    let mut v = vec!["workdir", "results_root", "host", "role"];
    if layer == "global" {
        return v;
    }
    v.extend(ENV_PLACEHOLDERS);
    v.push("tool_id");
    if layer == "tool" {
        return v;
    }
    v.extend(["case_id", "cycle", "result_dir"]);
    if layer == "case" {
        return v;
    }
    v.extend(["test_type", "variant", "protocol", "duration"]);
    v
}

/// A file's text and its name as shown in messages.
struct Source {
    shown: PathBuf,
    text: String,
}

impl Source {
    fn problem(&self, path: &[&str], message: impl Into<String>) -> Problem {
        Problem {
            file: self.shown.clone(),
            line: locate::line_of(&self.text, path),
            key: locate::key_string(path),
            message: message.into(),
        }
    }
}

/// Collects problems while the files are checked.
#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn at(&mut self, src: &Source, path: &[&str], message: impl Into<String>) {
        self.problems.push(src.problem(path, message));
    }

    fn id(&mut self, src: &Source, path: &[&str], what: &str, id: &str) {
        if let Err(e) = check_safe_id(id) {
            self.at(
                src,
                path,
                format!("{what} {id:?} {e} (it becomes a directory name)"),
            );
        }
    }

    fn ip(&mut self, src: &Source, path: &[&str], ip: &str) {
        if ip.parse::<IpAddr>().is_err() {
            self.at(
                src,
                path,
                format!("{ip:?} is not an IP address; expected e.g. 198.18.0.2 or fd00::2"),
            );
        }
    }

    fn template(&mut self, src: &Source, path: &[&str], t: &str, known: &dyn Fn(&str) -> bool) {
        if t.trim().is_empty() {
            self.at(src, path, "command is empty; expected a command template");
        }
        for name in template::placeholders(t) {
            if !known(name) {
                self.at(
                    src,
                    path,
                    format!(
                        "unknown placeholder {{{name}}}; write {{{{{name}}}}} for a literal brace, \
                         or see the README for the placeholders of this template"
                    ),
                );
            }
        }
    }

    fn non_empty<T>(&mut self, src: &Source, path: &[&str], list: &[T], what: &str) -> bool {
        if list.is_empty() {
            self.at(src, path, format!("is empty; expected at least one {what}"));
        }
        !list.is_empty()
    }
}

/// Reads a YAML file; `None` (with the problem recorded) when absent or malformed.
fn read_yaml<T: DeserializeOwned>(
    dir: &Path,
    name: &str,
    optional: bool,
    ck: &mut Checker,
) -> Option<(Source, T)> {
    let path = dir.join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            ck.problems.push(Problem {
                file: path,
                line: None,
                key: String::new(),
                message: format!(
                    "cannot read it: {e}; expected the file {name} in {}",
                    dir.display()
                ),
            });
            return None;
        }
    };
    let src = Source { shown: path, text };
    match serde_yaml::from_str::<T>(&src.text) {
        Ok(v) => Some((src, v)),
        Err(e) => {
            ck.problems.push(yaml_problem(&src, &e));
            None
        }
    }
}

/// serde_yaml says `path: message at line L column C`; split that up.
fn yaml_problem(src: &Source, e: &serde_yaml::Error) -> Problem {
    let mut msg = e.to_string();
    if let Some(at) = msg.rfind(" at line ") {
        msg.truncate(at);
    }
    let (key, message) = match msg.split_once(": ") {
        Some((k, m)) if !k.contains(' ') => (k.to_string(), m.to_string()),
        _ => (String::new(), msg),
    };
    let message = if message.starts_with("EOF") || src.text.trim().is_empty() {
        format!("{message} (the file is empty)")
    } else {
        message
    };
    Problem {
        file: src.shown.clone(),
        line: e.location().map(|l| l.line()),
        key,
        message,
    }
}

pub fn load(dir: &Path) -> Result<Config, ConfigError> {
    let mut ck = Checker::default();
    if !dir.is_dir() {
        return Err(ConfigError {
            problems: vec![Problem {
                file: dir.to_path_buf(),
                line: None,
                key: String::new(),
                message: "is not a directory; expected a config directory holding \
                          ssh-config.yaml, test-env-config.yaml, performance-test-spec.yaml \
                          and ebpf-tools-config.yaml (set --config-dir or EBPF_PERF_CONFIG)"
                    .into(),
            }],
        });
    }
    let ssh = read_yaml::<SshFile>(dir, SSH_FILE, false, &mut ck);
    let env = read_yaml::<EnvFile>(dir, ENV_FILE, false, &mut ck);
    let perf = read_yaml::<PerfFile>(dir, PERF_FILE, false, &mut ck);
    let tools = read_yaml::<ToolsFile>(dir, TOOLS_FILE, false, &mut ck);
    let hooks = read_yaml::<HooksFile>(dir, HOOKS_FILE, true, &mut ck);
    let (Some(ssh), Some(env), Some(perf), Some(tools)) = (ssh, env, perf, tools) else {
        return Err(ConfigError {
            problems: ck.problems,
        });
    };

    check_ssh(&mut ck, &ssh);
    check_envs(&mut ck, &env, &ssh.1);
    let spec = check_perf(&mut ck, &perf, &env.1);
    let tools = check_tools(&mut ck, dir, &tools, &env.1, &spec);
    let hooks = hooks.map(|h| check_hooks(&mut ck, &h, &env.1));

    if !ck.problems.is_empty() {
        return Err(ConfigError {
            problems: ck.problems,
        });
    }
    Ok(Config {
        dir: dir.to_path_buf(),
        lab: ssh.1.lab,
        list_only: ssh.1.list_only,
        ssh_hosts: ssh.1.ssh_hosts,
        environments: env.1.test_environments,
        perf: spec,
        tools,
        hooks: hooks.unwrap_or_default(),
    })
}

fn check_ssh(ck: &mut Checker, (src, f): &(Source, SshFile)) {
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

fn check_envs(ck: &mut Checker, (src, f): &(Source, EnvFile), ssh: &SshFile) {
    if f.test_environments.is_empty() {
        ck.at(
            src,
            &["test_environments"],
            "is empty; expected at least one environment",
        );
    }
    for (name, e) in &f.test_environments {
        ck.id(src, &["test_environments", name], "environment name", name);
        for (role, h) in [("server", &e.server), ("client", &e.client)] {
            let p = |k: &'static str| ["test_environments", name.as_str(), role, k];
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

/// Names of `vars` that every one of `envs` defines.
fn common_vars<'a>(envs: impl IntoIterator<Item = &'a TestEnv>) -> HashSet<String> {
    let mut it = envs.into_iter();
    let Some(first) = it.next() else {
        return HashSet::new();
    };
    let mut set: HashSet<String> = first.vars.keys().cloned().collect();
    for e in it {
        set.retain(|k| e.vars.contains_key(k));
    }
    set
}

fn check_protocols(ck: &mut Checker, src: &Source, path: &[&str], ps: &[Protocol]) {
    ck.non_empty(src, path, ps, "protocol (tcp or udp)");
    let unique: HashSet<_> = ps.iter().collect();
    if unique.len() != ps.len() {
        ck.at(src, path, "lists a protocol twice");
    }
}

fn check_commands(
    ck: &mut Checker,
    src: &Source,
    base: &[&str],
    c: &Commands,
    protocols: &[Protocol],
    known: &dyn Fn(&str) -> bool,
) {
    let path = |k: &'static str| {
        let mut v = base.to_vec();
        v.push(k);
        v
    };
    match &c.server_cmd {
        Some(t) => ck.template(src, &path("server_cmd"), t, known),
        None => ck.at(
            src,
            base,
            "has no server_cmd; expected a server command template",
        ),
    }
    for p in protocols {
        let key = match p {
            Protocol::Tcp => "client_cmd_tcp",
            Protocol::Udp => "client_cmd_udp",
        };
        match c.client(*p) {
            Some(t) => ck.template(src, &path(key), t, known),
            None => ck.at(
                src,
                base,
                format!("has no {key}, but protocols include {}", p.as_str()),
            ),
        }
    }
}

fn check_streams(ck: &mut Checker, src: &Source, path: &[&str], streams: &[u32], base_port: u16) {
    if ck.non_empty(src, path, streams, "stream count") {
        if streams.contains(&0) {
            ck.at(src, path, "0 streams is not a test; expected counts >= 1");
        }
        let max = streams.iter().copied().max().unwrap_or(1);
        if u32::from(base_port) + max > 65536 {
            ck.at(
                src,
                path,
                format!("{max} streams from base_port {base_port} run past port 65535"),
            );
        }
    }
}

fn check_duration(ck: &mut Checker, src: &Source, path: &[&str], d: u32) {
    if d == 0 {
        ck.at(src, path, "0 is not a duration; expected seconds >= 1");
    }
}

fn check_bw(ck: &mut Checker, src: &Source, path: &[&str], bw: &str) {
    let digits = bw.trim_end_matches(['K', 'M', 'G', 'k', 'm', 'g']);
    let ok = !digits.is_empty()
        && digits.len() + 1 >= bw.len()
        && digits.parse::<f64>().is_ok_and(|v| v >= 0.0)
        && !digits.starts_with(['+', '-']);
    if !ok {
        ck.at(
            src,
            path,
            format!("{bw:?} is not a bandwidth; expected e.g. 100M, 1G, 10G or 0 (unlimited)"),
        );
    }
}

fn check_perf(ck: &mut Checker, (src, f): &(Source, PerfFile), envs: &EnvFile) -> PerfSpec {
    let (root, spec) = match (&f.performance_tests, &f.test_types) {
        (Some(s), None) => ("performance_tests", s.clone()),
        (None, Some(s)) => ("test_types", s.clone()),
        (Some(_), Some(_)) => {
            ck.at(
                src,
                &["test_types"],
                "both performance_tests and test_types are given; keep one",
            );
            return PerfSpec::default();
        }
        (None, None) => {
            ck.at(
                src,
                &[],
                "has no performance_tests; expected the key performance_tests (or test_types)",
            );
            return PerfSpec::default();
        }
    };
    let vars = common_vars(envs.test_environments.values());
    let known = |n: &str| {
        ENV_PLACEHOLDERS.contains(&n) || PERF_PLACEHOLDERS.contains(&n) || vars.contains(n)
    };
    if spec.throughput.is_none() && spec.latency.is_none() && spec.pps.is_none() {
        ck.at(
            src,
            &[root],
            "defines no test; expected throughput, latency and/or pps",
        );
    }
    if let Some(t) = &spec.throughput {
        if t.single_stream.is_none() && t.multi_stream.is_none() {
            ck.at(
                src,
                &[root, "throughput"],
                "defines neither single_stream nor multi_stream",
            );
        }
        if let Some(s) = &t.single_stream {
            let base = [root, "throughput", "single_stream"];
            check_protocols(
                ck,
                src,
                &[root, "throughput", "single_stream", "protocols"],
                &s.protocols,
            );
            check_commands(ck, src, &base, &s.commands, &s.protocols, &known);
            check_duration(
                ck,
                src,
                &[root, "throughput", "single_stream", "duration"],
                s.duration,
            );
            let bw_path = [root, "throughput", "single_stream", "target_bw"];
            ck.non_empty(src, &bw_path, &s.target_bw, "bandwidth");
            for bw in &s.target_bw {
                check_bw(ck, src, &bw_path, bw);
            }
            let unique: HashSet<_> = s.target_bw.iter().collect();
            if unique.len() != s.target_bw.len() {
                ck.at(
                    src,
                    &bw_path,
                    "lists a bandwidth twice (trial names would collide)",
                );
            }
            ck.non_empty(
                src,
                &[root, "throughput", "single_stream", "ports"],
                &s.ports,
                "port",
            );
        }
        if let Some(m) = &t.multi_stream {
            let base = [root, "throughput", "multi_stream"];
            check_protocols(
                ck,
                src,
                &[root, "throughput", "multi_stream", "protocols"],
                &m.protocols,
            );
            // Commands fall back to single_stream's.
            let single = t.single_stream.as_ref().map(|s| &s.commands);
            let merged = Commands {
                server_cmd: m
                    .commands
                    .server_cmd
                    .clone()
                    .or_else(|| single.and_then(|s| s.server_cmd.clone())),
                client_cmd_tcp: m
                    .commands
                    .client_cmd_tcp
                    .clone()
                    .or_else(|| single.and_then(|s| s.client_cmd_tcp.clone())),
                client_cmd_udp: m
                    .commands
                    .client_cmd_udp
                    .clone()
                    .or_else(|| single.and_then(|s| s.client_cmd_udp.clone())),
            };
            check_commands(ck, src, &base, &merged, &m.protocols, &known);
            check_streams(
                ck,
                src,
                &[root, "throughput", "multi_stream", "streams"],
                &m.streams,
                m.base_port,
            );
            check_duration(
                ck,
                src,
                &[root, "throughput", "multi_stream", "duration"],
                m.duration,
            );
            check_bw(
                ck,
                src,
                &[root, "throughput", "multi_stream", "target_bw"],
                &m.target_bw,
            );
        }
    }
    if let Some(l) = &spec.latency {
        check_protocols(ck, src, &[root, "latency", "protocols"], &l.protocols);
        check_commands(
            ck,
            src,
            &[root, "latency"],
            &l.commands,
            &l.protocols,
            &known,
        );
        check_duration(ck, src, &[root, "latency", "duration"], l.duration);
        ck.non_empty(src, &[root, "latency", "ports"], &l.ports, "port");
    }
    if let Some(p) = &spec.pps {
        check_protocols(ck, src, &[root, "pps", "protocols"], &p.protocols);
        check_commands(ck, src, &[root, "pps"], &p.commands, &p.protocols, &known);
        if let Some(sar) = &p.sar_cmd {
            ck.template(src, &[root, "pps", "sar_cmd"], sar, &known);
        }
        check_streams(ck, src, &[root, "pps", "streams"], &p.streams, p.base_port);
        check_duration(ck, src, &[root, "pps", "duration"], p.duration);
        check_bw(ck, src, &[root, "pps", "target_bw"], &p.target_bw);
    }
    spec
}

/// A case file read once, however many tools name it.
struct CaseSource {
    src: Source,
    cases: Option<HashMap<u32, Arc<EbpfCase>>>,
}

fn read_cases(ck: &mut Checker, path: PathBuf, tools_src: &Source, key: &[&str]) -> CaseSource {
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            ck.at(
                tools_src,
                key,
                format!("cannot read case file {}: {e}", path.display()),
            );
            return CaseSource {
                src: Source {
                    shown: path,
                    text: String::new(),
                },
                cases: None,
            };
        }
    };
    let src = Source { shown: path, text };
    let cases = match serde_json::from_str::<CaseFile>(&src.text) {
        Ok(f) => {
            let mut map = HashMap::new();
            for c in f.into_cases() {
                if map.contains_key(&c.id) {
                    ck.problems.push(Problem {
                        file: src.shown.clone(),
                        line: locate::line_of_json_id(&src.text, c.id),
                        key: format!("id {}", c.id),
                        message: "is used by two cases; case ids must be unique".into(),
                    });
                }
                map.insert(c.id, Arc::new(c));
            }
            Some(map)
        }
        Err(e) => {
            // Untagged enums hide the inner error; parse again as a plain list for it.
            let detail = serde_json::from_str::<Vec<EbpfCase>>(&src.text)
                .err()
                .unwrap_or(e);
            ck.problems.push(Problem {
                file: src.shown.clone(),
                line: (detail.line() > 0).then_some(detail.line()),
                key: String::new(),
                message: format!(
                    "{detail}; expected a JSON list of cases {{id, name, command, duration, target?, parameters?}}"
                ),
            });
            None
        }
    };
    CaseSource { src, cases }
}

fn check_case(ck: &mut Checker, cs: &Source, case: &EbpfCase, envs: &[&TestEnv]) {
    let at = |ck: &mut Checker, key: String, msg: String| {
        ck.problems.push(Problem {
            file: cs.shown.clone(),
            line: locate::line_of_json_id(&cs.text, case.id),
            key,
            message: msg,
        });
    };
    let k = |f: &str| format!("case {}.{f}", case.id);
    if case.name.trim().is_empty() {
        at(ck, k("name"), "is empty; expected a name for people".into());
    }
    if case.duration == 0 {
        at(
            ck,
            k("duration"),
            "0 is not a duration; expected seconds >= 1".into(),
        );
    }
    for (pk, pv) in &case.parameters {
        if matches!(pk.as_str(), "protocol" | "direction") {
            if let Err(e) = check_safe_id(&pv.text()) {
                at(
                    ck,
                    k(&format!("parameters.{pk}")),
                    format!("{:?} {e} (it becomes part of a directory name)", pv.text()),
                );
            }
        }
    }
    let vars = common_vars(envs.iter().copied());
    let known = |n: &str| {
        ENV_PLACEHOLDERS.contains(&n)
            || CASE_PLACEHOLDERS.contains(&n)
            || case.parameters.contains_key(n)
            || vars.contains(n)
    };
    if case.command.trim().is_empty() {
        at(
            ck,
            k("command"),
            "is empty; expected the command that starts the eBPF program".into(),
        );
    }
    for name in template::placeholders(&case.command) {
        if !known(name) {
            at(
                ck,
                k("command"),
                format!("unknown placeholder {{{name}}}; expected an environment placeholder, a case parameter or an env var of every environment the case runs in"),
            );
        }
    }
}

fn check_tools(
    ck: &mut Checker,
    dir: &Path,
    (src, f): &(Source, ToolsFile),
    envs: &EnvFile,
    spec: &PerfSpec,
) -> IndexMap<String, Tool> {
    if f.ebpf_tools.is_empty() {
        ck.at(src, &["ebpf_tools"], "is empty; expected at least one tool");
    }
    let defined: Vec<&str> = [
        spec.throughput.as_ref().map(|_| "throughput"),
        spec.latency.as_ref().map(|_| "latency"),
        spec.pps.as_ref().map(|_| "pps"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut files: HashMap<PathBuf, CaseSource> = HashMap::new();
    let mut out = IndexMap::new();
    for (tid, t) in &f.ebpf_tools {
        ck.id(src, &["ebpf_tools", tid], "tool id", tid);
        let nested = t.testcase_source.is_some() || t.test_associations.is_some();
        let flat = t.testcase_file.is_some()
            || t.case_ids.is_some()
            || t.applicable_environments.is_some()
            || t.performance_test_types.is_some();
        if nested && flat {
            ck.at(
                src,
                &["ebpf_tools", tid],
                "mixes the nested shape (testcase_source, test_associations) with the flat one \
                 (testcase_file, case_ids, applicable_environments, performance_test_types); use one",
            );
            continue;
        }
        let (file, ids, file_key, ids_key) = match (
            &t.testcase_source,
            &t.testcase_file,
            &t.case_ids,
        ) {
            (Some(s), _, _) => (
                s.file.clone(),
                s.case_ids.clone(),
                vec!["testcase_source", "file"],
                vec!["testcase_source", "case_ids"],
            ),
            (None, Some(file), Some(ids)) => (
                file.clone(),
                ids.clone(),
                vec!["testcase_file"],
                vec!["case_ids"],
            ),
            (None, None, _) => {
                ck.at(src, &["ebpf_tools", tid], "has no case file; expected testcase_source: {file, case_ids} or testcase_file + case_ids");
                continue;
            }
            (None, Some(_), None) => {
                ck.at(
                    src,
                    &["ebpf_tools", tid],
                    "has testcase_file but no case_ids; expected the list of case ids to run",
                );
                continue;
            }
        };
        let (env_list, types, assoc) = match (
            &t.test_associations,
            &t.applicable_environments,
            &t.performance_test_types,
        ) {
            (Some(a), _, _) => (
                a.applicable_environments.clone(),
                a.performance_test_types.clone(),
                Some("test_associations"),
            ),
            (None, Some(e), Some(p)) => (e.clone(), p.clone(), None),
            _ => {
                ck.at(
                    src,
                    &["ebpf_tools", tid],
                    "has no test associations; expected test_associations: {applicable_environments, performance_test_types} \
                     or both keys at the tool level",
                );
                continue;
            }
        };
        let tkey = |k: &'static str| -> Vec<&str> {
            let mut v = vec!["ebpf_tools", tid.as_str()];
            v.extend(assoc);
            v.push(k);
            v
        };
        let with = |ks: &[&'static str]| -> Vec<&str> {
            let mut v = vec!["ebpf_tools", tid.as_str()];
            v.extend_from_slice(ks);
            v
        };
        // environments
        let env_path = tkey("applicable_environments");
        ck.non_empty(src, &env_path, &env_list, "environment");
        let mut tool_envs = Vec::new();
        let mut seen = HashSet::new();
        for e in &env_list {
            if !seen.insert(e) {
                ck.at(src, &env_path, format!("lists {e:?} twice"));
            }
            match envs.test_environments.get(e) {
                Some(te) => tool_envs.push(te),
                None => {
                    let known: Vec<&str> =
                        envs.test_environments.keys().map(String::as_str).collect();
                    ck.at(
                        src,
                        &env_path,
                        format!(
                            "{e:?} is not an environment of {ENV_FILE}; expected one of: {}",
                            known.join(", ")
                        ),
                    );
                }
            }
        }
        // test types
        let types_path = tkey("performance_test_types");
        ck.non_empty(src, &types_path, &types, "test type");
        let mut test_types = BTreeSet::new();
        for ty in &types {
            match TestType::parse(ty) {
                Some(tt) if defined.contains(&tt.as_str()) => {
                    if !test_types.insert(tt) {
                        ck.at(src, &types_path, format!("lists {ty:?} twice"));
                    }
                }
                Some(_) => ck.at(
                    src,
                    &types_path,
                    format!(
                        "{ty:?} is not defined in {PERF_FILE}; expected one of: {}",
                        defined.join(", ")
                    ),
                ),
                None => ck.at(
                    src,
                    &types_path,
                    format!("{ty:?} is not a test type; expected one of: throughput, latency, pps"),
                ),
            }
        }
        // cases
        let ids_path = with(&ids_key);
        ck.non_empty(src, &ids_path, &ids, "case id");
        let case_path = dir.join(&file);
        let cs = files
            .entry(case_path.clone())
            .or_insert_with(|| read_cases(ck, case_path.clone(), src, &with(&file_key)));
        let mut cases = Vec::new();
        if let Some(map) = &cs.cases {
            let mut seen = HashSet::new();
            for id in &ids {
                if !seen.insert(id) {
                    ck.at(src, &ids_path, format!("lists case {id} twice"));
                    continue;
                }
                match map.get(id) {
                    Some(c) => {
                        check_case(ck, &cs.src, c, &tool_envs);
                        cases.push(c.clone());
                    }
                    None => ck.at(
                        src,
                        &ids_path,
                        format!("case {id} is not in {}", cs.src.shown.display()),
                    ),
                }
            }
        }
        out.insert(
            tid.clone(),
            Tool {
                id: tid.clone(),
                program: t.id.clone(),
                name: t.name.clone(),
                case_file: case_path,
                cases,
                environments: env_list,
                test_types: test_types.into_iter().collect(),
                monitoring: t.resource_monitoring.clone(),
            },
        );
    }
    out
}

fn check_hooks(ck: &mut Checker, (src, f): &(Source, HooksFile), envs: &EnvFile) -> Hooks {
    let vars = common_vars(envs.test_environments.values());
    let h = &f.hooks;
    for (layer, lh) in [
        ("global", &h.global),
        ("tool", &h.tool),
        ("case", &h.case),
        ("test", &h.test),
    ] {
        let names = hook_placeholders(layer);
        let known = |n: &str| names.contains(&n) || (layer != "global" && vars.contains(n));
        for (phase, tasks) in [("setup", &lh.setup), ("teardown", &lh.teardown)] {
            let mut seen = HashSet::new();
            for (i, task) in tasks.iter().enumerate() {
                let idx = format!("[{i}]");
                let at = |k: &'static str| ["hooks", layer, phase, idx.as_str(), k];
                let base = at("name");
                if task.name.trim().is_empty() {
                    ck.at(src, &base, "is empty; expected a task name");
                } else if !seen.insert(task.name.as_str()) {
                    ck.at(
                        src,
                        &base,
                        format!(
                            "{:?} is used twice in {layer}.{phase}; results are saved by name",
                            task.name
                        ),
                    );
                }
                ck.template(src, &at("run"), &task.run, &known);
                if task.timeout == Some(0) {
                    ck.at(
                        src,
                        &at("timeout"),
                        "0 is not a timeout; expected seconds >= 1",
                    );
                }
                if layer == "global" && task.when != When::Always {
                    ck.at(
                        src,
                        &at("when"),
                        "global tasks run once per session; `when` applies to case and test tasks",
                    );
                }
            }
        }
    }
    h.clone()
}
