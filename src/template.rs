//! Command templates with `{placeholders}`: parsing, the placeholder names a
//! template uses, and rendering with every substituted value shell-quoted.
//!
//! A placeholder is `{name}` where `name` is `[A-Za-z_][A-Za-z0-9_]*`. Any other
//! brace is literal text, so shell brace expansion (`{a,b}`) and bpftrace
//! blocks (`{ @n = count(); }`) pass through unchanged; `{{` and `}}` write a
//! literal `{` or `}` where a name would otherwise be read.

use crate::shell::quote;
use std::borrow::Cow;

/// A piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(Cow<'a, str>),
    Placeholder(&'a str),
}

/// Splits a template into literal text and placeholders.
pub fn parse(template: &str) -> Vec<Segment<'_>> {
    spans(template).into_iter().map(|(s, _)| s).collect()
}

/// [`parse`], with the byte range of the template each segment came from.
fn spans(template: &str) -> Vec<(Segment<'_>, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut start = 0;
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if (c == b'{' || c == b'}') && bytes.get(i + 1) == Some(&c) {
            text.push(c as char);
            i += 2;
            continue;
        }
        if c == b'{' {
            if let Some(len) = placeholder_len(&bytes[i + 1..]) {
                if !text.is_empty() {
                    out.push((
                        Segment::Text(Cow::Owned(std::mem::take(&mut text))),
                        start..i,
                    ));
                }
                out.push((
                    Segment::Placeholder(&template[i + 1..i + 1 + len]),
                    i..i + len + 2,
                ));
                i += len + 2;
                start = i;
                continue;
            }
        }
        // Copy one UTF-8 character.
        let ch_len = template[i..].chars().next().map_or(1, char::len_utf8);
        text.push_str(&template[i..i + ch_len]);
        i += ch_len;
    }
    if !text.is_empty() {
        out.push((Segment::Text(Cow::Owned(text)), start..template.len()));
    }
    out
}

/// Length of the identifier that starts `rest` when it is closed by `}`.
fn placeholder_len(rest: &[u8]) -> Option<usize> {
    let first = *rest.first()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let len = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))?;
    (rest[len] == b'}').then_some(len)
}

/// The placeholder names a template uses, in order of first use.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for seg in parse(template) {
        if let Segment::Placeholder(n) = seg {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    names
}

