//! Seed 002's `ebpf-tools-spec.yaml` as `ebpf-tools-config.yaml`: the
//! program shape with `path` naming the file and `executable` its
//! interpreter, `applicable_environments`, `test_scope.protocols` paired
//! with the tests' protocols as the seed's TestCaseGenerator does,
//! `{protocol}`/`{direction}` in templates, and required variables that the
//! environment files give.

use super::files::{dump, header, parse, root, MONITORING_KEYS};
use super::ImportError;
use crate::yaml::{Mapping, Value};

/// The most cases one tool's expansion may make.
const MAX_CASES: usize = 1000;

/// The top-level keys of `ebpf-tools-config.yaml`.
const TOP_KEYS: [&str; 5] = [
    "budgets",
    "regression_pct",
    "ebpf_tools",
    "comparisons",
    "ratings",
];

/// Required variables the seed's environment files give, by name: the
/// placeholder that carries each (the client's and the server's
/// `test_ip`, the environment's `interface`) and why.
const FROM_ENVIRONMENT: [(&str, &str, &str); 4] = [
    (
        "SRC_IP",
        "client_ip",
        "the traffic's source, the client's test_ip",
    ),
    (
        "DST_IP",
        "server_ip",
        "the traffic's destination, the server's test_ip",
    ),
    (
        "INTERNAL_INTERFACE",
        "interface",
        "the environment's test interface",
    ),
    (
        "VM_INTERFACE",
        "interface",
        "the environment's test interface",
    ),
];

/// The seed's `applicable_environments` of a program-shape tool as its
/// `test_scope.environments`.
fn scope_environments(tool: &str, t: &mut Mapping) -> Option<String> {
    let envs = t.shift_remove("applicable_environments")?;
    let scope = t
        .entry("test_scope")
        .or_insert(Value::Object(Mapping::new()));
    let scope = scope.as_object_mut()?;
    if scope.contains_key("environments") {
        return Some(format!(
            "{tool}: applicable_environments left out: test_scope.environments gives them"
        ));
    }
    scope.insert("environments".into(), envs);
    Some(format!(
        "{tool}: applicable_environments is test_scope.environments"
    ))
}

/// Required variables that no case gives: those the environment gives
/// (`FROM_ENVIRONMENT`) become its placeholders in the template; any other
/// is `UNSET_<NAME>` in each case, which `validate` warns about.
fn vars_from_environment(tool: &str, t: &mut Mapping) -> Vec<String> {
    let mut notes = Vec::new();
    let Some(Value::Object(p)) = t.get_mut("parameters") else {
        return notes;
    };
    let mut template = p
        .get("template")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut unset = Vec::new();
    if let Some(Value::Array(req)) = p.get_mut("required_vars") {
        req.retain(|r| {
            let Some(r) = r.as_str() else { return true };
            match FROM_ENVIRONMENT.iter().find(|(n, ..)| *n == r) {
                Some((n, ph, why)) => {
                    template = template.replace(&format!("{{{n}}}"), &format!("{{{ph}}}"));
                    notes.push(format!("{tool}: {{{n}}} is {{{ph}}}, {why}"));
                    false
                }
                None => {
                    unset.push(r.to_string());
                    true
                }
            }
        });
    }
    p.insert("template".into(), template.into());
    let cases = t.get_mut("cases").and_then(Value::as_array_mut);
    for c in cases.into_iter().flatten().filter_map(Value::as_object_mut) {
        let vars = c.entry("vars").or_insert(Value::Object(Mapping::new()));
        let Some(vars) = vars.as_object_mut() else {
            continue;
        };
        for r in &unset {
            if vars.contains_key(r.as_str()) {
                continue;
            }
            vars.insert(r.clone(), format!("UNSET_{r}").into());
            if !notes.iter().any(|n| n.contains(&format!("UNSET_{r}"))) {
                notes.push(format!("{tool}: no seed file gives {r}: its cases have {r}: UNSET_{r}, which validate warns about until it is set"));
            }
        }
    }
    notes
}

/// `resource_monitoring` keys ebpf-perf has no use for (the seed's
/// `disk_io`) are left out.
fn monitoring_keys(tool: &str, t: &mut Mapping) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(Value::Object(m)) = t.get_mut("resource_monitoring") {
        m.retain(|k, _| {
            let known = MONITORING_KEYS.contains(&k.as_str());
            if !known {
                notes.push(format!("{tool}: resource_monitoring.{k} is left out: the monitor agent does not measure it"));
            }
            known
        });
    }
    notes
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

/// The values `{protocol}` and `{direction}` take where the template uses
/// them: test_scope's `protocols` and `directions`. Without them, the
/// protocols the seed's TestCaseGenerator loops over (tcp, udp) and the
/// directions seed 001 §3.3 names (rx, tx). A protocol no test runs over
/// (icmp) pairs with no test and is left out.
fn dimensions(
    tool: &str,
    t: &mut Mapping,
    template: &str,
    notes: &mut Vec<String>,
) -> Vec<(&'static str, Vec<Value>)> {
    let mut scope = t.get_mut("test_scope").and_then(Value::as_object_mut);
    let mut dims = Vec::new();
    for (var, key, default) in [
        ("protocol", "protocols", ["tcp", "udp"]),
        ("direction", "directions", ["rx", "tx"]),
    ] {
        let values = scope.as_mut().and_then(|s| s.shift_remove(key));
        if !template.contains(&format!("{{{var}}}")) {
            if let Some(vs) = values {
                let shown = crate::yaml::to_string(&vs).unwrap_or_default();
                notes.push(format!(
                    "{tool}: test_scope.{key} {} is not used by its template; left out",
                    shown.trim()
                ));
            }
            continue;
        }
        let mut vs = match values.and_then(|v| v.as_array().cloned()) {
            Some(vs) if !vs.is_empty() => vs,
            _ => {
                notes.push(format!(
                    "{tool}: its template uses {{{var}}} and test_scope has no {key}: {}",
                    default.join(", ")
                ));
                default.iter().map(|d| Value::from(*d)).collect()
            }
        };
        let mut seen = std::collections::HashSet::new();
        vs.retain(|v| seen.insert(v.to_string()));
        if var == "protocol" {
            vs.retain(|p| {
                let paired = matches!(p.as_str(), Some("tcp" | "udp"));
                if !paired {
                    notes.push(format!("{tool}: protocol {p} is left out: no performance test runs over it, so no case would pair with one"));
                }
                paired
            });
        }
        dims.push((var, vs));
    }
    dims
}

