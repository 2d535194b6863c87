//! `summary.md`: GitHub-flavoured Markdown short enough for a CI job summary
//! or a pull-request comment: counts, the worst rows of the verdict table,
//! pairs and regressions. No images; the same model as the HTML page.

use super::compare;
use super::model::{self, Mark, Model};
use crate::readout as lines;
use crate::untrusted;
use std::fmt::Write;

/// Rows shown before "… N more".
pub const TOP_ROWS: usize = 15;
const TOP_CHANGES: usize = 10;

/// Text from configs, hosts and results files, made inert (see
/// [`untrusted::markdown`]); safe in a table cell too.
pub fn esc(s: &str) -> String {
    untrusted::markdown(s, true)
}

fn icon(m: Mark) -> &'static str {
    match m {
        Mark::Exceeded => "❌ exceeded",
        Mark::Broken => "💥 failed",
        Mark::Inconclusive => "⚠️ inconclusive",
        Mark::Within => "✅ within",
        Mark::Measured => "· measured",
    }
}

pub fn render(m: &Model) -> String {
    let mut s = String::new();
    let c = &m.counts;
    let _ = writeln!(s, "## ebpf-perf: session {}\n", esc(&m.session_id));
    let _ = writeln!(
        s,
        "**{}** trials ({} baselines): **{}** passed, **{}** failed; {} over a budget, {} inconclusive{}.\n",
        c.trials,
        c.baselines,
        c.passed,
        c.failed,
        c.exceeded,
        c.inconclusive,
        if m.interrupted { "; **interrupted**" } else { "" }
    );
    let _ = writeln!(
        s,
        "Config `{}`, selection `{}`, {} hosts.\n",
        esc(&m.config_dir),
        esc(&m.selection),
        m.hosts.len()
    );
    // Only the families some row measures, to keep the table narrow.
    let used: Vec<(usize, &str)> = model::families()
        .enumerate()
        .filter(|(i, _)| m.rows.iter().any(|r| r.cells[*i].is_some()))
        .collect();
    let _ = writeln!(s, "### Verdicts, worst first\n");
    let _ = write!(s, "| tool | case | env | verdict |");
    for (_, f) in &used {
        let _ = write!(s, " {} |", model::family_title(f));
    }
    let _ = write!(s, "\n|---|---|---|---|");
    for _ in &used {
        let _ = write!(s, "---:|");
    }
    s.push('\n');
    for r in m.rows.iter().take(TOP_ROWS) {
        let _ = write!(
            s,
            "| {} | {} | {} | {} |",
            esc(&r.tool),
            esc(&r.case),
            esc(&r.env),
            icon(r.mark)
        );
        for (i, _) in &used {
            match &r.cells[*i] {
                Some(c) if matches!(c.mark, Mark::Exceeded | Mark::Inconclusive) => {
                    let _ = write!(
                        s,
                        " **{}** / {} |",
                        c.text(),
                        c.budget.map_or(String::new(), lines::num)
                    );
                }
                Some(c) => {
                    let _ = write!(s, " {} |", c.text());
                }
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    if m.rows.len() > TOP_ROWS {
        let _ = writeln!(
            s,
            "\n… {} more rows in report.html",
            m.rows.len() - TOP_ROWS
        );
    }
    let failures: Vec<&String> = m.rows.iter().flat_map(|r| &r.failures).collect();
    if !failures.is_empty() {
        let _ = writeln!(s, "\n### Failures\n");
        for f in failures.iter().take(TOP_ROWS) {
            let _ = writeln!(s, "- {}", untrusted::markdown(f, false));
        }
        if failures.len() > TOP_ROWS {
            let _ = writeln!(s, "- … {} more in report.html", failures.len() - TOP_ROWS);
        }
    }
    if !m.advice.is_empty() {
        let _ = writeln!(s, "\n### Recommendations\n");
        for a in m.advice.iter().take(TOP_ROWS) {
            let _ = writeln!(s, "- {}", esc(&a.text));
        }
    }
    case_ratings(&mut s, m);
    for p in &m.pairs {
        let _ = writeln!(
            s,
            "\n### {} vs {} on {}\n",
            esc(&p.a),
            esc(&p.b),
            esc(&p.env)
        );
        let _ = writeln!(
            s,
            "| metric | {} | {} | b − a (95 % CI) | cheaper |\n|---|---:|---:|---:|---|",
            esc(&p.a),
            esc(&p.b)
        );
        for x in &p.metrics {
            let (side, sig) = x.cheaper();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} {} | {}{} |",
                model::family_title(x.family),
                lines::num(x.a.value),
                lines::num(x.b.value),
                lines::signed(x.diff.value),
                lines::interval(&x.diff, ""),
                esc(match side {
                    "a" => &p.a,
                    "b" => &p.b,
                    _ => "neither",
                }),
                if sig {
                    " (significant)"
                } else {
                    " (not significant)"
                }
            );
        }
        let d = &p.decision;
        let _ = writeln!(
            s,
            "\n| aspect | {} | {} | winner |\n|---|---:|---:|---|",
            esc(&p.a),
            esc(&p.b)
        );
        for x in &d.rows {
            let _ = writeln!(
                s,
                "| {} ({}) | {} | {} | {} |",
                x.aspect.title(),
                x.aspect.unit(),
                compare::Pair::side_text(x.aspect, x.a, x.a_rating),
                compare::Pair::side_text(x.aspect, x.b, x.b_rating),
                esc(p.winner_text(x.winner))
            );
        }
        let _ = writeln!(
            s,
            "\n**{}.** {}\n\n{}",
            esc(&d.overall),
            esc(&d.recommendation),
            esc(&p.scores_text())
        );
    }
    for n in &m.pair_notes {
        let _ = writeln!(s, "\n{}", esc(n));
    }
    if !m.precision.is_empty() {
        let _ = writeln!(s, "\n### Precision\n");
        for l in m.precision.iter().take(TOP_ROWS) {
            let _ = writeln!(s, "- {}", untrusted::markdown(l, false));
        }
        if m.precision.len() > TOP_ROWS {
            let _ = writeln!(
                s,
                "- … {} more in report.html",
                m.precision.len() - TOP_ROWS
            );
        }
    }
    if !m.placement.is_empty() {
        let _ = writeln!(s, "\n### Placement\n");
        for l in m.placement.iter().take(TOP_ROWS) {
            let _ = writeln!(s, "- {}", untrusted::markdown(l, false));
        }
    }
    if let Some((since, changes)) = &m.changes {
        let _ = writeln!(s, "\n### Largest growth since {}\n", esc(since));
        let _ = writeln!(
            s,
            "| trial | metric | then | now | growth (95 % CI) |\n|---|---|---:|---:|---:|"
        );
        for c in changes.iter().take(TOP_CHANGES) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} {} |",
                esc(&c.trial),
                model::family_title(c.family),
                lines::num(c.then),
                lines::num(c.now.value),
                lines::signed(c.growth.value),
                lines::interval(&c.growth, "")
            );
        }
    }
    s
}

