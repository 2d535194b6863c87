//! Across sessions (seed 003's "trends" and "benchmark database"): `ebpf-perf
//! history RESULTS...` orders many results files by time or by the commit
//! their sessions recorded, follows each eBPF trial's cost per budget family
//! from file to file with its interval, flags change points (E-divisive
//! means, [`changepoint`]), and writes `history.html` (charts) and
//! `history.md`. It reads only results files.

pub mod changepoint;
mod render;

use crate::analysis::measure;
use crate::results::{self, Results};
use crate::stats::Estimate;
use std::path::{Path, PathBuf};

pub const HTML: &str = "history.html";

/// The fewest points of its own a series needs before a change in it can be
/// significant at all: 8 points split 4 | 4 are one of 70 arrangements (2
/// of them the same split), p ≈ 0.03; with 7, the best is 2 of 35 (0.057).
/// A page of many series needs more (see [`build`]).
pub const MIN_SESSIONS: usize = 8;
/// The false discovery rate of a page's flags (Benjamini–Hochberg across
/// its series).
pub const FDR: f64 = 0.05;
pub const MARKDOWN: &str = "history.md";

/// How sessions are put in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Order {
    /// By the time each session started.
    Time,
    /// By the position of each session's commit in the repository's history
    /// (`git rev-list --topo-order`), then by time.
    Commit,
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(transparent)]
    Results(#[from] results::ResultsError),
    #[error("history needs at least two results files; got {0}")]
    TooFew(usize),
    #[error("cannot read the commits of {repo} ({why}); run in the project's git repository or pass --repo DIR, or use --order time")]
    Git { repo: PathBuf, why: String },
    #[error("cannot write {path}: {source}; check that the directory is writable (--out DIR)")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One results file, as a point on the time axis.
#[derive(Debug, Clone)]
pub struct Session {
    pub path: String,
    pub id: String,
    pub started: String,
    pub commit: Option<String>,
    /// How the axis names it: the short commit (or the session id).
    pub label: String,
}

/// A shift in a series: the first session after it, and the means on
/// either side.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub at: usize,
    pub before: f64,
    pub after: f64,
    pub p: f64,
}

/// One trial's cost in one budget family, per session (`None`: not
/// measured in that file).
#[derive(Debug, Clone)]
pub struct Series {
    pub trial: String,
    pub family: &'static str,
    pub points: Vec<Option<Estimate>>,
    pub shifts: Vec<Shift>,
}

#[derive(Debug, Clone)]
pub struct History {
    pub order: Order,
    pub sessions: Vec<Session>,
    pub series: Vec<Series>,
    pub notes: Vec<String>,
}

