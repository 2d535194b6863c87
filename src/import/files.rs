//! Seed 002's configuration files as this project's: `ssh-hosts.yaml`,
//! `test-environments.yaml`, `performance-test-spec.yaml` (`durations:`),
//! `ebpf-tools-spec.yaml` (the program shape with `path` naming the file,
//! `test_scope.protocols`, `{protocol}`/`{direction}` in templates) and
//! `monitoring-config.yaml`. Each converter returns the new file's text with
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

fn dump(v: &Value, file: &str) -> Result<String, ImportError> {
    crate::yaml::to_string(v).map_err(|e| ImportError::Parse {
        file: file.to_string(),
        why: e.to_string(),
    })
}

fn header(out: &mut String, source: &str, notes: &[String]) {
    let c = crate::untrusted::yaml_comment;
    let _ = writeln!(out, "# Imported by `ebpf-perf import` from {}.", c(source));
    for n in notes {
        let _ = writeln!(out, "# {}", c(n));
    }
}

/// The mapping under the first of `keys` present at the root (or the root).
fn root<'a>(v: &'a mut Value, keys: &[&str], file: &str) -> Result<&'a mut Mapping, ImportError> {
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
    if let Some(d) = durations {
        let list: Vec<u64> = match &d {
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
            if !t.contains_key("duration") {
                t.insert("duration".into(), first.into());
                set.push(name);
            }
        }
        notes.push(format!(
            "durations: {list:?} is each test's `duration: {first}` ({}).",
            set.join(", ")
        ));
        if list.len() > 1 {
            notes.push(format!(
                "ebpf-perf runs one duration per test: the others ({:?}) are a run with `--duration N` each.",
                &list[1..]
            ));
        }
    }
    let mut s = String::new();
    header(&mut s, source, &notes);
    s.push_str(&dump(&v, source)?);
    Ok(s)
}

/// The interpreters a seed names as `executable`, by the extension
/// ebpf-perf runs them by.
fn interpreter_ext(exe: &str) -> Option<&'static str> {
    match exe.rsplit('/').next().unwrap_or(exe) {
        "python3" | "python" => Some("py"),
        "bpftrace" => Some("bt"),
        _ => None,
    }
}