/// Each case as one case per value of every dimension it does not give.
/// A case of one protocol pairs with the tests of that protocol
/// (`protocol:`). Returns the cases and notes.
fn expand(
    tool: &str,
    cases: &[Value],
    dims: &[(&str, Vec<Value>)],
    next_id: &mut u64,
) -> Result<(Vec<Value>, Vec<String>), String> {
    let per_case = dims
        .iter()
        .fold(1usize, |n, (_, v)| n.saturating_mul(v.len().max(1)));
    if cases.len().saturating_mul(per_case) > MAX_CASES {
        return Err(format!(
            "{tool}: its {} cases over {} would make more than {MAX_CASES} cases; list fewer values",
            cases.len(),
            dims.iter()
                .map(|(k, v)| format!("{} {k}s", v.len()))
                .collect::<Vec<_>>()
                .join(" and ")
        ));
    }
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for c in cases {
        let mut variants = vec![c.clone()];
        for (var, values) in dims {
            if c.get("vars").and_then(|v| v.get(*var)).is_some() {
                continue;
            }
            if values.is_empty() {
                return Err(format!(
                    "{tool}: no value of `{var}` is left for case {}",
                    c.get("id").and_then(Value::as_u64).unwrap_or(0)
                ));
            }
            let mut next = Vec::new();
            for v in &variants {
                for value in values {
                    let mut v = v.clone();
                    if let Some(m) = v.as_object_mut() {
                        if let Value::Object(vars) =
                            m.entry("vars").or_insert(Value::Object(Mapping::new()))
                        {
                            vars.insert((*var).into(), value.clone());
                        }
                        if *var == "protocol" {
                            m.insert("protocol".into(), value.clone());
                        }
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
            let id = if k == 0 { first_id } else { *next_id };
            if let Some(m) = v.as_object_mut() {
                let p = m.get("vars").and_then(|x| x.get("protocol")).cloned();
                if let Some(p) = p.filter(|p| matches!(p.as_str(), Some("tcp" | "udp"))) {
                    m.entry("protocol").or_insert(p);
                }
                if many {
                    let name = m
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("case")
                        .to_string();
                    m.insert("name".into(), format!("{name} ({what})").into());
                }
                m.insert("id".into(), id.into());
            }
            if k > 0 {
                *next_id += 1;
            }
            notes.push(format!(
                "{tool}: case {id} is seed case {first_id} with {what}"
            ));
            out.push(v);
        }
    }
    Ok((out, notes))
}

/// Expands the tool's cases over `{protocol}` and `{direction}` where its
/// template uses them and a case does not give them; a tool with no cases
/// (the seed's own) has one, named after the tool. New cases take ids
/// after the largest. Returns notes.
fn expand_cases(tool: &str, t: &mut Mapping, next_id: &mut u64) -> Result<Vec<String>, String> {
    let template = t
        .get("parameters")
        .and_then(|p| p.get("template"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut notes = Vec::new();
    let dims = dimensions(tool, t, &template, &mut notes);
    if dims.is_empty() {
        return Ok(notes);
    }
    if !t.contains_key("cases") {
        let name = t
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(tool)
            .to_string();
        let mut case = Mapping::new();
        case.insert("id".into(), (*next_id).into());
        case.insert("name".into(), name.into());
        t.insert("cases".into(), Value::Array(vec![Value::Object(case)]));
        *next_id += 1;
    }
    let cases = t
        .get("cases")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| format!("{tool}: `cases` is not a list"))?;
    let (cases, n) = expand(tool, &cases, &dims, next_id)?;
    notes.extend(n);
    t.insert("cases".into(), Value::Array(cases));
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
        if t.contains_key("path") || t.contains_key("parameters") {
            notes.extend(scope_environments(&name, &mut t));
        }
        match expand_cases(&name, &mut t, &mut next_id) {
            Ok(n) => notes.extend(n),
            Err(e) => problems.push(format!("{source}: ebpf_tools.{e}")),
        }
        notes.extend(vars_from_environment(&name, &mut t));
        notes.extend(monitoring_keys(&name, &mut t));
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
    file.retain(|k, _| {
        let known = TOP_KEYS.contains(&k.as_str());
        if !known {
            let why = if k == "tool_discovery" {
                "`ebpf-perf discover DIR...` scans directories for tools and writes their entries"
            } else {
                "ebpf-perf has no such setting"
            };
            notes.push(format!("`{k}` is left out: {why}"));
        }
        known
    });
    let mut s = String::new();
    header(&mut s, source, &notes);
    s.push_str(&dump(&Value::Object(file), source)?);
    Ok(s)
}
