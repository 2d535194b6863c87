//! Issue 31's fuzz targets: every reader of untrusted files, fed bounded
//! proptest runs of crafted inputs, under a memory limit and a time limit.
//! None may panic, and none may exceed the limits (docs/security.md).
//!
//! - results.json readers: `results::read`, then what `report`, `merge`,
//!   `history`, `export` and `calibrate` do with it, on a real lab results
//!   file (tests/data/results_lab.json) with values replaced by hostile ones
//!   and arrays repeated;
//! - the YAML loaders (`config::load`) on the valid corpus configuration
//!   (tests/corpus/base/) with hostile text spliced into one file;
//! - the import readers on the seed files of tests/data/seed/, spliced the
//!   same way;
//! - discover's scanner on a directory of tools with hostile text.
//!
//! Limits: the address space of this test process is capped at
//! `MEMORY_LIMIT` (an allocation past it aborts the process, and the run
//! fails), and a watchdog aborts it when the whole binary runs past
//! `TIME_LIMIT`. Each target runs `CASES` cases (`RESULTS_CASES` for results
//! files); `PROPTEST_CASES` sets another number.

mod common;

use ebpf_perf::results::{self, Results};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Duration;

/// Address space for the whole test process: the readers, proptest, and
/// the threads the test harness starts.
const MEMORY_LIMIT: u64 = 512 << 20;
/// The whole binary, all targets, in a debug build.
const TIME_LIMIT: Duration = Duration::from_secs(300);
/// Cases per target: a results file goes through six subcommands' worth of
/// work (about 0.4 s a case here); the other readers take milliseconds.
const RESULTS_CASES: u32 = 48;
/// The largest crafted results file, near enough (inserted values add a
/// little): 10 times the lab's 443 KB.
const MAX_RESULTS_BYTES: usize = 4_500_000;
const CASES: u32 = 512;

/// Caps this process's address space and starts the watchdog, once.
fn limits() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let lim = libc::rlimit {
            rlim_cur: MEMORY_LIMIT,
            rlim_max: MEMORY_LIMIT,
        };
        // glibc reserves 64 MiB of address space per thread's arena: one
        // arena, so that the limit bounds what the readers allocate.
        // SAFETY: mallopt takes plain integers; setrlimit a valid struct.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) };
        assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
        std::thread::spawn(|| {
            std::thread::sleep(TIME_LIMIT);
            eprintln!("untrusted_fuzz: over the time limit of {TIME_LIMIT:?}; aborting");
            std::process::abort();
        });
    });
}

