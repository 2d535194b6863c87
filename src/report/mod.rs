//! Reports (issue "reports people would rather look at"): from one results
//! file, `report.html` (self-contained, charts as inline SVG) and
//! `summary.md` (for CI job summaries and pull-request comments). Both
//! render one [`model::Model`], so they show the same numbers.

mod axis;
pub mod charts;
pub mod compare;
pub mod html;
pub mod markdown;
pub mod model;
pub mod placement;
pub mod table;

use crate::results::{self, Results};
use std::path::{Path, PathBuf};

pub const HTML: &str = "report.html";
pub const MARKDOWN: &str = "summary.md";

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read the results file: {0}")]
    Results(#[from] results::ResultsError),
    #[error("cannot write {path}: {source}; check that the directory is writable (--out DIR)")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What to put side by side and what to compare with.
#[derive(Debug, Default)]
pub struct Options<'a> {
    /// Groups of cases (`case_1`, or `tool_001::case_1`) to compare, beyond
    /// the results file's own `comparisons`.
    pub compare: Vec<Vec<String>>,
    /// `--compare-to`: an earlier results file's path and contents.
    pub earlier: Option<(&'a str, &'a Results)>,
    /// `--calibration`: what the hosts can detect, shown beside the verdicts.
    pub calibration: Option<(&'a str, &'a crate::calibration::Calibration)>,
}

/// Where the files went.
#[derive(Debug)]
pub struct Written {
    pub html: PathBuf,
    pub markdown: PathBuf,
}

/// The two documents, in memory.
pub fn render(r: &Results, opts: &Options) -> (String, String) {
    let mut compare = r.session.comparisons.clone();
    compare.extend(opts.compare.iter().cloned());
    let mut m = model::build(r, &compare, opts.earlier);
    if let Some((path, cal)) = opts.calibration {
        let lines = crate::calibration::beside_verdicts(cal, r);
        let tight = lines.iter().filter(|(_, t)| *t).count();
        m.precision.push(format!(
            "Calibration {path}: {} budget verdicts have a calibrated baseline; {tight} of their budgets are tighter than these hosts can see.",
            lines.len()
        ));
        // Tight ones first: they are the verdicts to distrust.
        let (first, rest): (Vec<_>, Vec<_>) = lines.into_iter().partition(|(_, t)| *t);
        m.precision
            .extend(first.into_iter().chain(rest).map(|(l, _)| l));
    }
    (html::render(r, &m), markdown::render(&m))
}

fn put(path: PathBuf, text: &str) -> Result<PathBuf, ReportError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let w = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        results::write_atomic(&path, text.as_bytes())
    };
    w().map_err(|source| ReportError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Renders and writes both files into `out` (atomically, each).
pub fn write(r: &Results, out: &Path, opts: &Options) -> Result<Written, ReportError> {
    let (html, md) = render(r, opts);
    Ok(Written {
        html: put(out.join(HTML), &html)?,
        markdown: put(out.join(MARKDOWN), &md)?,
    })
}

#[cfg(test)]
mod tests;
