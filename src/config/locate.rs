//! Finds the line of a key path in a YAML or JSON text, so that problems found
//! after parsing (dangling references, unsafe ids) still point at a line.
//!
//! It reads block-style YAML by indentation; for flow style and JSON it
//! falls back to the line of the deepest key it could find.

/// 1-based line of `path` (keys from the root; `[N]` for the N-th list item),
/// or of its longest prefix found.
pub fn line_of(text: &str, path: &[&str]) -> Option<usize> {
    // (indent, key, items seen below it)
    let mut stack: Vec<(usize, String, usize)> = Vec::new();
    let mut root_items = 0;
    let mut best: Option<(usize, usize)> = None; // (depth, line)
    for (i, raw) in text.lines().enumerate() {
        let Some((dashes, key)) = parse_line(raw) else {
            continue;
        };
        let mut entries: Vec<(usize, String)> = Vec::new();
        for d in dashes {
            entries.push((d, String::new()));
        }
        if let Some(k) = key {
            entries.push(k);
        }
        for (indent, key) in entries {
            // A list item may stand at its key's own indent (`cases:` then
            // `- id: 1` below it, as serializers write it).
            let item = key.is_empty();
            while stack.last().is_some_and(|(ind, k, _)| {
                *ind > indent || (*ind == indent && (!item || k.starts_with('[')))
            }) {
                stack.pop();
            }
            let key = if key.is_empty() {
                let counter = match stack.last_mut() {
                    Some((_, _, n)) => n,
                    None => &mut root_items,
                };
                *counter += 1;
                format!("[{}]", *counter - 1)
            } else {
                key
            };
            stack.push((indent, key, 0));
            let depth = stack.len();
            if depth <= path.len()
                && stack.iter().zip(path).all(|((_, k, _), p)| k == p)
                && best.is_none_or(|(d, _)| depth > d)
            {
                best = Some((depth, i + 1));
            }
        }
        if best.is_some_and(|(d, _)| d == path.len()) {
            break;
        }
    }
    best.map(|(_, line)| line)
}

/// 1-based line of a dotted key path as serde paths print it (`a.b[1].c`).
pub fn line_of_path(text: &str, path: &str) -> Option<usize> {
    let parts: Vec<String> = path
        .split('.')
        .filter(|p| !p.is_empty())
        .flat_map(|p| match p.split_once('[') {
            Some((k, i)) if !k.is_empty() => vec![k.to_string(), format!("[{i}")],
            _ => vec![p.to_string()],
        })
        .collect();
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    (!refs.is_empty()).then(|| line_of(text, &refs)).flatten()
}

/// The line to show for an error the parser reported at `line` under the
/// key path `path`: `line` itself, unless it lies past the block the path
/// names (an error raised at a map's end); then the line of the path's key.
pub fn within_block(text: &str, path: &str, line: usize) -> usize {
    let Some(start) = line_of_path(text, path) else {
        return line;
    };
    let indent = |l: usize| {
        let raw = text.lines().nth(l.wrapping_sub(1)).unwrap_or("");
        (!raw.trim().is_empty()).then(|| raw.len() - raw.trim_start().len())
    };
    match (indent(start), indent(line)) {
        (Some(block), Some(at)) if line > start && at <= block => start,
        (Some(_), None) if line > start => start,
        _ => line,
    }
}

/// Dotted key path with list indices attached: `hooks.case.teardown[0].run`.
pub fn key_string(path: &[&str]) -> String {
    let mut s = String::new();
    for p in path {
        if !s.is_empty() && !p.starts_with('[') {
            s.push('.');
        }
        s.push_str(p);
    }
    s
}

/// Indents of the list dashes on a line, and its `key:` with its indent.
#[allow(clippy::type_complexity)]
fn parse_line(raw: &str) -> Option<(Vec<usize>, Option<(usize, String)>)> {
    let mut indent = raw.len() - raw.trim_start().len();
    let mut rest = raw.trim_start();
    if rest.starts_with('#') || rest.is_empty() {
        return None;
    }
    let mut dashes = Vec::new();
    while rest == "-" || rest.starts_with("- ") {
        dashes.push(indent);
        let r = &rest[1..];
        indent += 1 + (r.len() - r.trim_start().len());
        rest = r.trim_start();
    }
    Some((dashes, key_of(rest).map(|k| (indent, k))))
}

