//! Flat exports of a results file for dashboards and notebooks: one row per
//! measured value (run or warm-up, block runs included) and metric, with
//! the session, the trial's coordinates and the facts of its hosts, as CSV
//! or as newline-delimited JSON. The columns are [`Row`]'s fields, in order
//! (docs/results.md).

use crate::results::{Block, Results, Run, TrialResult};
use serde::Serialize;
use std::io::Write;

/// The formats of `ebpf-perf export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Ndjson,
}

/// One value of one run.
#[derive(Debug, Serialize)]
pub struct Row<'a> {
    pub session: &'a str,
    /// The commit of the project under test, when the results file has one.
    pub commit: &'a str,
    pub trial: &'a str,
    pub tool: &'a str,
    pub case: Option<u32>,
    pub env: &'a str,
    pub test_type: &'a str,
    pub variant: &'a str,
    /// The block's pair (its round, for a baseline measured alone).
    pub pair: u32,
    /// `baseline` or `tool`.
    pub side: &'static str,
    /// `run` or `warmup`.
    pub kind: &'static str,
    /// 1-based within its kind in its block.
    pub run: usize,
    pub start: &'a str,
    pub metric: &'a str,
    pub value: f64,
    pub unit: &'static str,
    pub server: &'a str,
    pub server_kernel: &'a str,
    pub server_cpus: &'a str,
    pub client: &'a str,
    pub client_kernel: &'a str,
    pub client_cpus: &'a str,
}

/// Every row of `r`, in trial order: each trial's own blocks (an eBPF
/// trial's tool blocks; a baseline's blocks, which its eBPF trials' pairs
/// share, once).
pub fn rows(r: &Results) -> Vec<Row<'_>> {
    let mut out = Vec::new();
    for t in &r.trials {
        for b in t.own_blocks() {
            for (kind, runs) in [("run", &b.runs), ("warmup", &b.warmups)] {
                for (i, run) in runs.iter().enumerate() {
                    out.extend(run_rows(r, t, b, (kind, i + 1), run));
                }
            }
        }
    }
    out
}

fn run_rows<'a>(
    r: &'a Results,
    t: &'a TrialResult,
    b: &'a Block,
    (kind, n): (&'static str, usize),
    run: &'a Run,
) -> Vec<Row<'a>> {
    let host = |i: usize| {
        b.remote
            .get(i)
            .and_then(|d| d.split_once(':'))
            .map_or("", |(h, _)| h)
    };
    let fact = |h: &str, k: &str| -> &'a str {
        r.session
            .hosts
            .get(h)
            .and_then(|f| f.get(k))
            .and_then(|v| v.as_str())
            .unwrap_or("")
    };
    let (server, client) = (host(0), host(1));
    run.metrics
        .iter()
        .map(|(m, v)| Row {
            session: &r.session.id,
            commit: r.session.commit.as_deref().unwrap_or(""),
            trial: &t.name,
            tool: t.tool_id.as_deref().unwrap_or("baseline"),
            case: t.case_id,
            env: &t.env,
            test_type: t.test_type.as_str(),
            variant: &t.variant,
            pair: b.pair,
            side: b.side.as_str(),
            kind,
            run: n,
            start: &run.start,
            metric: m.as_str(),
            value: *v,
            unit: crate::metrics::get(m.as_str()).map_or("", |x| x.unit.symbol()),
            server,
            server_kernel: fact(server, "kernel"),
            server_cpus: fact(server, "cpus"),
            client,
            client_kernel: fact(client, "kernel"),
            client_cpus: fact(client, "cpus"),
        })
        .collect()
}

/// A cell a spreadsheet shows rather than runs (OWASP, "CSV Injection"):
/// text that starts with `=`, `+`, `-`, `@`, tab or carriage return gets a
/// leading `'`, unless it is a number; control characters are shown
/// (`untrusted::visible`).
pub fn spreadsheet_cell(c: &str) -> String {
    let formula = c.starts_with(['=', '+', '-', '@', '\t', '\r']) && c.parse::<f64>().is_err();
    let c = crate::untrusted::visible(c);
    if formula {
        format!("'{c}")
    } else {
        c.into_owned()
    }
}

/// Writes `rows` in `format`.
pub fn write(rows: &[Row<'_>], format: Format, out: impl Write) -> Result<(), ExportError> {
    match format {
        Format::Csv => {
            let mut raw = csv::Writer::from_writer(Vec::new());
            for row in rows {
                raw.serialize(row)?;
            }
            let raw = raw.into_inner().map_err(|e| e.into_error())?;
            // Every cell read back and made safe for a spreadsheet.
            let mut w = csv::Writer::from_writer(out);
            for rec in csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(&raw[..])
                .into_records()
            {
                w.write_record(rec?.iter().map(spreadsheet_cell))?;
            }
            w.flush()?;
        }
        Format::Ndjson => {
            let mut out = std::io::BufWriter::new(out);
            for row in rows {
                serde_json::to_writer(&mut out, row)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
    }
    Ok(())
}

/// `ebpf-perf export`: `results` as `format`, into `out` (a new file,
/// written whole or not at all) or stdout.
pub fn command(
    results: &std::path::Path,
    format: Format,
    out: Option<&std::path::Path>,
) -> Result<(), String> {
    let r = crate::results::read(results).map_err(|e| e.to_string())?;
    let rows = rows(&r);
    match out {
        None => write(&rows, format, std::io::stdout().lock()).map_err(|e| e.to_string()),
        Some(path) => {
            let tmp = crate::results::temp_beside(path)
                .map_err(|e| format!("cannot write beside {}: {e}", path.display()))?;
            write(&rows, format, tmp.as_file()).map_err(|e| format!("{}: {e}", path.display()))?;
            tmp.persist(path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!("Export: {} ({} rows)", path.display(), rows.len());
            Ok(())
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
}
