//! The crafted inputs of the fuzz targets: hostile text and values, and
//! edits of a real results file (JSON pointers chosen by depth first).

use proptest::prelude::*;
use serde_json::Value;

/// The largest crafted results file, near enough (inserted values add a
/// little): 10 times the lab's 443 KB.
pub const MAX_RESULTS_BYTES: usize = 4_500_000;

/// Text a hostile file would hold: terminal and YAML breaks, huge and
/// negative numbers, aliases, deep nesting, long runs, odd Unicode.
pub fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\u{1b}]0;PWNED\u{7}\u{1b}[2J".to_string()),
        Just("x\u{2028}  injected_key: 1 #".to_string()),
        Just("=HYPERLINK(\"http://198.18.0.1\")".to_string()),
        Just("é€𝄞\u{202e}\u{200b}".to_string()),
        Just("-1e300".to_string()),
        Just("1e308".to_string()),
        Just("18446744073709551616".to_string()),
        Just("&a [1, 2, 3]".to_string()),
        Just("*a".to_string()),
        Just("{{{{{{".to_string()),
        Just("[".repeat(200)),
        Just("\t\r\n: - ? |".to_string()),
        Just("add_argument(".repeat(300)),
        "\\PC{0,40}",
        any::<String>(),
    ]
}

/// Hostile values, by kind: a place that holds a number gets a number, so
/// that most crafted files still read and reach the code behind the reader;
/// one edit in eight puts any kind anywhere.
#[derive(Debug, Clone)]
pub struct Hostile {
    pub number: Value,
    pub text: String,
    pub any_kind: Option<Value>,
}

fn hostile_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(-1.5)),
        Just(serde_json::json!(1e300)),
        Just(serde_json::json!(-1e300)),
        Just(serde_json::json!(u64::MAX)),
        Just(serde_json::json!(i64::MIN)),
        Just(serde_json::json!(0)),
        Just(serde_json::json!(5e-324)),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        any::<i64>().prop_map(|i| serde_json::json!(i)),
    ]
}

fn hostile() -> impl Strategy<Value = Hostile> {
    let any_kind = prop_oneof![
        hostile_text().prop_map(Value::String),
        hostile_number(),
        Just(Value::Null),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        any::<bool>().prop_map(Value::Bool),
    ];
    (
        hostile_number(),
        hostile_text(),
        prop::option::weighted(0.125, any_kind),
    )
        .prop_map(|(number, text, any_kind)| Hostile {
            number,
            text,
            any_kind,
        })
}

impl Hostile {
    /// What goes where `old` was.
    fn for_place(&self, old: &Value) -> Value {
        match (&self.any_kind, old) {
            (Some(v), _) => v.clone(),
            (None, Value::Number(_)) => self.number.clone(),
            (None, Value::Bool(b)) => Value::Bool(!b),
            (None, Value::String(_) | Value::Null) => Value::String(self.text.clone()),
            // Containers change by `Repeat` and `Insert`.
            (None, _) => old.clone(),
        }
    }
}

/// Every place of `v`, as JSON pointers with what they hold, by depth.
fn pointers(v: &Value, at: String, depth: usize, out: &mut Vec<Vec<Place>>) {
    if out.len() <= depth {
        out.resize(depth + 1, Vec::new());
    }
    let kind = match v {
        Value::Object(_) => Kind::Object,
        Value::Array(_) => Kind::Array,
        _ => Kind::Leaf,
    };
    out[depth].push((at.clone(), kind));
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            let k = k.replace('~', "~0").replace('/', "~1");
            pointers(x, format!("{at}/{k}"), depth + 1, out)
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| pointers(x, format!("{at}/{i}"), depth + 1, out)),
        _ => {}
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Leaf,
    Object,
    Array,
}

/// A JSON pointer and what it holds.
type Place = (String, Kind);