/// The key of a `key: ...` text, if it is one.
fn key_of(rest: &str) -> Option<String> {
    if rest.is_empty() || rest.starts_with('#') {
        return None;
    }
    let (key, after) = if let Some(q) = rest.strip_prefix('"').or_else(|| rest.strip_prefix('\'')) {
        let quote = rest.as_bytes()[0] as char;
        let end = q.find(quote)?;
        (q[..end].to_string(), &q[end + 1..])
    } else {
        // A plain key ends at the first `:` followed by a blank or the end
        // (`name{env:vm}: 5` is one key).
        let end = rest.char_indices().find_map(|(i, c)| {
            let next = rest[i + c.len_utf8()..].chars().next();
            (c == ':' && next.is_none_or(|n| n == ' ' || n == '\t')).then_some(i)
        })?;
        (rest[..end].trim_end().to_string(), &rest[end..])
    };
    let after = after.trim_start().strip_prefix(':')?;
    if !(after.is_empty() || after.starts_with(' ') || after.starts_with('\t')) {
        return None;
    }
    Some(key)
}

/// 1-based line of the JSON object whose `"id"` is `id` (case files).
pub fn line_of_json_id(text: &str, id: u32) -> Option<usize> {
    let want = id.to_string();
    text.lines()
        .position(|l| {
            l.split("\"id\"").skip(1).any(|after| {
                let v = after.trim_start().strip_prefix(':').map(str::trim_start);
                v.is_some_and(|v| {
                    v.strip_prefix(want.as_str())
                        .is_some_and(|r| !r.starts_with(|c: char| c.is_ascii_digit()))
                })
            })
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const Y: &str = "\
# comment
ssh_hosts:
  a:
    host: x
    port: 22
  b:
    host: y
tools:
  - id: t
    name: \"n: m\"
  - id: u
budgets:
  p99{env:vm}: 80
  p99{env:vm,test:pps}:  90
";

    #[rstest]
    #[case(&["ssh_hosts"], Some(2))]
    #[case(&["ssh_hosts", "a", "port"], Some(5))]
    #[case(&["ssh_hosts", "b", "host"], Some(7))]
    #[case(&["ssh_hosts", "b", "nope"], Some(6))]
    #[case(&["tools", "[0]", "name"], Some(10))]
    #[case(&["tools", "[1]", "id"], Some(11))]
    #[case(&["tools", "[1]"], Some(11))]
    #[case(&["missing"], None)]
    #[case(&["budgets", "p99{env:vm}"], Some(13))]
    #[case(&["budgets", "p99{env:vm,test:pps}"], Some(14))]
    fn finds_lines(#[case] path: &[&str], #[case] want: Option<usize>) {
        assert_eq!(line_of(Y, path), want);
    }

    // Items at their key's own indent, as serializers write lists.
    const FLUSH: &str = "t:\n  cases:\n  - id: 1\n    vars:\n      a: x\n  - id: 2\n    vars:\n      a: y\n  other: 1\n";

    #[rstest]
    #[case(&["t", "cases", "[0]", "vars", "a"], Some(5))]
    #[case(&["t", "cases", "[1]", "vars", "a"], Some(8))]
    #[case(&["t", "cases", "[1]"], Some(6))]
    #[case(&["t", "other"], Some(9))]
    fn finds_items_at_their_keys_indent(#[case] path: &[&str], #[case] want: Option<usize>) {
        assert_eq!(line_of(FLUSH, path), want);
    }

    #[rstest]
    // Inside the block: the parser's line stands.
    #[case("ssh_hosts.a", 4, 4)]
    #[case("ssh_hosts.a.port", 5, 5)]
    #[case("tools[1].id", 11, 11)]
    // Past it (a flattened struct's error, raised at the map's end): the
    // block's key.
    #[case("ssh_hosts.a", 6, 3)]
    #[case("ssh_hosts", 8, 2)]
    #[case("budgets", 99, 12)]
    // No path, or one not found: the parser's line.
    #[case("", 8, 8)]
    #[case("missing.key", 8, 8)]
    fn errors_past_their_block_point_at_its_key(
        #[case] path: &str,
        #[case] line: usize,
        #[case] want: usize,
    ) {
        assert_eq!(within_block(Y, path, line), want);
    }

    // Issue 31 (8): text before the key's colon that is not ASCII (a `>`
    // block in German) is cut by characters.
    #[test]
    fn non_ascii_lines_before_the_key_do_not_panic() {
        let y = "note: >\n  Größe ändert sich: oft\n  ü→ä€ x\nkey:\n  deep: 1\n";
        assert_eq!(line_of(y, &["key", "deep"]), Some(5));
        assert_eq!(key_of("€: 1"), Some("€".into()));
    }

    #[test]
    fn finds_json_ids() {
        let j = "[\n {\"id\": 15, \"x\": 1},\n {\"id\": 1,\n \"name\": \"a\"}\n]";
        assert_eq!(line_of_json_id(j, 1), Some(3));
        assert_eq!(line_of_json_id(j, 15), Some(2));
        assert_eq!(line_of_json_id(j, 5), None);
    }
}