/// The commits of `repo`'s history, oldest first.
pub fn commits_of(repo: &Path) -> Result<Vec<String>, HistoryError> {
    let o = std::process::Command::new("git")
        .args(["rev-list", "--topo-order", "--reverse", "HEAD"])
        .current_dir(repo)
        .output()
        .map_err(|e| HistoryError::Git {
            repo: repo.into(),
            why: e.to_string(),
        })?;
    if !o.status.success() {
        return Err(HistoryError::Git {
            repo: repo.into(),
            why: String::from_utf8_lossy(&o.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

fn short(commit: &str) -> String {
    let (c, dirty) = match commit.strip_suffix("-dirty") {
        Some(c) => (c, "-dirty"),
        None => (commit, ""),
    };
    let c: String = c.chars().take(10).collect();
    format!("{}{dirty}", crate::untrusted::visible(&c))
}

/// Puts the files in order. `commits` (oldest first) is the history that
/// orders them by commit; a session whose commit is not in it comes after
/// those that are, by time, with a note.
fn order(
    mut files: Vec<(String, Results)>,
    commits: Option<&[String]>,
    notes: &mut Vec<String>,
) -> Vec<(String, Results)> {
    let position = |r: &Results| -> Option<usize> {
        let c = r.session.commit.as_deref()?;
        let c = c.strip_suffix("-dirty").unwrap_or(c);
        commits?
            .iter()
            .position(|full| full.starts_with(c) && !c.is_empty())
    };
    if let Some(_all) = commits {
        for (path, r) in &files {
            if position(r).is_none() {
                notes.push(format!(
                    "{path}: its commit ({}) is not in the repository's history; placed after those that are, by time",
                    crate::untrusted::visible(r.session.commit.as_deref().unwrap_or("none recorded"))
                ));
            }
        }
        files.sort_by(|(_, a), (_, b)| {
            let key = |r: &Results| (position(r).unwrap_or(usize::MAX), r.session.started.clone());
            key(a).cmp(&key(b))
        });
    } else {
        files.sort_by(|(_, a), (_, b)| a.session.started.cmp(&b.session.started));
    }
    files
}

/// Builds the history of `files` (path, contents).
pub fn build(
    files: Vec<(String, Results)>,
    by: Order,
    commits: Option<&[String]>,
    cp: &changepoint::Settings,
) -> History {
    let mut notes = Vec::new();
    let files = order(files, commits.filter(|_| by == Order::Commit), &mut notes);
    let sessions: Vec<Session> = files
        .iter()
        .map(|(path, r)| Session {
            path: path.clone(),
            id: r.session.id.clone(),
            started: r.session.started.clone(),
            commit: r.session.commit.clone(),
            label: r
                .session
                .commit
                .as_deref()
                .map(short)
                .unwrap_or_else(|| r.session.id.clone()),
        })
        .collect();
    // Every eBPF trial and family, in the order first seen.
    let mut keys: indexmap::IndexMap<(String, &'static str), Vec<Option<Estimate>>> =
        indexmap::IndexMap::new();
    let n = files.len();
    for (k, (_, r)) in files.iter().enumerate() {
        for t in r.trials.iter().filter(|t| !t.is_baseline() && t.ran()) {
            for family in crate::metrics::BUDGETS.iter().map(|b| b.name) {
                if let Some(e) = measure(family, &t.analysis) {
                    keys.entry((t.name.clone(), family))
                        .or_insert_with(|| vec![None; n])[k] = Some(e);
                }
            }
        }
    }
    let (series, more) = flagged(keys, cp);
    notes.extend(more);
    History {
        order: by,
        sessions,
        series,
        notes,
    }
}

/// Every series with its shifts, and what the page says about them. The
/// page is one family: each series long enough (its own points, at least
/// [`MIN_SESSIONS`]) is tested for its strongest change, Benjamini–Hochberg
/// across those tests keeps the expected share of false flags at [`FDR`]
/// (and when nothing changed anywhere, the chance of any flag at all), and
/// only a flagged series is then searched for all its changes.
fn flagged(
    keys: indexmap::IndexMap<(String, &'static str), Vec<Option<Estimate>>>,
    cp: &changepoint::Settings,
) -> (Vec<Series>, Vec<String>) {
    let values = |points: &[Option<Estimate>]| -> Vec<f64> {
        points.iter().flatten().map(|e| e.value).collect()
    };
    let long: Vec<usize> = keys
        .values()
        .enumerate()
        .filter(|(_, p)| values(p).len() >= MIN_SESSIONS)
        .map(|(i, _)| i)
        .collect();
    // Enough permutations that one series can reach FDR/m.
    let m = long.len().max(1);
    let first = changepoint::Settings {
        permutations: cp.permutations.max((m as f64 / FDR).ceil() as usize),
        ..*cp
    };
    let p: Vec<f64> = long
        .iter()
        .map(|&i| changepoint::first_p(&values(&keys[i]), &first).unwrap_or(1.0))
        .collect();
    let q = crate::stats::bh_q(&p);
    let mut notes = vec![format!(
        "{} of {} series have {MIN_SESSIONS} or more sessions of their own and were tested; a change is flagged when its Benjamini–Hochberg q across them is at most {FDR} (p ≤ {:.2e} for the strongest alone), so when nothing changed, a page flags nothing in at least {:.0} % of cases, and of its flags at most {:.0} % are expected to be false",
        long.len(),
        keys.len(),
        FDR / m as f64,
        100.0 * (1.0 - FDR),
        100.0 * FDR
    )];
    if long.len() < keys.len() {
        notes.push(format!(
            "{} series have fewer than {MIN_SESSIONS} sessions of their own: no split of so few points is rare enough among their permutations, so no change can be flagged in them yet",
            keys.len() - long.len()
        ));
    }
    let series = keys
        .into_iter()
        .enumerate()
        .map(|(i, ((trial, family), points))| {
            let hit = long
                .iter()
                .position(|&j| j == i)
                .is_some_and(|k| q[k] <= FDR);
            Series {
                trial,
                family,
                shifts: if hit { shifts(&points, cp) } else { Vec::new() },
                points,
            }
        })
        .collect();
    (series, notes)
}

/// The change points of the measured points, as shifts between sessions.
fn shifts(points: &[Option<Estimate>], cp: &changepoint::Settings) -> Vec<Shift> {
    let (at, x): (Vec<usize>, Vec<f64>) = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, p.as_ref()?.value)))
        .unzip();
    let found = changepoint::e_divisive(&x, cp);
    let mut bounds: Vec<usize> = vec![0];
    bounds.extend(found.iter().map(|c| c.at));
    bounds.push(x.len());
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    found
        .iter()
        .enumerate()
        .map(|(k, c)| Shift {
            at: at[c.at],
            before: mean(&x[bounds[k]..c.at]),
            after: mean(&x[c.at..bounds[k + 2]]),
            p: c.p,
        })
        .collect()
}

/// What `ebpf-perf history` wrote.
pub struct Written {
    pub html: PathBuf,
    pub markdown: PathBuf,
    pub series: usize,
    pub shifts: usize,
}

/// `ebpf-perf history`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Results files, in any order.
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// Where history.html and history.md go.
    #[arg(long, default_value = "target/ebpf-perf")]
    pub out: PathBuf,
    /// Order sessions by start time, or by their commit in --repo's history.
    #[arg(long, value_enum, default_value = "time")]
    pub order: Order,
    /// The git repository whose history orders commits (--order commit).
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
}

/// `ebpf-perf history`: writes both pages and says where, and what they hold.
pub fn command(a: &Args) -> Result<(), HistoryError> {
    let (paths, out, by, repo) = (&a.results, &a.out, a.order, &a.repo);
    let w = write(paths, out, by, repo)?;
    println!("{}\n{}", w.html.display(), w.markdown.display());
    eprintln!(
        "ebpf-perf: {} series over {} files; {} change points",
        w.series,
        paths.len(),
        w.shifts
    );
    Ok(())
}

/// Reads the files, orders them, writes both pages.
pub fn write(
    paths: &[PathBuf],
    out: &Path,
    by: Order,
    repo: &Path,
) -> Result<Written, HistoryError> {
    if paths.len() < 2 {
        return Err(HistoryError::TooFew(paths.len()));
    }
    let files = paths
        .iter()
        .map(|p| Ok((p.display().to_string(), results::read(p)?)))
        .collect::<Result<Vec<_>, HistoryError>>()?;
    let commits = match by {
        Order::Commit => Some(commits_of(repo)?),
        Order::Time => None,
    };
    let h = build(
        files,
        by,
        commits.as_deref(),
        &changepoint::Settings::default(),
    );
    let write = |name: &str, text: String| {
        let path = out.join(name);
        std::fs::create_dir_all(out)
            .and_then(|_| results::write_atomic(&path, text.as_bytes()))
            .map_err(|source| HistoryError::Write {
                path: path.clone(),
                source,
            })?;
        Ok::<PathBuf, HistoryError>(path)
    };
    Ok(Written {
        html: write(HTML, render::html(&h))?,
        markdown: write(MARKDOWN, render::markdown(&h))?,
        series: h.series.len(),
        shifts: h.series.iter().map(|s| s.shifts.len()).sum(),
    })
}

#[cfg(test)]
mod tests;
