//! The shape of `src/`: no file over 500 lines; `lib.rs` lists the modules
//! in data-flow order, and no module uses one listed after it (no arrow runs
//! back up); inside a directory, no two files use each other, directly or
//! round a circle.
//! References are read from the source text (`crate::a::b`, `crate::{a, b}`
//! and `super::x`), comments and unit-test modules left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModPath = Vec<String>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`.
fn rs_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&src(), &mut files);
    files
}

/// Every module file of the library, by module path.
fn modules() -> BTreeMap<ModPath, String> {
    let mut out = BTreeMap::new();
    for f in rs_files() {
        let rel = f.strip_prefix(src()).unwrap().with_extension("");
        let mut parts: ModPath = rel
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|l| l == "mod") {
            parts.pop();
        }
        // The binaries are front doors; unit-test files may reach anywhere.
        if parts == ["lib"]
            || parts[0] == "main"
            || parts[0] == "bin"
            || parts.ends_with(&["tests".into()])
        {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        // Unit tests may reach anywhere; the layering is about the product.
        let text = text.split("#[cfg(test)]\nmod ").next().unwrap_or("");
        let code: String = text
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        out.insert(parts, code);
    }
    out
}

/// The path segments that follow `at` in `code`: `a::b::c`.
fn path_after(code: &str, at: usize) -> Vec<String> {
    let rest = &code[at..];
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(rest.len());
    rest[..end]
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The module paths `code` (of module `me`) refers to.
fn references(me: &ModPath, code: &str) -> Vec<ModPath> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let at = i + "crate::".len();
        if code[at..].starts_with('{') {
            let inner = &code[at + 1..at + code[at..].find('}').unwrap_or(1)];
            for item in inner.split(',') {
                out.push(item.trim().split("::").map(str::to_string).collect());
            }
        } else {
            out.push(path_after(code, at));
        }
    }
    for (i, _) in code.match_indices("super::") {
        if i >= 7 && &code[i - 7..i] == "super::" {
            continue; // counted from the first `super::`
        }
        let mut ups = 0;
        let mut at = i;
        while code[at..].starts_with("super::") {
            ups += 1;
            at += "super::".len();
        }
        let base = &me[..me.len().saturating_sub(ups)];
        let mut p = base.to_vec();
        p.extend(path_after(code, at));
        out.push(p);
    }
    out
}

/// The longest module path that `path` starts with.
fn resolve(mods: &BTreeMap<ModPath, String>, path: &[String]) -> Option<ModPath> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| mods.contains_key(p))
}

fn edges() -> BTreeSet<(ModPath, ModPath)> {
    let mods = modules();
    let mut out = BTreeSet::new();
    for (me, code) in &mods {
        for r in references(me, code) {
            if let Some(t) = resolve(&mods, &r).filter(|t| t != me) {
                out.insert((me.clone(), t));
            }
        }
    }
    out
}

fn listed_order() -> Vec<String> {
    std::fs::read_to_string(src().join("lib.rs"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
        .map(str::to_string)
        .collect()
}

/// The house's floor on a source file's length.
const MAX_LINES: usize = 500;

#[test]
fn no_source_file_is_over_500_lines() {
    let mut over: Vec<String> = rs_files()
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n})", f.display()))
        })
        .collect();
    over.sort();
    assert!(over.is_empty(), "over {MAX_LINES} lines: {over:?}");
    assert!(rs_files().len() > 100, "the walk found the sources");
}

#[test]
fn no_module_uses_one_listed_after_it_in_lib_rs() {
    let order = listed_order();
    let pos = |m: &str| {
        order
            .iter()
            .position(|o| o == m)
            .unwrap_or_else(|| panic!("{m} is not listed in lib.rs"))
    };
    let mut up: BTreeSet<String> = BTreeSet::new();
    for (a, b) in edges() {
        if a[0] != b[0] && pos(&b[0]) > pos(&a[0]) {
            up.insert(format!("{} -> {}", a.join("::"), b.join("::")));
        }
    }
    assert!(edges().len() > 50, "the reader found too few references");
    assert!(up.is_empty(), "arrows that run back up: {up:#?}");
}

#[test]
fn no_circle_between_siblings() {
    // Between siblings: the first differing segment of each end.
    let mut graph: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (a, b) in edges() {
        let k = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        if k == a.len() || k == b.len() {
            continue; // a module and its own parent or child
        }
        graph
            .entry(a[..=k].to_vec())
            .or_default()
            .insert(b[..=k].to_vec());
    }
    // A circle exists when some node reaches itself.
    let mut circles = Vec::new();
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&ModPath> = graph[start].iter().collect();
        while let Some(n) = todo.pop() {
            if n == start {
                circles.push(start.join("::"));
                break;
            }
            if seen.insert(n.clone()) {
                todo.extend(graph.get(n).into_iter().flatten());
            }
        }
    }
    assert!(circles.is_empty(), "modules on a circle: {circles:?}");
}

/// Shell text is quoted in one place: `shell` builds the snippets; outside
/// it, only the writers of command templates (which are shell text) call
/// the quoting function.
#[test]
fn only_the_shell_module_and_template_writers_quote() {
    let allowed = [
        vec!["shell"],
        vec!["shell", "process"],
        vec!["shell", "steps"],
        vec!["shell", "monitor"],
        vec!["shell", "tool_logs"],
        vec!["shell", "placement"],
        vec!["shell", "cpu_latency"],
        vec!["template"],
        vec!["discover"],
        vec!["config", "validate", "program_tool"],
    ];
    let quoting: Vec<String> = modules()
        .into_iter()
        .filter(|(m, code)| {
            code.contains("quote(") && !allowed.iter().any(|a| a.iter().eq(m.iter()))
        })
        .map(|(m, _)| m.join("::"))
        .collect();
    assert!(quoting.is_empty(), "quoting outside shell: {quoting:?}");
}
