//! `ebpf-perf import`: files written for the seeds' system as this
//! project's. `--hooks FILE` reads seed 001 §4.2's layered hooks into
//! `hooks.yaml`; `--from DIR` reads seed 002's files (`ssh-hosts.yaml`,
//! `test-environments.yaml`, `performance-test-spec.yaml`,
//! `ebpf-tools-spec.yaml`, `monitoring-config.yaml`) into `ssh-config.yaml`,
//! `test-env-config.yaml`, `performance-test-spec.yaml` and
//! `ebpf-tools-config.yaml`. Only files it was given input for are written,
//! none over an existing one without `--force`, and nothing at all when any
//! input is wrong. Seed tasks that duplicate built-ins are left out, with a
//! comment in their place.

mod builtin;
mod files;
mod hook_rewrite;
mod hook_seed;
mod hooks;
mod tools;

use crate::config::{ENV_FILE, HOOKS_FILE, PERF_FILE, SSH_FILE, TOOLS_FILE};
use std::path::{Path, PathBuf};

pub use builtin::replaced_by;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {why}")]
    Parse { file: String, why: String },
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
    #[error("{} already exist; nothing was written (pass --force to overwrite)", .0.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    Exists(Vec<PathBuf>),
    #[error("nothing to import: {0}")]
    Nothing(String),
    #[error("cannot write {path}: {source}; check that --out is a writable directory")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Seed 002's file names and the files they become.
pub const SEED_FILES: [(&str, &str); 4] = [
    ("ssh-hosts.yaml", SSH_FILE),
    ("test-environments.yaml", ENV_FILE),
    ("performance-test-spec.yaml", PERF_FILE),
    ("ebpf-tools-spec.yaml", TOOLS_FILE),
];
pub const SEED_MONITORING: &str = "monitoring-config.yaml";

/// `ebpf-perf import`'s options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Options {
    /// Seed 001 §4.2 layered hooks (layered_init_hooks, _post_, _custom_),
    /// as printed; give it once per file when the blocks are in several.
    #[arg(long, value_name = "FILE")]
    pub hooks: Vec<PathBuf>,
    /// Seed 002's directory: ssh-hosts.yaml, test-environments.yaml,
    /// performance-test-spec.yaml, ebpf-tools-spec.yaml, monitoring-config.yaml.
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
    /// Where the configuration files go.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Overwrite files that exist in --out.
    #[arg(long)]
    pub force: bool,
}

/// What an import wrote, and what it says about it.
#[derive(Debug)]
pub struct Imported {
    pub written: Vec<PathBuf>,
    /// Seed tasks copied and left out (hooks).
    pub tasks: (usize, usize),
}

fn read(path: &Path) -> Result<String, ImportError> {
    std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.into(),
        source,
    })
}

/// A file of the seed directory: a regular file, never a symlink (a
/// `cases.json` link to a secret would copy the secret into --out).
fn read_seed(path: &Path) -> Result<String, ImportError> {
    let meta = std::fs::symlink_metadata(path).map_err(|source| ImportError::Read {
        path: path.into(),
        source,
    })?;
    if !meta.file_type().is_file() {
        return Err(ImportError::Read {
            path: path.into(),
            source: std::io::Error::other(
                "not a regular file (a symlink?); import reads only the seed directory's own files",
            ),
        });
    }
    read(path)
}

/// Can `f` be a case file's name: a `.json` file in the seed directory,
/// not a file import writes itself?
fn case_file_name(f: &str) -> bool {
    f.ends_with(".json")
        && f.len() > ".json".len()
        && f.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !f.starts_with('.')
        && !SEED_FILES.iter().any(|(_, ours)| *ours == f)
        && f != HOOKS_FILE
}

/// The case files a seed tools file names (`testcase_file`,
/// `testcase_source.file`), relative to its directory.
fn case_files(text: &str) -> Vec<String> {
    let v: crate::yaml::Value = crate::yaml::from_str(text).unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    let tools = v.get("ebpf_tools").or_else(|| v.get("tools"));
    for t in tools
        .and_then(|t| t.as_object())
        .into_iter()
        .flat_map(|m| m.values())
    {
        for f in [
            t.get("testcase_file"),
            t.get("testcase_source").and_then(|s| s.get("file")),
        ]
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str())
        {
            if !out.iter().any(|o| o == f) {
                out.push(f.to_string());
            }
        }
    }
    out
}

/// Files to write: `(file name, text)`.
type Files = Vec<(String, String)>;

