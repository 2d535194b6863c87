//! `ebpf-perf discover DIR...`: finds eBPF tools in directories (bpftrace
//! scripts, and Python programs that use BCC or libbpf) and writes a
//! tools-file fragment in the program shape, one tool per program with one
//! case, and the parameters found: bpftrace's positional parameters (`$1`,
//! `$2`, ...) and the argparse options that have a literal default.
//!
//! It reads files only; nothing runs. The fragment is a starting point: the
//! values of bpftrace's positional parameters are not in the script, so they
//! start as "0", and the output says so.

use crate::shell::quote;
use crate::yaml::{Mapping, Value};
use std::path::{Path, PathBuf};

/// What a program takes on its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The variable's name in the template.
    pub var: String,
    /// How it is passed: `--interval` for an option, empty for a positional one.
    pub flag: String,
    /// Its value in the case.
    pub value: String,
}

/// One tool found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub file: PathBuf,
    pub kind: &'static str,
    pub params: Vec<Param>,
    /// What was seen but not made a parameter, for the comment.
    pub notes: Vec<String>,
}

/// How `discover` names and places what it found.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the scanned directories lie on the hosts (default: here).
    pub hosts_dir: Option<String>,
    pub environments: Vec<String>,
    pub test_types: Vec<String>,
    pub first_id: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("cannot read {path}: {source}; pass directories that hold eBPF tools")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no eBPF tools (*.bt, or *.py that use BCC or libbpf) under {0}")]
    Nothing(String),
}

/// bpftrace's positional parameters: the highest `$N` used.
pub fn bpftrace_params(text: &str) -> Vec<Param> {
    let b = text.as_bytes();
    let mut max = 0u32;
    for (i, _) in text.match_indices('$') {
        let digits: String = b[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .map(|&c| c as char)
            .collect();
        if let Ok(n) = digits.parse::<u32>() {
            max = max.max(n);
        }
    }
    (1..=max)
        .map(|n| Param {
            var: format!("arg{n}"),
            flag: String::new(),
            value: "0".into(),
        })
        .collect()
}

/// Does a Python program load BPF programs through BCC or libbpf?
pub fn python_uses_bpf(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start();
        (l.starts_with("from bcc") || l.starts_with("import bcc") || l.contains("libbpf"))
            && !l.starts_with('#')
    })
}

/// The characters of Python source outside string literals, each with the
/// bracket depth before it.
fn unquoted(text: &str) -> impl Iterator<Item = (usize, char, i32)> + '_ {
    let (mut depth, mut quote_ch) = (0i32, None::<char>);
    text.char_indices()
        .filter_map(move |(i, c)| match (quote_ch, c) {
            (Some(q), c) if c == q => {
                quote_ch = None;
                None
            }
            (Some(_), _) => None,
            (None, '"' | '\'') => {
                quote_ch = Some(c);
                None
            }
            (None, c) => {
                let before = depth;
                match c {
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' => depth -= 1,
                    _ => {}
                }
                Some((i, c, before))
            }
        })
}

/// The text of each `add_argument(...)` call's arguments, in order, in one
/// pass over the text (calls left open are not calls).
fn add_argument_calls(text: &str) -> Vec<&str> {
    let mut open: Vec<(usize, i32)> = Vec::new();
    let mut out = Vec::new();
    for (i, c, before) in unquoted(text) {
        if c == '(' && text[..i].ends_with("add_argument") {
            open.push((i + 1, before));
        } else if c == ')' && open.last().is_some_and(|&(_, d)| d == before - 1) {
            let (start, _) = open.pop().unwrap_or_default();
            out.push((start, &text[start..i]));
        }
    }
    out.sort_by_key(|&(start, _)| start);
    out.into_iter().map(|(_, call)| call).collect()
}

/// Splits call arguments at top-level commas.
fn split_args(call: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut from = 0;
    for (i, c, depth) in unquoted(call) {
        if c == ',' && depth == 0 {
            out.push(call[from..i].trim());
            from = i + 1;
        }
    }
    out.push(call[from..].trim());
    out.retain(|a| !a.is_empty());
    out
}

