//! Seed 002's configuration files as this project's: `ssh-hosts.yaml`,
//! `test-environments.yaml`, `performance-test-spec.yaml` (`durations:`),
//! and `monitoring-config.yaml` (`ebpf-tools-spec.yaml` is `tools.rs`'s). Each converter returns the new file's text with
//! comments where the shape changed.

use super::ImportError;
use crate::yaml::{Mapping, Value};
use std::fmt::Write;

pub fn parse(text: &str, file: &str) -> Result<Value, ImportError> {
    crate::yaml::from_str(text).map_err(|e| ImportError::Parse {
        file: file.to_string(),
        why: e.to_string(),
    })
}

pub(super) fn dump(v: &Value, file: &str) -> Result<String, ImportError> {
    crate::yaml::to_string(v).map_err(|e| ImportError::Parse {
        file: file.to_string(),
        why: e.to_string(),
    })
}

pub(super) fn header(out: &mut String, source: &str, notes: &[String]) {
    let c = crate::untrusted::yaml_comment;
    let _ = writeln!(out, "# Imported by `ebpf-perf import` from {}.", c(source));
    for n in notes {
        let _ = writeln!(out, "# {}", c(n));
    }
}

/// The mapping under the first of `keys` present at the root (or the root).
pub(super) fn root<'a>(
    v: &'a mut Value,
    keys: &[&str],
    file: &str,
) -> Result<&'a mut Mapping, ImportError> {
    let m = v.as_object_mut().ok_or_else(|| {
        ImportError::Invalid(vec![format!("{file}: expected a mapping at the top")])
    })?;
    let key = keys.iter().find(|k| m.contains_key(**k)).copied();
    match key {
        Some(k) => m
            .get_mut(k)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| ImportError::Invalid(vec![format!("{file}: `{k}` is not a mapping")])),
        None => Err(ImportError::Invalid(vec![format!(
            "{file}: expected `{}` at the top",
            keys.join("` or `")
        )])),
    }
}

fn rename(m: &mut Mapping, from: &str, to: &str) -> bool {
    match m.shift_remove(from) {
        Some(v) if !m.contains_key(to) => {
            m.insert(to.into(), v);
            true
        }
        Some(v) => {
            m.insert(from.into(), v);
            false
        }
        None => false,
    }
}

/// `ssh-hosts.yaml` → `ssh-config.yaml`: `hosts:` or `ssh_hosts:`, and the
/// key names `hostname`, `username`, `key_file`/`ssh_key`.
pub fn ssh(text: &str, source: &str) -> Result<String, ImportError> {
    let mut v = parse(text, source)?;
    let mut notes = Vec::new();
    let hosts = root(&mut v, &["ssh_hosts", "hosts"], source)?.clone();
    let mut out = Mapping::new();
    for (name, h) in hosts {
        let mut h = h.as_object().cloned().unwrap_or_default();
        for (from, to) in [
            ("hostname", "host"),
            ("address", "host"),
            ("username", "user"),
            ("key_file", "identity_file"),
            ("ssh_key", "identity_file"),
            ("work_dir", "workdir"),
        ] {
            if rename(&mut h, from, to) {
                notes.push(format!("{}: `{from}` is `{to}` here", name.as_str()));
            }
        }
        out.insert(name, Value::Object(h));
    }
    let mut file = Mapping::new();
    if let Some(m) = v.as_object() {
        for k in ["lab", "list_only"] {
            if let Some(x) = m.get(k) {
                file.insert(k.into(), x.clone());
            }
        }
    }
    file.insert("ssh_hosts".into(), Value::Object(out));
    let v = Value::Object(file);
    // It must read as this project's file.
    let parsed: crate::config::SshFile = serde_json::from_value(v.clone())
        .map_err(|e| ImportError::Invalid(vec![format!("{source}: {e}")]))?;
    let mut s = String::new();
    header(&mut s, source, &notes);
    s.push_str(&dump(&serde_json::to_value(parsed).unwrap_or(v), source)?);
    Ok(s)
}