/// The placeholders that stand inside shell quotes (`'...'` or `"..."`) of
/// a command template. Their values are quoted already; inside quotes that
/// quoting would be undone (`echo '{v}'` with `v` = `a'; rm -r x; '`).
pub fn quoted_placeholders(template: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for (name, _) in quoted_spans(template) {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Every placeholder inside shell quotes, with its byte range.
fn quoted_spans(template: &str) -> Vec<(&str, std::ops::Range<usize>)> {
    let (mut single, mut double, mut escaped) = (false, false, false);
    let mut out = Vec::new();
    for (seg, range) in spans(template) {
        match seg {
            Segment::Placeholder(n) if single || double => out.push((n, range)),
            Segment::Placeholder(_) => escaped = false,
            Segment::Text(t) => {
                for c in t.chars() {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' if !single => escaped = true,
                        '\'' if !double => single = !single,
                        '"' if !single => double = !double,
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

/// The template with each placeholder that stands inside quotes replaced
/// by `with(name)`; the rest of its text as it is.
pub fn replace_quoted(template: &str, with: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut at = 0;
    for (name, range) in quoted_spans(template) {
        out.push_str(&template[at..range.start]);
        out.push_str(&with(name));
        at = range.end;
    }
    out.push_str(&template[at..]);
    out
}

/// A placeholder that has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown placeholder {{{0}}}")]
pub struct Unknown(pub String);

/// Fills a template. Each value is shell-quoted, so it reaches the remote
/// command as one word, verbatim, whatever characters it holds.
pub fn render<'v>(
    template: &str,
    value: impl Fn(&str) -> Option<Cow<'v, str>>,
) -> Result<String, Unknown> {
    substitute(template, |name| Some(quote(&value(name)?).into_owned()))
}

/// Fills a template whose result is not shell text (a file path): values go
/// in verbatim. The caller quotes the result where a shell reads it.
pub fn fill<'v>(
    template: &str,
    value: impl Fn(&str) -> Option<Cow<'v, str>>,
) -> Result<String, Unknown> {
    substitute(template, |name| value(name).map(Cow::into_owned))
}

fn substitute(template: &str, value: impl Fn(&str) -> Option<String>) -> Result<String, Unknown> {
    let mut out = String::with_capacity(template.len() + 32);
    for seg in parse(template) {
        match seg {
            Segment::Text(t) => out.push_str(&t),
            Segment::Placeholder(name) => {
                out.push_str(&value(name).ok_or_else(|| Unknown(name.to_string()))?);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[rstest]
    #[case("echo '{v}'", &["v"])]
    #[case("echo \"x {v} y\"", &["v"])]
    #[case("echo {v} 'lit' {w}", &[])]
    #[case("sh -c 'a' {v} \"b\"", &[])]
    #[case("echo \\' {v}", &[])]
    #[case("echo \"it's\" {v}", &[])]
    #[case("bpftrace -e 'k:f { @[{v}] = count(); }'", &["v"])]
    fn placeholders_inside_quotes_are_found(#[case] t: &str, #[case] want: &[&str]) {
        assert_eq!(quoted_placeholders(t), want);
    }

    #[rstest]
    #[case("echo \"x {v} {{v}} y\" {v}", "echo \"x ${V} {{v}} y\" {v}")]
    #[case("a '{v}'{w}\"{w}\"", "a '${V}'{w}\"${W}\"")]
    #[case("mkdir {d}/{a,b} ünï '{d}'", "mkdir {d}/{a,b} ünï '${D}'")]
    fn quoted_placeholders_are_replaced_in_place(#[case] t: &str, #[case] want: &str) {
        let got = replace_quoted(t, |n| format!("${{{}}}", n.to_uppercase()));
        assert_eq!(got, want);
    }

    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("iperf3 -s -p {port}", &["port"])]
    #[case("mkdir -p {workdir}/r/{baseline,ebpf}", &["workdir"])]
    #[case("bpftrace -e 'tracepoint:net:netif_rx { @n = count(); }'", &[])]
    #[case("echo {{port}} {port} {port}", &["port"])]
    #[case("{a}{b_2}{_c}", &["a", "b_2", "_c"])]
    #[case("{9x} {} {a-b} {", &[])]
    fn finds_placeholders(#[case] t: &str, #[case] want: &[&str]) {
        assert_eq!(placeholders(t), want);
    }

    #[rstest]
    #[case("a {x} b", "v", "a v b")]
    #[case("a {x} b", "two words", "a 'two words' b")]
    #[case("a {x}", "$(reboot); `id`", "a '$(reboot); `id`'")]
    #[case("a {x}", "it's", "a \"it's\"")]
    #[case("{{x}} {x}", "1", "{x} 1")]
    #[case("ünï {x} ✓", "1", "ünï 1 ✓")]
    fn renders_quoted(#[case] t: &str, #[case] v: &str, #[case] want: &str) {
        let got = render(t, |n| (n == "x").then_some(Cow::Borrowed(v))).unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn fill_leaves_values_verbatim() {
        let got = fill("{d}/perf {x}.log", |n| {
            Some(Cow::Borrowed(if n == "d" { "/r/a b" } else { "it's" }))
        });
        assert_eq!(got.unwrap(), "/r/a b/perf it's.log");
        assert_eq!(
            fill("{nope}", |_| None).unwrap_err().to_string(),
            "unknown placeholder {nope}"
        );
    }

    #[test]
    fn render_names_the_missing_placeholder() {
        let err = render("x {nope}", |_| None).unwrap_err();
        assert_eq!(err.to_string(), "unknown placeholder {nope}");
    }
}
