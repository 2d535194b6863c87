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
#[path = "untrusted_fuzz/edits.rs"]
mod edits;

use ebpf_perf::results::{self, Results};
use edits::{apply, edit, field_names, hostile_text};
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
/// work (about 0.1 s a case here); the other readers take milliseconds.
const RESULTS_CASES: u32 = 64;
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
            let verbatim = spliced_copy(&seed.join("002-3.1"), &edits);
            let hooks = spliced_copy(&seed, &edits);
            let out = tempfile::tempdir().unwrap();
            for o in [
                ebpf_perf::import::Options {
                    hooks: vec![],
                    from: Some(from.path().to_path_buf()),
                    out: out.path().join("from"),
                    force: true,
                },
                ebpf_perf::import::Options {
                    hooks: vec![],
                    from: Some(verbatim.path().to_path_buf()),
                    out: out.path().join("verbatim"),
                    force: true,
                },
                ebpf_perf::import::Options {
                    hooks: [
                        "001-hooks-variant.yaml",
                        "001-4.2-A-init-hooks.yaml",
                        "001-4.2-B-post-hooks.yaml",
                        "001-4.2-C-custom-hooks.yaml",
                    ]
                    .map(|f| hooks.path().join(f))
                    .to_vec(),
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
                let v: serde_json::Value = ebpf_perf::yaml::from_str(&fragment)
                    .unwrap_or_else(|e| panic!("{e}: {fragment}"));
                let _ = v;
            }
            Ok(())
        })
        .unwrap();
}