/// `test-environments.yaml` → `test-env-config.yaml` (`environments:` or
/// `test_environments:`).
pub fn envs(text: &str, source: &str) -> Result<String, ImportError> {
    let mut v = parse(text, source)?;
    let envs = root(&mut v, &["test_environments", "environments"], source)?.clone();
    let mut file = Mapping::new();
    file.insert("test_environments".into(), Value::Object(envs));
    let mut s = String::new();
    header(&mut s, source, &[]);
    s.push_str(&dump(&Value::Object(file), source)?);
    Ok(s)
}

/// Where a test's settings live in the perf spec: `(path, mapping)`.
fn tests_of(spec: &mut Mapping) -> Vec<(String, &mut Mapping)> {
    let mut out = Vec::new();
    for (k, v) in spec.iter_mut() {
        let name = k.as_str().to_string();
        let Some(m) = v.as_object_mut() else {
            continue;
        };
        if name == "throughput" {
            for (k2, v2) in m.iter_mut() {
                if let Some(m2) = v2.as_object_mut() {
                    out.push((format!("throughput.{}", k2.as_str()), m2));
                }
            }
        } else {
            out.push((name, m));
        }
    }
    out
}

/// `performance-test-spec.yaml`: `durations: [N, ...]` (top level or under
/// the tests) becomes each test's `duration` where it has none.
pub fn perf(text: &str, source: &str) -> Result<String, ImportError> {
    let mut v = parse(text, source)?;
    let m = v.as_object_mut().ok_or_else(|| {
        ImportError::Invalid(vec![format!("{source}: expected a mapping at the top")])
    })?;
    let mut durations = m.shift_remove("durations");
    let key = if m.contains_key("performance_tests") {
        "performance_tests"
    } else {
        "test_types"
    };
    let spec = m
        .get_mut(key)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| {
            ImportError::Invalid(vec![format!(
                "{source}: expected `performance_tests` or `test_types` at the top"
            )])
        })?;
    if durations.is_none() {
        durations = spec.shift_remove("durations");
    }
    let mut notes = Vec::new();
    let mut first = None;
    if let Some(d) = durations {
        first = Some(durations_to_each(spec, None, &d, source, &mut notes)?);
    }
    // `durations:` under a test is that test's.
    let names: Vec<String> = tests_of(spec).into_iter().map(|(n, _)| n).collect();
    for name in &names {
        let Some(t) = test_mut(spec, name) else {
            continue;
        };
        if let Some(d) = t.shift_remove("durations") {
            let f = durations_to_each(spec, Some(name), &d, source, &mut notes)?;
            first.get_or_insert(f);
        }
    }
    fill_durations(spec, first, &mut notes);
    json_reports(spec, &mut notes);
    let mut s = String::new();
    header(&mut s, source, &notes);
    s.push_str(&dump(&v, source)?);
    Ok(s)
}

/// iperf3 clients print JSON (`-J`), which ebpf-perf reads.
fn json_reports(spec: &mut Mapping, notes: &mut Vec<String>) {
    for (name, t) in tests_of(spec) {
        for key in ["client_cmd_tcp", "client_cmd_udp"] {
            let Some(c) = t.get(key).and_then(Value::as_str) else {
                continue;
            };
            if crate::config::iperf3_without_json(c) {
                let c = format!("{c} -J");
                t.insert(key.into(), c.into());
                notes.push(format!("{name}.{key}: -J added; ebpf-perf reads iperf3's JSON report, which holds what its text report says"));
            }
        }
    }
}

/// The test at `name` (`latency`, `throughput.single_stream`).
fn test_mut<'a>(spec: &'a mut Mapping, name: &str) -> Option<&'a mut Mapping> {
    let mut parts = name.split('.');
    let mut m = spec.get_mut(parts.next()?)?.as_object_mut()?;
    for p in parts {
        m = m.get_mut(p)?.as_object_mut()?;
    }
    Some(m)
}

