//! Finds the line of a key path in a YAML or JSON text, so that problems found
//! after parsing (dangling references, unsafe ids) still point at a line.
//!
//! It reads block-style YAML by indentation; for flow style and JSON it
//! falls back to the line of the deepest key it could find.

/// 1-based line of `path` (keys from the root), or of its longest prefix found.
pub fn line_of(text: &str, path: &[&str]) -> Option<usize> {
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut best: Option<(usize, usize)> = None; // (depth, line)
    for (i, raw) in text.lines().enumerate() {
        let Some((indent, key)) = key_of_line(raw) else {
            continue;
        };
        while stack.last().is_some_and(|(ind, _)| *ind >= indent) {
            stack.pop();
        }
        stack.push((indent, key));
        let depth = stack.len();
        if depth <= path.len()
            && stack.iter().zip(path).all(|((_, k), p)| k == p)
            && best.is_none_or(|(d, _)| depth > d)
        {
            best = Some((depth, i + 1));
            if depth == path.len() {
                break;
            }
        }
    }
    best.map(|(_, line)| line)
}

/// Indentation and key of a `key: ...` line (list dashes count as indent).
fn key_of_line(raw: &str) -> Option<(usize, String)> {
    let mut indent = raw.len() - raw.trim_start().len();
    let mut rest = raw.trim_start();
    while let Some(r) = rest.strip_prefix("- ") {
        indent += 2 + (r.len() - r.trim_start().len());
        rest = r.trim_start();
    }
    if rest.starts_with('#') || rest.is_empty() {
        return None;
    }
    let (key, after) = if let Some(q) = rest.strip_prefix('"').or_else(|| rest.strip_prefix('\'')) {
        let quote = rest.as_bytes()[0] as char;
        let end = q.find(quote)?;
        (q[..end].to_string(), &q[end + 1..])
    } else {
        let end = rest.find(':')?;
        (rest[..end].trim_end().to_string(), &rest[end..])
    };
    let after = after.trim_start();
    let after = after.strip_prefix(':')?;
    if !(after.is_empty() || after.starts_with(' ') || after.starts_with('\t')) {
        return None;
    }
    Some((indent, key))
}

/// 1-based line of the JSON object whose `"id"` is `id` (case files).
pub fn line_of_json_id(text: &str, id: u32) -> Option<usize> {
    let want = id.to_string();
    text.lines().position(|l| {
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
";

    #[rstest]
    #[case(&["ssh_hosts"], Some(2))]
    #[case(&["ssh_hosts", "a", "port"], Some(5))]
    #[case(&["ssh_hosts", "b", "host"], Some(7))]
    #[case(&["ssh_hosts", "b", "nope"], Some(6))]
    #[case(&["tools", "name"], Some(10))]
    #[case(&["missing"], None)]
    fn finds_lines(#[case] path: &[&str], #[case] want: Option<usize>) {
        assert_eq!(line_of(Y, path), want);
    }

    #[test]
    fn finds_json_ids() {
        let j = "[\n {\"id\": 15, \"x\": 1},\n {\"id\": 1,\n \"name\": \"a\"}\n]";
        assert_eq!(line_of_json_id(j, 1), Some(3));
        assert_eq!(line_of_json_id(j, 15), Some(2));
        assert_eq!(line_of_json_id(j, 5), None);
    }
}
