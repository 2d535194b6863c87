//! The one way this crate reads and writes YAML (serde-saphyr; serde_yaml is
//! archived). Every YAML text the crate reads may come from someone else
//! (docs/security.md), so every read goes through [`from_str`] with the
//! same limits:
//!
//! - a repeated key is an error, in typed and untyped maps alike;
//! - alias bombs and deep nesting stop at a budget far above any real
//!   config, with "too large or too complex" instead of a blow-up;
//! - errors carry the key path (`ssh_hosts.a.port`), the line and the
//!   column, and are worded for people.
//!
//! Untyped documents are [`Value`]s: serde_json's, in document order.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_saphyr::{DuplicateKeyPolicy, MessageFormatter, UserMessageFormatter};
use std::borrow::Cow;
use std::fmt;

/// An untyped YAML document (maps keep their order).
pub type Value = serde_json::Value;
/// An untyped YAML map.
pub type Mapping = serde_json::Map<String, Value>;

/// Most nodes, events and alias replays one document may hold. A
/// configuration or a seed file holds hundreds to a few thousand.
const MAX_NODES: usize = 100_000;
const MAX_REPLAYED: usize = 100_000;
const MAX_EXPANSIONS_PER_ANCHOR: usize = 1_000;
const MAX_BYTES: usize = 16 * 1024 * 1024;

/// Why a YAML text did not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// The key path where it happened (`ssh_hosts.a.port`, `list[1]`);
    /// empty at the document's root.
    pub path: String,
    /// 1-based line and column, where known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// What is wrong, for people, without the location.
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(l) = self.line {
            write!(f, " at line {l}")?;
            if let Some(c) = self.column {
                write!(f, " column {c}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for YamlError {}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        duplicate_keys: DuplicateKeyPolicy::Error,
        with_snippet: false,
        budget: serde_saphyr::budget! {
            max_nodes: MAX_NODES,
            max_events: 4 * MAX_NODES,
            max_reader_input_bytes: Some(MAX_BYTES),
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_REPLAYED,
            max_alias_expansions_per_anchor: MAX_EXPANSIONS_PER_ANCHOR,
        },
    }
}

/// Reads one YAML document as `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let mut path = String::new();
    let read = serde_saphyr::with_deserializer_from_str_with_options(text, options(), |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = e.path().to_string();
            e.into_inner()
        })
    });
    read.map_err(|e| {
        let loc = e.location();
        YamlError {
            path: clean_path(&path),
            line: loc.and_then(|l| usize::try_from(l.line()).ok()),
            column: loc.and_then(|l| usize::try_from(l.column()).ok()),
            message: message(&e).into_owned(),
        }
    })
}

/// serde_path_to_error writes `.` for the root and `?` for a key it could
/// not name (a repeated one, say): keep what names a place.
fn clean_path(p: &str) -> String {
    let p = p.trim_end_matches(".?").trim_end_matches('?');
    if p == "." {
        String::new()
    } else {
        p.to_string()
    }
}

/// The library's words for users, with a repeated key and a bad scalar
/// said the way the rest of this crate says them.
fn message(e: &serde_saphyr::Error) -> Cow<'_, str> {
    let m = UserMessageFormatter.format_message(e);
    if let Some(rest) = m.strip_prefix("duplicate mapping key `") {
        if let Some(k) = rest.strip_suffix("` is not allowed here") {
            return format!("duplicate key `{k}`; each key may appear once in a map").into();
        }
    }
    if let Some(ty) = m.strip_prefix("invalid ") {
        if NUMBERS.contains(&ty) {
            return format!("invalid value: expected {}", number_kind(ty)).into();
        }
    }
    if m.contains("too large or too complex") {
        return format!(
            "the document is too large or too complex to read: it expands past {MAX_NODES} \
             nodes or {MAX_REPLAYED} events replayed from aliases (an alias counts each time \
             it is used; a configuration holds a few hundred)"
        )
        .into();
    }
    if m == "unexpected end of file" {
        return "unexpected end of file: the document is empty or cut short".into();
    }
    Cow::Owned(m.into_owned())
}

const NUMBERS: [&str; 12] = [
    "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize", "f32", "f64",
];

/// `u16` → "a whole number from 0 to 65535 (u16)".
fn number_kind(ty: &str) -> String {
    let range = match ty {
        "u8" => "from 0 to 255",
        "u16" => "from 0 to 65535",
        "u32" => "from 0 to 4294967295",
        "u64" | "usize" => "≥ 0",
        "i8" | "i16" | "i32" | "i64" | "isize" => "(may be negative)",
        _ => return format!("a number ({ty})"),
    };
    format!("a whole number {range} ({ty})")
}

/// Writes `v` as YAML. A one-line string stays on one line however long
/// (a command is easier to read and edit that way); a string with line
/// breaks is a literal block (`|`).
pub fn to_string<T: Serialize>(v: &T) -> Result<String, String> {
    let options = serde_saphyr::ser_options! { folded_wrap_chars: usize::MAX };
    serde_saphyr::to_string_with_options(v, options).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