/// Converts everything first, then writes; also the hook tasks copied and
/// left out.
fn convert(o: &Options) -> Result<(Files, (usize, usize)), ImportError> {
    let mut out: Files = Vec::new();
    let mut tasks = (0, 0);
    let mut problems = Vec::new();
    if !o.hooks.is_empty() {
        let texts = o
            .hooks
            .iter()
            .map(|h| Ok((read(h)?, h.display().to_string())))
            .collect::<Result<Vec<_>, ImportError>>()?;
        let (text, copied, skipped) = hooks::convert(&texts)?;
        out.push((HOOKS_FILE.into(), text));
        tasks = (copied, skipped);
    }
    if let Some(dir) = &o.from {
        if !dir.is_dir() {
            return Err(ImportError::Nothing(format!(
                "{} is not a directory; --from names the directory of the seed's files",
                dir.display()
            )));
        }
        let monitoring = dir.join(SEED_MONITORING);
        let monitoring = if monitoring.is_file() {
            let name = monitoring.display().to_string();
            let (v, notes) = files::monitoring(&read_seed(&monitoring)?, &name)?;
            Some((v, name, notes))
        } else {
            None
        };
        for (seed, ours) in SEED_FILES {
            let path = dir.join(seed);
            if std::fs::symlink_metadata(&path).is_err() {
                continue;
            }
            let source = path.display().to_string();
            let text = read_seed(&path)?;
            let converted = match ours {
                SSH_FILE => files::ssh(&text, &source),
                ENV_FILE => files::envs(&text, &source),
                PERF_FILE => files::perf(&text, &source),
                _ => {
                    for f in case_files(&text) {
                        if !case_file_name(&f) {
                            problems.push(format!(
                                "{source} names the case file {f:?}: a case file is a .json file of the seed directory (letters, digits, . _ -), not a file import writes"
                            ));
                            continue;
                        }
                        let p = dir.join(&f);
                        match read_seed(&p) {
                            Ok(t) => out.push((f, t)),
                            Err(e) => {
                                problems.push(format!("{source} names the case file {f}: {e}"))
                            }
                        }
                    }
                    let m = monitoring.as_ref();
                    tools::tools(
                        &text,
                        &source,
                        m.map(|(v, n, _)| (v, n.as_str())),
                        m.map_or(&[][..], |(_, _, notes)| notes),
                    )
                }
            };
            match converted {
                Ok(t) => out.push((ours.into(), t)),
                Err(ImportError::Invalid(p)) => problems.extend(p),
                Err(e) => problems.push(e.to_string()),
            }
        }
        if monitoring.is_some() && !dir.join("ebpf-tools-spec.yaml").is_file() {
            problems.push(format!(
                "{}: {SEED_MONITORING} goes into each tool of ebpf-tools-spec.yaml, which is not there",
                dir.display()
            ));
        }
        if out.iter().all(|(n, _)| n == HOOKS_FILE) && problems.is_empty() {
            return Err(ImportError::Nothing(format!(
                "{} holds none of {}",
                dir.display(),
                SEED_FILES
                    .iter()
                    .map(|(s, _)| *s)
                    .chain([SEED_MONITORING])
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Invalid(problems));
    }
    if out.is_empty() {
        return Err(ImportError::Nothing(
            "give --hooks FILE (seed 001's layered hooks) or --from DIR (seed 002's files)".into(),
        ));
    }
    Ok((out, tasks))
}

/// `ebpf-perf import`: imports, names what it wrote, and says what next.
pub fn command(o: &Options) -> Result<(), ImportError> {
    let i = import(o)?;
    for p in &i.written {
        println!("{}", p.display());
    }
    let (copied, skipped) = i.tasks;
    if copied + skipped > 0 {
        eprintln!("ebpf-perf: {copied} seed hook tasks copied, {skipped} left out (built in; see the comments)");
    }
    let out = o.out.display();
    eprintln!(
        "ebpf-perf: check it with `ebpf-perf validate --config-dir {out}` and list it with `cargo test --test perf -- --config-dir {out} --list`"
    );
    Ok(())
}

/// Converts and writes the files (see [`command`]).
pub fn import(o: &Options) -> Result<Imported, ImportError> {
    let (files, tasks) = convert(o)?;
    let targets: Vec<PathBuf> = files.iter().map(|(n, _)| o.out.join(n)).collect();
    let existing: Vec<PathBuf> = targets.iter().filter(|p| p.exists()).cloned().collect();
    if !existing.is_empty() && !o.force {
        return Err(ImportError::Exists(existing));
    }
    std::fs::create_dir_all(&o.out).map_err(|source| ImportError::Write {
        path: o.out.clone(),
        source,
    })?;
    for ((_, text), path) in files.iter().zip(&targets) {
        crate::results::write_atomic(path, text.as_bytes()).map_err(|source| {
            ImportError::Write {
                path: path.clone(),
                source,
            }
        })?;
    }
    Ok(Imported {
        written: targets,
        tasks,
    })
}