/// Field names a results file may hold: those of the annotated example in
/// docs/results.md (optional fields the lab file lacks, such as `commit`),
/// and the lab file's own keys (most of them names of trials and metrics).
pub fn field_names(v: &Value) -> [Vec<String>; 2] {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/results.md"),
    )
    .unwrap();
    let mut documented = std::collections::BTreeSet::new();
    for piece in doc.split('"').collect::<Vec<_>>().windows(2) {
        if piece[1].starts_with(':') && !piece[0].is_empty() {
            documented.insert(piece[0].to_string());
        }
    }
    fn keys(v: &Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, x)| {
                out.insert(k.clone());
                keys(x, out)
            }),
            Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
            _ => {}
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    keys(v, &mut seen);
    assert!(
        documented.contains("commit"),
        "docs/results.md names its fields"
    );
    [documented.into_iter().collect(), seen.into_iter().collect()]
}

type Index = prop::sample::Index;

/// What to do to one place of the file, chosen by depth first, so that the
/// few session fields are hit as often as the many run values.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Replace the value at a place.
    Set(Index, Index, Hostile),
    /// Put a field (of a documented name, or one the file has) into an
    /// object.
    Insert(Index, Index, (bool, Index), Hostile),
    /// Repeat an array's elements `n` times (many trials, many names).
    Repeat(Index, Index, usize),
}

pub fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<Index>(), any::<Index>(), hostile()).prop_map(|(d, i, v)| Edit::Set(d, i, v)),
        2 => (any::<Index>(), any::<Index>(), (any::<bool>(), any::<Index>()), hostile())
            .prop_map(|(d, i, k, v)| Edit::Insert(d, i, k, v)),
        1 => (any::<Index>(), any::<Index>(), 2usize..40).prop_map(|(d, i, n)| Edit::Repeat(d, i, n)),
    ]
}

/// The places at a chosen depth (of those that hold what `keep` wants).
fn place(
    by_depth: &[Vec<Place>],
    (depth, at): (&Index, &Index),
    keep: Option<Kind>,
) -> Option<String> {
    let levels: Vec<Vec<&String>> = by_depth
        .iter()
        .map(|ps| {
            ps.iter()
                .filter(|(_, k)| keep.is_none_or(|want| *k == want))
                .map(|(p, _)| p)
                .collect()
        })
        .filter(|ps: &Vec<&String>| !ps.is_empty())
        .collect();
    if levels.is_empty() {
        return None;
    }
    let level: &Vec<&String> = depth.get(&levels);
    Some(at.get(level).to_string())
}

fn json_len(v: &[Value]) -> usize {
    serde_json::to_vec(v).map_or(0, |b| b.len())
}

pub fn apply(v: &mut Value, edits: &[Edit], names: &[Vec<String>; 2]) {
    let mut size = serde_json::to_vec(v).map_or(0, |b| b.len());
    let mut by_depth = Vec::new();
    pointers(v, String::new(), 0, &mut by_depth);
    for e in edits {
        match e {
            Edit::Set(d, i, x) => {
                if let Some(p) = place(&by_depth, (d, i), None) {
                    if let Some(slot) = v.pointer_mut(&p) {
                        *slot = x.for_place(slot);
                    }
                }
            }
            Edit::Insert(d, i, (documented, k), x) => {
                let name = k.get(&names[usize::from(!*documented)]).clone();
                if let Some(p) = place(&by_depth, (d, i), Some(Kind::Object)) {
                    if let Some(Value::Object(m)) = v.pointer_mut(&p) {
                        let new = match m.get(&name) {
                            Some(old) => x.for_place(old),
                            None => x
                                .any_kind
                                .clone()
                                .unwrap_or_else(|| Value::String(x.text.clone())),
                        };
                        m.insert(name, new);
                    }
                }
            }
            Edit::Repeat(d, i, n) => {
                if let Some(p) = place(&by_depth, (d, i), Some(Kind::Array)) {
                    if let Some(Value::Array(a)) = v.pointer_mut(&p) {
                        // Repeats of repeats would grow without end: the
                        // file stays within a size people have.
                        let grows = json_len(a) * (n - 1);
                        if size + grows <= MAX_RESULTS_BYTES {
                            size += grows;
                            let one = a.clone();
                            for _ in 1..*n {
                                a.extend(one.iter().cloned());
                            }
                        }
                    }
                }
            }
        }
        // A place may have gone (a container replaced) or come: list again.
        if !matches!(e, Edit::Set(_, _, h) if h.any_kind.is_none()) {
            by_depth.clear();
            pointers(v, String::new(), 0, &mut by_depth);
        }
    }
}