/// A Python literal as the text a command line takes, if it is one.
fn literal(v: &str) -> Option<String> {
    let v = v.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return Some(v[1..v.len() - 1].to_string());
        }
    }
    let number = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E' | '_'));
    number.then(|| v.replace('_', ""))
}

/// argparse options with a literal default become parameters; the rest are
/// named in notes.
pub fn argparse_params(text: &str) -> (Vec<Param>, Vec<String>) {
    let (mut params, mut notes) = (Vec::new(), Vec::new());
    for call in add_argument_calls(text) {
        let args = split_args(call);
        let names: Vec<String> = args.iter().filter_map(|a| literal(a)).collect();
        let kw = |k: &str| {
            args.iter()
                .find_map(|a| a.strip_prefix(k)?.trim_start().strip_prefix('='))
                .map(str::trim)
        };
        let Some(flag) = names
            .iter()
            .find(|n| n.starts_with("--"))
            .or_else(|| names.first())
            .cloned()
        else {
            continue;
        };
        let shown = flag.clone();
        if !flag.starts_with('-') {
            notes.push(format!(
                "positional argument {shown:?}: give it in the template"
            ));
            continue;
        }
        if kw("action").is_some_and(|a| a.contains("store_")) {
            notes.push(format!(
                "flag {shown}: add it to the template to turn it on"
            ));
            continue;
        }
        match kw("default").and_then(literal) {
            Some(value) if value != "None" => {
                let var = flag.trim_start_matches('-').replace('-', "_");
                params.push(Param { var, flag, value });
            }
            _ => notes.push(format!(
                "option {shown} has no literal default: add it to the template if needed"
            )),
        }
    }
    (params, notes)
}

/// Looks at one file: a tool, or not.
pub fn inspect(file: &Path, text: &str) -> Option<Found> {
    let name = file.file_name()?.to_string_lossy();
    if name.ends_with(".bt") {
        return Some(Found {
            file: file.to_path_buf(),
            kind: "bpftrace",
            params: bpftrace_params(text),
            notes: Vec::new(),
        });
    }
    if name.ends_with(".py") && python_uses_bpf(text) {
        let (params, notes) = argparse_params(text);
        return Some(Found {
            file: file.to_path_buf(),
            kind: "python (BCC/libbpf)",
            params,
            notes,
        });
    }
    None
}

/// The largest script `scan` reads: a tool is source text, not data.
pub const MAX_SCRIPT_BYTES: u64 = 1 << 20;

/// Could this file be a tool (by its name)? Only those are read.
fn candidate(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "bt" || e == "py")
}

/// Every tool under the directories, in path order, and a note for every
/// candidate it did not read (too large, unreadable).
pub fn scan(dirs: &[PathBuf]) -> Result<(Vec<Found>, Vec<String>), DiscoverError> {
    let mut files = Vec::new();
    for d in dirs {
        walk(d, &mut files)?;
    }
    files.sort();
    let (mut found, mut skipped) = (Vec::new(), Vec::new());
    for f in files.iter().filter(|f| candidate(f)) {
        match read_script(f) {
            Ok(Some(text)) => found.extend(inspect(f, &text)),
            Ok(None) => {} // not text: not a script
            Err(why) => skipped.push(format!("{}: {why}; not read", f.display())),
        }
    }
    if found.is_empty() {
        let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(DiscoverError::Nothing(shown.join(", ")));
    }
    Ok((found, skipped))
}