/// `### Ratings per case`: one row per case and environment.
fn case_ratings(s: &mut String, m: &Model) {
    let Some(first) = m.case_ratings.first() else {
        return;
    };
    let heads: Vec<&str> = first.aspects.iter().map(|a| a.0.title()).collect();
    let _ = writeln!(
        s,
        "\n### Ratings per case\n\n| case | env | {} | scores |\n|---|---|{}---|",
        heads.join(" | "),
        "---|".repeat(heads.len())
    );
    for c in m.case_ratings.iter().take(TOP_ROWS) {
        let cells: Vec<String> = c
            .aspects
            .iter()
            .map(|(a, v, r)| compare::Pair::side_text(*a, *v, *r))
            .collect();
        let _ = writeln!(
            s,
            "| {}::{} | {} | {} | {} |",
            esc(&c.tool),
            esc(&c.case),
            esc(&c.env),
            cells.join(" | "),
            compare::case_scores(c)
        );
    }
    if m.case_ratings.len() > TOP_ROWS {
        let _ = writeln!(
            s,
            "\n… {} more in report.html",
            m.case_ratings.len() - TOP_ROWS
        );
    }
    let lacking: Vec<String> = m
        .case_ratings
        .iter()
        .filter(|c| !c.lacking.is_empty())
        .take(TOP_ROWS)
        .map(|c| {
            let hosts: Vec<String> = c.lacking.iter().map(|x| esc(x)).collect();
            format!(
                "- {}::{} on {}: {}",
                esc(&c.tool),
                esc(&c.case),
                esc(&c.env),
                hosts.join("; ")
            )
        })
        .collect();
    if !lacking.is_empty() {
        let _ = writeln!(
            s,
            "\nHosts of this session that could not run what a case loaded:\n\n{}",
            lacking.join("\n")
        );
    }
}