fn runner(default_cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Text a hostile file would hold: terminal and YAML breaks, huge and
/// negative numbers, aliases, deep nesting, long runs, odd Unicode.
fn hostile_text() -> impl Strategy<Value = String> {
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
struct Hostile {
    number: Value,
    text: String,
    any_kind: Option<Value>,
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

/// Every place of `v`, as JSON pointers, by depth.
fn pointers(v: &Value, at: String, depth: usize, out: &mut Vec<Vec<String>>) {
    if out.len() <= depth {
        out.resize(depth + 1, Vec::new());
    }
    out[depth].push(at.clone());
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

/// Field names a results file may hold: those of the annotated example in
/// docs/results.md (optional fields the lab file lacks, such as `commit`),
/// and the lab file's own keys (most of them names of trials and metrics).
fn field_names(v: &Value) -> [Vec<String>; 2] {
    let doc = std::fs::read_to_string(common::repo().join("docs/results.md")).unwrap();
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
enum Edit {
    /// Replace the value at a place.
    Set(Index, Index, Hostile),
    /// Put a field (of a documented name, or one the file has) into an
    /// object.
    Insert(Index, Index, (bool, Index), Hostile),
    /// Repeat an array's elements `n` times (many trials, many names).
    Repeat(Index, Index, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<Index>(), any::<Index>(), hostile()).prop_map(|(d, i, v)| Edit::Set(d, i, v)),
        2 => (any::<Index>(), any::<Index>(), (any::<bool>(), any::<Index>()), hostile())
            .prop_map(|(d, i, k, v)| Edit::Insert(d, i, k, v)),
        1 => (any::<Index>(), any::<Index>(), 2usize..40).prop_map(|(d, i, n)| Edit::Repeat(d, i, n)),
    ]
}

/// The places at a chosen depth (of those that hold what `keep` wants).
fn place(
    v: &Value,
    by_depth: &[Vec<String>],
    (depth, at): (&Index, &Index),
    keep: fn(&Value) -> bool,
) -> Option<String> {
    let levels: Vec<Vec<&String>> = by_depth
        .iter()
        .map(|ps| {
            ps.iter()
                .filter(|p| v.pointer(p).is_some_and(keep))
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

fn apply(v: &mut Value, edits: &[Edit], names: &[Vec<String>; 2]) {
    let mut size = serde_json::to_vec(v).map_or(0, |b| b.len());
    let mut by_depth = Vec::new();
    pointers(v, String::new(), 0, &mut by_depth);
    for e in edits {
        match e {
            Edit::Set(d, i, x) => {
                if let Some(p) = place(v, &by_depth, (d, i), |_| true) {
                    if let Some(slot) = v.pointer_mut(&p) {
                        *slot = x.for_place(slot);
                    }
                }
            }
            Edit::Insert(d, i, (documented, k), x) => {
                let name = k.get(&names[usize::from(!*documented)]).clone();
                if let Some(p) = place(v, &by_depth, (d, i), Value::is_object) {
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
                if let Some(p) = place(v, &by_depth, (d, i), Value::is_array) {
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

/// Everything the results subcommands do with a file that reads; whether
/// it read.
fn read_it_all(path: &Path, out: &Path) -> bool {
    let Ok(r) = results::read(path) else {
        return false;
    };
    let earlier: Results = r.clone();
    let opts = ebpf_perf::report::Options {
        compare: vec![vec!["case_1".into(), "case_2".into()]],
        earlier: Some(("earlier.json", &earlier)),
        calibration: None,
    };
    let (html, md) = ebpf_perf::report::render(&r, &opts);
    drop((html, md));
    let merged = ebpf_perf::merge::merge(&[path.to_path_buf(), path.to_path_buf()]);
    let _ = ebpf_perf::merge::write(&out.join("merged"), &merged);
    let rows = ebpf_perf::export::rows(&r);
    let mut csv = Vec::new();
    let _ = ebpf_perf::export::write(&rows, ebpf_perf::export::Format::Csv, &mut csv);
    let cal = ebpf_perf::calibration::from_results(std::slice::from_ref(&r));
    let _ = ebpf_perf::calibration::table(&cal);
    let _ = ebpf_perf::calibration::beside_verdicts(&cal, &r);
    let h = ebpf_perf::history::build(
        vec![("a.json".into(), r.clone()), ("b.json".into(), r)],
        ebpf_perf::history::Order::Time,
        None,
        &Default::default(),
    );
    drop(h);
    true
}

#[test]
fn results_readers_survive_crafted_files() {
    limits();
    let text = std::fs::read_to_string(common::repo().join("tests/data/results_lab.json")).unwrap();
    let real: Value = serde_json::from_str(&text).unwrap();
    let names = field_names(&real);
    let dir = tempfile::tempdir().unwrap();
    let (read, tried) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    runner(RESULTS_CASES)
        .run(&prop::collection::vec(edit(), 1..10), |edits| {
            let mut v = real.clone();
            apply(&mut v, &edits, &names);
            let bytes = serde_json::to_vec(&v).unwrap();
            let path = dir.path().join("results.json");
            std::fs::write(&path, bytes).unwrap();
            tried.set(tried.get() + 1);
            read.set(read.get() + u32::from(read_it_all(&path, dir.path())));
            Ok(())
        })
        .unwrap();
    // Crafted files that no reader accepts test nothing behind it.
    eprintln!(
        "{} of {} crafted results files read",
        read.get(),
        tried.get()
    );
    assert!(
        read.get() * 3 >= tried.get(),
        "only {} of {} crafted files read",
        read.get(),
        tried.get()
    );
}

/// `text` with `insert` spliced in at `at` (a char boundary at or before
/// it), replacing up to `cut` bytes.
fn splice(text: &str, at: prop::sample::Index, cut: usize, insert: &str) -> String {
    let mut i = at.index(text.len() + 1);
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    let mut j = (i + cut).min(text.len());
    while !text.is_char_boundary(j) {
        j -= 1;
    }
    format!("{}{insert}{}", &text[..i], &text[j..])
}

type Splice = (prop::sample::Index, prop::sample::Index, usize, String);

fn splices() -> impl Strategy<Value = Vec<Splice>> {
    prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            0usize..40,
            hostile_text(),
        ),
        1..4,
    )
}

/// A copy of the files of `from` with the splices applied to them (the
/// first index picks the file).
fn spliced_copy(from: &Path, edits: &[Splice]) -> tempfile::TempDir {
    let dir = common::copy_dir(from);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for (which, at, cut, insert) in edits {
        let f = which.get(&files);
        let text = std::fs::read_to_string(f).unwrap();
        std::fs::write(f, splice(&text, *at, *cut, insert)).unwrap();
    }
    dir
}

#[test]
fn the_yaml_loaders_survive_crafted_configs() {
    limits();
    let base = common::repo().join("tests/corpus/base");
    runner(CASES)
        .run(&splices(), |edits| {
            let dir = spliced_copy(&base, &edits);
            if let Err(e) = ebpf_perf::config::load(dir.path()) {
                let _ = e.to_string();
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_import_readers_survive_crafted_seed_files() {
    limits();
    let seed = common::repo().join("tests/data/seed");
    runner(CASES)
        .run(&splices(), |edits| {
            let from = spliced_copy(&seed.join("002"), &edits);
            let hooks = spliced_copy(&seed, &edits);
            let out = tempfile::tempdir().unwrap();
            for o in [
                ebpf_perf::import::Options {
                    hooks: None,
                    from: Some(from.path().to_path_buf()),
                    out: out.path().join("from"),
                    force: true,
                },
                ebpf_perf::import::Options {
                    hooks: Some(hooks.path().join("001-hooks.yaml")),
                    from: None,
                    out: out.path().join("hooks"),
                    force: true,
                },
            ] {
                if let Err(e) = ebpf_perf::import::import(&o) {
                    let _ = e.to_string();
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_discover_scanner_survives_crafted_tools() {
    limits();
    let files = prop::collection::vec(
        (
            prop_oneof![Just("bt"), Just("py"), Just("c"), Just("txt")],
            "[a-z\u{2028}\u{1b}]{1,12}",
            prop::collection::vec(
                prop_oneof![
                    hostile_text(),
                    Just("import bcc\n".to_string()),
                    Just("from bcc import BPF\n".to_string()),
                    Just("parser.add_argument('--dev', default='eth0')\n".to_string()),
                    Just("tracepoint:net:netif_receive_skb { @[$1] = count(); }\n".to_string()),
                ],
                1..8,
            ),
        ),
        1..6,
    );
    runner(CASES)
        .run(&files, |files| {
            let dir = tempfile::tempdir().unwrap();
            for (ext, stem, parts) in &files {
                let _ = std::fs::write(dir.path().join(format!("{stem}.{ext}")), parts.concat());
            }
            let dirs = [dir.path().to_path_buf()];
            if let Ok((found, _notes)) = ebpf_perf::discover::scan(&dirs) {
                let o = ebpf_perf::discover::Options {
                    hosts_dir: None,
                    environments: vec!["host".into()],
                    test_types: vec!["latency".into()],
                    first_id: 1,
                };
                let fragment = ebpf_perf::discover::fragment(&found, &dirs, &o);
                // What it writes is YAML that reads back, with no key the
                // scanned names put there.
                let v: serde_json::Value =
                    serde_yaml::from_str(&fragment).unwrap_or_else(|e| panic!("{e}: {fragment}"));
                let _ = v;
            }
            Ok(())
        })
        .unwrap();
}