/// Expands each inline case over `test_scope.protocols` and
/// `test_scope.directions` where the template uses `{protocol}` or
/// `{direction}` and the case does not give it; new cases take ids after
/// the largest. Returns notes.
fn expand_cases(tool: &str, t: &mut Mapping, next_id: &mut u64) -> Result<Vec<String>, String> {
    let template = t
        .get("parameters")
        .and_then(|p| p.get("template"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut notes = Vec::new();
    let scope = t.get_mut("test_scope").and_then(Value::as_object_mut);
    let mut dims: Vec<(&str, Vec<Value>)> = Vec::new();
    if let Some(scope) = scope {
        for (var, key) in [("protocol", "protocols"), ("direction", "directions")] {
            let values = scope.shift_remove(key);
            if template.contains(&format!("{{{var}}}")) {
                match values.and_then(|v| v.as_array().cloned()) {
                    Some(vs) if !vs.is_empty() => dims.push((var, vs)),
                    _ => dims.push((var, Vec::new())),
                }
            } else if let Some(vs) = values {
                notes.push(format!(
                    "{tool}: test_scope.{key} {} is not used by its template; left out",
                    crate::yaml::to_string(&vs).unwrap_or_default().trim()
                ));
            }
        }
    }
    if dims.is_empty() {
        return Ok(notes);
    }
    let cases = t
        .get_mut("cases")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| {
            format!("{tool}: its template uses {{protocol}} or {{direction}} but it has no `cases`")
        })?;
    let mut out = Vec::new();
    for c in cases.iter() {
        let mut variants = vec![c.clone()];
        for (var, values) in &dims {
            let given = c.get("vars").and_then(|v| v.get(*var)).is_some();
            if given {
                continue;
            }
            if values.is_empty() {
                return Err(format!(
                    "{tool}: case {} does not give `{var}` and test_scope has no `{var}s` to take it from",
                    c.get("id").and_then(Value::as_u64).unwrap_or(0)
                ));
            }
            let mut next = Vec::new();
            for v in &variants {
                for value in values {
                    let mut v = v.clone();
                    let vars = v
                        .as_object_mut()
                        .map(|m| m.entry("vars").or_insert(Value::Object(Mapping::new())));
                    if let Some(Value::Object(vars)) = vars {
                        vars.insert((*var).into(), value.clone());
                    }
                    next.push(v);
                }
            }
            variants = next;
        }
        let first_id = c.get("id").and_then(Value::as_u64).unwrap_or(0);
        let many = variants.len() > 1;
        for (k, mut v) in variants.into_iter().enumerate() {
            // Each case's name says which variant it is.
            let what = describe(&v);
            if let (true, Some(m)) = (many, v.as_object_mut()) {
                let name = m
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("case")
                    .to_string();
                m.insert("name".into(), format!("{name} ({what})").into());
            }
            if k > 0 {
                if let Some(m) = v.as_object_mut() {
                    m.insert("id".into(), (*next_id).into());
                }
                notes.push(format!(
                    "{tool}: case {} is seed case {first_id} with {}",
                    next_id,
                    describe(&v)
                ));
                *next_id += 1;
            } else if !dims.is_empty() {
                notes.push(format!(
                    "{tool}: case {first_id} is seed case {first_id} with {}",
                    describe(&v)
                ));
            }
            out.push(v);
        }
    }
    *cases = out;
    // The expanded variables are the cases' now: the template requires them.
    if let Some(Value::Object(p)) = t.get_mut("parameters") {
        let req = p.entry("required_vars").or_insert(Value::Array(Vec::new()));
        if let Value::Array(req) = req {
            for (var, _) in &dims {
                if !req.iter().any(|r| r.as_str() == Some(var)) {
                    req.push((*var).into());
                }
            }
        }
    }
    Ok(notes)
}

fn describe(case: &Value) -> String {
    ["protocol", "direction"]
        .iter()
        .filter_map(|k| {
            let v = case.get("vars")?.get(*k)?;
            Some(format!(
                "{k} {}",
                v.as_str().map_or_else(|| format!("{v:?}"), str::to_string)
            ))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `ebpf-tools-spec.yaml` → `ebpf-tools-config.yaml`; `monitoring` is the
/// seed's `monitoring-config.yaml` (already read), given to every tool
/// without its own `resource_monitoring`.
pub fn tools(
    text: &str,
    source: &str,
    monitoring: Option<(&Value, &str)>,
    extra: &[String],
) -> Result<String, ImportError> {
    let mut v = parse(text, source)?;
    let mut notes = extra.to_vec();
    let mut problems = Vec::new();
    let tools = root(&mut v, &["ebpf_tools", "tools"], source)?.clone();
    let mut next_id = tools
        .values()
        .flat_map(|t| {
            t.get("cases")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|c| c.get("id").and_then(Value::as_u64))
        .max()
        .unwrap_or(0)
        + 1;
    let mut out = Mapping::new();
    for (key, t) in tools {
        let name = key.as_str().to_string();
        let mut t = t.as_object().cloned().unwrap_or_default();
        // The program shape with `path` naming the file and `executable`
        // its interpreter: ebpf-perf names the directory and the file, and
        // picks the interpreter by the file's extension.
        let path = t.get("path").and_then(Value::as_str).map(str::to_string);
        let exe = t
            .get("executable")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let (Some(path), Some(exe)) = (&path, &exe) {
            if let Some(ext) = interpreter_ext(exe) {
                let (dir, file) = path.rsplit_once('/').unwrap_or((".", path));
                if !file.ends_with(&format!(".{ext}")) {
                    problems.push(format!("{source}: ebpf_tools.{name}: `{path}` run by `{exe}`: ebpf-perf runs .{ext} files with {exe}; rename the file or give its interpreter's extension"));
                    continue;
                }
                t.insert("path".into(), dir.into());
                t.insert("executable".into(), file.into());
                notes.push(format!("{name}: path {path} run by {exe} is path {dir}, executable {file} (ebpf-perf runs .{ext} with {exe})"));
            }
        }
        match expand_cases(&name, &mut t, &mut next_id) {
            Ok(n) => notes.extend(n),
            Err(e) => problems.push(format!("{source}: ebpf_tools.{e}")),
        }
        if let Some((m, from)) = monitoring {
            if !t.contains_key("resource_monitoring") {
                t.insert("resource_monitoring".into(), m.clone());
                notes.push(format!("{name}: resource_monitoring from {from}"));
            }
        }
        out.insert(key, Value::Object(t));
    }
    if !problems.is_empty() {
        return Err(ImportError::Invalid(problems));
    }
    let mut file = v.as_object().cloned().unwrap_or_default();
    file.shift_remove("tools");
    file.insert("ebpf_tools".into(), Value::Object(out));
    let mut s = String::new();
    header(&mut s, source, &notes);
    s.push_str(&dump(&Value::Object(file), source)?);
    Ok(s)
}

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
    const KEYS: [&str; 6] = [
        "enabled",
        "cpu",
        "memory",
        "memory_types",
        "log_size",
        "cpu_stats",
    ];
    let mut keep = Mapping::new();
    let mut notes = Vec::new();
    for (k, val) in m {
        if KEYS.contains(&k.as_str()) {
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