/// `durations: [N, ...]` (`d`) as `duration: N` of the test `only`, or of
/// every test without one; returns N.
fn durations_to_each(
    spec: &mut Mapping,
    only: Option<&str>,
    d: &Value,
    source: &str,
    notes: &mut Vec<String>,
) -> Result<u64, ImportError> {
    let list: Vec<u64> = match d {
        Value::Array(s) => s.iter().filter_map(Value::as_u64).collect(),
        Value::Number(n) => n.as_u64().into_iter().collect(),
        _ => Vec::new(),
    };
    let Some(&first) = list.first() else {
        return Err(ImportError::Invalid(vec![format!(
            "{source}: `durations` must be a list of seconds, like [30]"
        )]));
    };
    let mut set = Vec::new();
    for (name, t) in tests_of(spec) {
        if only.is_none_or(|o| o == name) && !t.contains_key("duration") {
            t.insert("duration".into(), first.into());
            set.push(name);
        }
    }
    notes.push(format!(
        "durations: {list:?} is `duration: {first}` of {}.",
        set.join(", ")
    ));
    if list.len() > 1 {
        notes.push(format!(
            "ebpf-perf runs one duration per test: the others ({:?}) are a run with `--duration N` each.",
            &list[1..]
        ));
    }
    Ok(first)
}

/// The seconds a client command runs for when it says so literally:
/// netperf's `-l 20`, iperf3's `-t 30`.
fn literal_duration(t: &Mapping) -> Option<(u64, String)> {
    ["client_cmd_tcp", "client_cmd_udp"]
        .iter()
        .filter_map(|k| t.get(*k)?.as_str())
        .find_map(|c| {
            let w: Vec<&str> = c.split_whitespace().collect();
            let flag = match w.first()?.rsplit('/').next()? {
                "netperf" => "-l",
                "iperf3" => "-t",
                _ => return None,
            };
            w.windows(2).find_map(|p| {
                let n = (p[0] == flag).then(|| p[1].parse::<u64>().ok())??;
                Some((n, format!("{flag} {n}")))
            })
        })
}

/// A test with no `duration`: the one its command states (`-l 20`), a
/// multi-stream test the single-stream one's, any other the first
/// `durations` of the file.
fn fill_durations(spec: &mut Mapping, first: Option<u64>, notes: &mut Vec<String>) {
    let single = test_mut(spec, "throughput.single_stream")
        .and_then(|t| t.get("duration").and_then(Value::as_u64));
    for (name, t) in tests_of(spec) {
        if t.contains_key("duration") {
            continue;
        }
        let (n, why) = match (literal_duration(t), name.as_str(), single, first) {
            (Some((n, w)), ..) => (n, format!("its command's `{w}`")),
            (None, "throughput.multi_stream", Some(n), _) => (n, "single_stream's".into()),
            (None, _, _, Some(n)) => (n, "the file's `durations`".into()),
            _ => continue,
        };
        t.insert("duration".into(), n.into());
        notes.push(format!(
            "{name} has no duration: `duration: {n}`, from {why}."
        ));
    }
}

/// The keys of `resource_monitoring`.
pub(super) const MONITORING_KEYS: [&str; 6] = [
    "enabled",
    "cpu",
    "memory",
    "memory_types",
    "log_size",
    "cpu_stats",
];

/// `monitoring-config.yaml`: the keys `resource_monitoring` has, and a
/// note for each other key. Returns the mapping and the notes.
pub fn monitoring(text: &str, source: &str) -> Result<(Value, Vec<String>), ImportError> {
    let mut v = parse(text, source)?;
    let m = match v.as_object_mut() {
        Some(m) => {
            let inner = ["monitoring", "resource_monitoring", "monitoring_config"]
                .iter()
                .find_map(|k| m.get(*k).and_then(Value::as_object).cloned());
            inner.unwrap_or_else(|| m.clone())
        }
        None => {
            return Err(ImportError::Invalid(vec![format!(
                "{source}: expected a mapping at the top"
            )]))
        }
    };
    let mut keep = Mapping::new();
    let mut notes = Vec::new();
    for (k, val) in m {
        if MONITORING_KEYS.contains(&k.as_str()) {
            keep.insert(k, val);
        } else {
            notes.push(format!(
                "{source}: `{k}` is not used: the monitor agent samples every second, and the eBPF tool's own PIDs are found by ebpf-perf"
            ));
        }
    }
    let value = Value::Object(keep);
    serde_json::from_value::<crate::config::ResourceMonitoring>(value.clone())
        .map_err(|e| ImportError::Invalid(vec![format!("{source}: {e}")]))?;
    Ok((value, notes))
}