/// A candidate's text, read up to [`MAX_SCRIPT_BYTES`]; `None` when it is
/// not UTF-8.
fn read_script(f: &Path) -> Result<Option<String>, String> {
    use std::io::Read;
    let file = std::fs::File::open(f).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_SCRIPT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SCRIPT_BYTES {
        return Err(format!(
            "larger than {} KiB, too large for a script",
            MAX_SCRIPT_BYTES / 1024
        ));
    }
    Ok(String::from_utf8(bytes).ok())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DiscoverError> {
    let rd = std::fs::read_dir(dir).map_err(|source| DiscoverError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() && !e.file_name().to_string_lossy().starts_with('.') {
            walk(&p, out)?;
        } else if ft.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

/// A tool id from a file name: `tool_` and its stem, safe for paths.
fn tool_id(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy())
        .unwrap_or_default();
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("tool_{safe}")
}

/// The fragment: `ebpf_tools:` with one program-shape tool per program.
pub fn fragment(found: &[Found], dirs: &[PathBuf], o: &Options) -> String {
    let mut out = String::from(
        "# Generated by `ebpf-perf discover`: one program-shape tool per program\n\
         # found, each with one case. Check the values before running.\n\
         ebpf_tools:\n",
    );
    let mut used = std::collections::HashSet::new();
    for (i, f) in found.iter().enumerate() {
        let dir = f.file.parent().unwrap_or(Path::new("."));
        let base = dirs.iter().find(|d| dir.starts_with(d));
        let path = match (&o.hosts_dir, base) {
            (Some(h), Some(b)) => {
                let rel = dir.strip_prefix(b).unwrap_or(Path::new(""));
                let joined = Path::new(h).join(rel);
                joined
                    .display()
                    .to_string()
                    .trim_end_matches('/')
                    .to_string()
            }
            _ => std::path::absolute(dir)
                .unwrap_or_else(|_| dir.to_path_buf())
                .display()
                .to_string(),
        };
        let mut id = tool_id(&f.file);
        while !used.insert(id.clone()) {
            id.push('_');
        }
        let template: Vec<String> = f
            .params
            .iter()
            .map(|p| {
                if p.flag.is_empty() {
                    format!("{{{}}}", p.var)
                } else {
                    format!("{} {{{}}}", quote(&p.flag), p.var)
                }
            })
            .collect();
        let mut vars = Mapping::new();
        for p in &f.params {
            vars.insert(p.var.clone(), p.value.clone().into());
        }
        let mut case = Mapping::new();
        case.insert("id".into(), (o.first_id + i as u32).into());
        case.insert(
            "name".into(),
            format!("{} as found", file_name(&f.file)).into(),
        );
        case.insert("vars".into(), Value::Object(vars));
        let mut params = Mapping::new();
        params.insert("template".into(), template.join(" ").into());
        params.insert(
            "required_vars".into(),
            Value::Array(f.params.iter().map(|p| p.var.clone().into()).collect()),
        );
        let mut scope = Mapping::new();
        scope.insert("environments".into(), strings(&o.environments));
        scope.insert("test_types".into(), strings(&o.test_types));
        let mut tool = Mapping::new();
        tool.insert("name".into(), file_name(&f.file).into());
        tool.insert("path".into(), path.into());
        tool.insert("executable".into(), file_name(&f.file).into());
        tool.insert("parameters".into(), Value::Object(params));
        tool.insert("test_scope".into(), Value::Object(scope));
        tool.insert("cases".into(), Value::Array(vec![Value::Object(case)]));
        let mut one = Mapping::new();
        one.insert(id, Value::Object(tool));
        let what = format!("{} ({})", f.file.display(), f.kind);
        out.push_str(&format!("  # {}\n", comment(&what)));
        if f.kind == "bpftrace" && !f.params.is_empty() {
            out.push_str("  # positional parameters start as \"0\": set each case's values\n");
        }
        for n in &f.notes {
            out.push_str(&format!("  # {}\n", comment(n)));
        }
        let yaml = crate::yaml::to_string(&Value::Object(one)).unwrap_or_default();
        for line in yaml.lines() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Text for a YAML comment: one line, whatever a file name or a scanned
/// literal holds (a newline would start YAML of its own).
fn comment(text: &str) -> String {
    crate::untrusted::yaml_comment(text)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().map(|s| s.clone().into()).collect())
}

#[cfg(test)]
mod tests;
