//! Reading and checking the configuration files: every problem is collected
//! (not just the first), each with file, line, key path and what is expected.

mod budgets;
mod case_path;
mod hooks;
pub use hooks::kills_by_name;
mod hosts;
mod perf;
mod program_tool;
mod tools;

use super::error::{ConfigError, Problem};
use super::locate;
use super::model::*;
use super::{Config, Tool, ENV_FILE, HOOKS_FILE, PERF_FILE, SSH_FILE, TOOLS_FILE};
use crate::domain::{Protocol, TestType};
use crate::naming::check_safe_id;
use crate::template;
use hooks::check_hooks;
use hosts::{check_envs, check_ssh};
use indexmap::IndexMap;
use perf::check_perf;
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tools::{check_comparisons, check_ratings, check_tools};

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
pub(super) fn hook_placeholders(layer: &str) -> Vec<&'static str> {
    let mut v = vec![
        "workdir",
        "results_root",
        "host",
        "role",
        "timestamp",
        "result_path",
    ];
    if layer == "global" {
        return v;
    }
    v.extend(ENV_PLACEHOLDERS);
    v.extend(["environment", "tool_id"]);
    if layer == "tool" {
        return v;
    }
    v.extend(["case_id", "cycle", "result_dir"]);
    v.extend(crate::config::model::EBPF_HOOK_PLACEHOLDERS);
    if layer == "case" {
        return v;
    }
    v.extend([
        "test_type",
        "variant",
        "protocol",
        "duration",
        "test_duration",
    ]);
    v
}

/// A file's text and its name as shown in messages.
pub(super) struct Source {
    pub(super) shown: PathBuf,
    pub(super) text: String,
}

impl Source {
    pub(super) fn problem(&self, path: &[&str], message: impl Into<String>) -> Problem {
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
pub(super) struct Checker {
    pub(super) problems: Vec<Problem>,
    /// What is allowed but said (with file:line), e.g. kills by name on
    /// hosts of one's own.
    pub(super) warnings: Vec<Problem>,
}

impl Checker {
    pub(super) fn warn(&mut self, src: &Source, path: &[&str], message: impl Into<String>) {
        self.warnings.push(src.problem(path, message));
    }

    pub(super) fn at(&mut self, src: &Source, path: &[&str], message: impl Into<String>) {
        self.problems.push(src.problem(path, message));
    }

    pub(super) fn id(&mut self, src: &Source, path: &[&str], what: &str, id: &str) {
        if let Err(e) = check_safe_id(id) {
            self.at(
                src,
                path,
                format!("{what} {id:?} {e} (it becomes a directory name)"),
            );
        }
    }

    pub(super) fn ip(&mut self, src: &Source, path: &[&str], ip: &str) {
        if ip.parse::<IpAddr>().is_err() {
            self.at(
                src,
                path,
                format!("{ip:?} is not an IP address; expected e.g. 198.18.0.2 or fd00::2"),
            );
        }
    }

    pub(super) fn template(
        &mut self,
        src: &Source,
        path: &[&str],
        t: &str,
        known: &dyn Fn(&str) -> bool,
    ) {
        if t.trim().is_empty() {
            self.at(src, path, "command is empty; expected a command template");
        }
        for msg in quoted(t) {
            self.at(src, path, msg);
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
    match crate::yaml::from_str::<T>(&src.text) {
        Ok(v) => Some((src, v)),
        Err(e) => {
            ck.problems.push(yaml_problem(&src, e));
            None
        }
    }
}

/// A YAML error as a problem of its file: the key path, the line, and the
/// message, which says when the file is empty.
fn yaml_problem(src: &Source, e: crate::yaml::YamlError) -> Problem {
    let line = yaml_line(&src.text, &e);
    let message = if src.text.trim().is_empty() {
        format!("{} (the file is empty)", e.message)
    } else {
        e.message
    };
    Problem {
        file: src.shown.clone(),
        line,
        key: e.path,
        message,
    }
}

/// Where a YAML error points. serde words a value it rejects after
/// buffering the map (`#[serde(flatten)]`) as "invalid value: …" and the
/// parser places it at the map's last line: the path's own line is nearer.
fn yaml_line(text: &str, e: &crate::yaml::YamlError) -> Option<usize> {
    let buffered = ["invalid value: ", "invalid type: "]
        .iter()
        .any(|p| e.message.starts_with(p));
    match e.line {
        _ if buffered => locate::line_of_path(text, &e.path).or(e.line),
        Some(l) => Some(locate::within_block(text, &e.path, l)),
        None => None,
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
    let comparisons = check_comparisons(&mut ck, &tools);
    let ratings = check_ratings(&mut ck, &tools);
    let tools = check_tools(&mut ck, dir, &tools, &env.1, &spec);
    let hooks = hooks.map(|h| check_hooks(&mut ck, &h, &env.1, ssh.1.lab.is_some()));

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
        comparisons,
        ratings,
        hooks: hooks.unwrap_or_default(),
        warnings: ck.warnings,
    })
}

/// Names of `vars` that every one of `envs` defines.
pub(super) fn common_vars<'a>(envs: impl IntoIterator<Item = &'a TestEnv>) -> HashSet<String> {
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

/// A problem for every placeholder of `t` that stands inside quotes: its
/// value is quoted already, and quotes around it would undo that (a `'` in
/// the value would end them).
pub(super) fn quoted(t: &str) -> Vec<String> {
    template::quoted_placeholders(t)
        .into_iter()
        .map(|name| {
            format!(
                "{{{name}}} stands inside quotes; its value is quoted already (one shell word, \
                 verbatim), and quotes around it would undo that: write {{{name}}} without them"
            )
        })
        .collect()
}
