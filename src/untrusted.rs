//! Text that comes from outside: what hosts and the tool under test print
//! (the tool runs as root and, in CI, may come from a pull request), and
//! results files handed to `merge`, `--compare-to` and `--baseline-from`.
//! Before such text reaches a terminal, an XML file or Markdown, it goes
//! through here: control characters made visible, XML kept well-formed,
//! Markdown kept inert (no links, images, mentions, headings or markup).

use std::borrow::Cow;
use std::fmt::Write;

/// Is `c` a character a terminal or a YAML reader obeys rather than shows:
/// a control (Cc, which holds U+0085 NEL), a line or paragraph separator
/// (U+2028/2029 end a YAML comment), a bidi control (U+202A–202E,
/// U+2066–2069, U+200E/200F, U+061C) or a zero-width one (U+200B–200D,
/// U+2060, U+FEFF)? Newline and tab are text.
pub fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2060}'
                | '\u{feff}'
                | '\u{061c}'
        )
}

/// Every [`hidden`] character written as `\xNN` or `\u{NNNN}`, so that a
/// terminal shows it instead of obeying it, and a YAML comment holds it.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if !hidden(c) => out.push(c),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// Text for one `#` comment line of YAML: [`visible`] (a line or paragraph
/// separator would end the comment and start live YAML), newlines as `\n`.
pub fn yaml_comment(text: &str) -> String {
    visible(text).replace('\n', "\\n")
}

/// The longest duration [`secs`] gives: about 31 years, so that sums of
/// many (JUnit's totals) cannot overflow either.
pub const MAX_SECS: f64 = 1e9;

/// Seconds from outside (a results file) as a duration: negative or not a
/// number is zero, more than [`MAX_SECS`] is that.
pub fn secs(x: f64) -> std::time::Duration {
    if x.is_nan() || x <= 0.0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::from_secs_f64(x.min(MAX_SECS))
}

/// [`visible`], and every character XML 1.0 cannot hold replaced by U+FFFD.
pub fn xml(s: &str) -> String {
    visible(s)
        .chars()
        .map(|c| match c {
            '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// [`xml`] for the inside of a CDATA section: a `]]>` in the text is split
/// across two sections, so it cannot end the one it is in.
pub fn cdata(s: &str) -> String {
    xml(s).replace("]]>", "]]]]><![CDATA[>")
}

/// Could Markdown read anything into this text? Letters, digits, spaces and
/// a few marks are plain; `_` only between letters or digits (no emphasis).
fn plain(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let alnum = |i: Option<&char>| i.is_some_and(|c| c.is_alphanumeric());
    !s.contains("://")
        && !s.to_ascii_lowercase().contains("www.")
        && chars.iter().enumerate().all(|(i, c)| match c {
            c if c.is_alphanumeric() => true,
            ' ' | '.' | ',' | ':' | ';' | '=' | '+' | '-' | '/' | '%' | '⏎' => true,
            '_' => i > 0 && alnum(chars.get(i - 1)) && alnum(chars.get(i + 1)),
            _ => false,
        })
}

/// Text for Markdown, inert: plain text as it is, anything else as a code
/// span (where GitHub makes no links, images or mentions), on one line. In
/// a table cell (`in_table`) a `|` is escaped so that it cannot end the cell.
pub fn markdown(s: &str, in_table: bool) -> String {
    let one_line = visible(s).replace('\n', " ⏎ ");
    if plain(&one_line) {
        return one_line;
    }
    let text = if in_table {
        one_line.replace('|', "\\|")
    } else {
        one_line
    };
    // A fence longer than any run of backticks inside.
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn every_control_character_is_made_visible() {
        let all: String = (0u8..0x20)
            .map(char::from)
            .chain(['\u{7f}', '\u{9b}'])
            .collect();
        let v = visible(&all);
        assert!(
            !v.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{v:?}"
        );
        assert!(
            v.contains("\\x1b") && v.contains("\\x00") && v.contains("\\x0d"),
            "{v}"
        );
        assert!(v.contains("\\x9b"), "{v}");
        assert!(matches!(visible("plain text\n"), Cow::Borrowed(_)));
    }

    // Issue 31 (1): characters that end a YAML comment or reorder, hide or
    // join text on a terminal.
    #[rstest]
    #[case('\u{85}', "\\x85")]
    #[case('\u{2028}', "\\u{2028}")]
    #[case('\u{2029}', "\\u{2029}")]
    #[case('\u{202e}', "\\u{202e}")]
    #[case('\u{2066}', "\\u{2066}")]
    #[case('\u{200b}', "\\u{200b}")]
    #[case('\u{feff}', "\\u{feff}")]
    fn separators_bidi_and_zero_width_are_made_visible(#[case] c: char, #[case] want: &str) {
        let v = visible(&format!("x{c}  injected_key: 1 #")).into_owned();
        assert!(v.starts_with(&format!("x{want}")), "{v:?}");
        assert!(!v.chars().any(hidden), "{v:?}");
        // In a YAML comment it stays a comment.
        let doc: crate::yaml::Value = crate::yaml::from_str(&format!("a: 1 # {v}\n")).unwrap();
        assert_eq!(doc.as_object().unwrap().len(), 1, "{v:?}");
    }

    #[rstest]
    #[case(-1.0, 0.0)]
    #[case(f64::NAN, 0.0)]
    #[case(1e300, MAX_SECS)]
    #[case(f64::INFINITY, MAX_SECS)]
    #[case(2.5, 2.5)]
    fn seconds_from_outside_never_panic(#[case] x: f64, #[case] want: f64) {
        assert_eq!(secs(x).as_secs_f64(), want);
    }

    #[test]
    fn cdata_cannot_be_closed_from_inside() {
        let c = cdata("a]]></failure><x/><![CDATA[b");
        let doc = format!("<r><![CDATA[{c}]]></r>");
        let parsed = roxmltree::Document::parse(&doc).expect("well-formed");
        assert_eq!(
            parsed.root_element().text(),
            Some("a]]></failure><x/><![CDATA[b")
        );
    }

    #[rstest]
    #[case(
        "tool_001::case_1::host::latency::tcp_rr",
        "tool_001::case_1::host::latency::tcp_rr"
    )]
    #[case("exited with 3", "exited with 3")]
    #[case("[click](https://evil.example)", "`[click](https://evil.example)`")]
    #[case("![img](x.png)", "`![img](x.png)`")]
    #[case("ping @org/team", "`ping @org/team`")]
    #[case("# heading", "`# heading`")]
    #[case("see https://evil.example", "`see https://evil.example`")]
    #[case("a `tick` here", "``a `tick` here``")]
    #[case("`edge`", "`` `edge` ``")]
    #[case("line one\nline two", "line one ⏎ line two")]
    #[case("_emph_", "`_emph_`")]
    #[case("<b>x</b>", "`<b>x</b>`")]
    fn markdown_is_inert(#[case] text: &str, #[case] want: &str) {
        assert_eq!(markdown(text, false), want);
    }

    #[test]
    fn a_pipe_cannot_end_a_table_cell() {
        assert_eq!(markdown("a | b", true), "`a \\| b`");
        assert_eq!(markdown("a | b", false), "`a | b`");
    }
}
