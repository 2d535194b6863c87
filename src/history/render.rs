//! The history pages: `history.html` (one chart per series with its
//! intervals and change points, drawn by the report's plotters helpers) and
//! `history.md` (the changes and every series' first and last value).

use super::{History, Order, Series};
use crate::readout as lines;
use crate::report::charts::{self, columns, span, svg};
use crate::report::table::family_title;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use plotters::prelude::*;
use std::fmt::Write;

/// Charts beyond this many are listed in the table only.
pub const MAX_CHARTS: usize = 120;

/// Series with a change first, then in the order first seen.
fn ranked(h: &History) -> Vec<&Series> {
    let mut v: Vec<&Series> = h.series.iter().collect();
    v.sort_by_key(|s| s.shifts.is_empty());
    v
}

fn chart(h: &History, s: &Series) -> String {
    let labels: Vec<String> = h.sessions.iter().map(|x| x.label.clone()).collect();
    let (lo, hi) = span(s.points.iter().flatten().flat_map(|e| e.bounds()));
    let n = labels.len();
    svg(|root| {
        let caption = format!(
            "{} per session (95% CI; red: change points)",
            family_title(s.family)
        );
        let mut c = columns(root, &caption, &labels, (lo, hi), family_title(s.family))?;
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i as f64, p.as_ref()?.value)))
            .collect();
        c.draw_series(LineSeries::new(pts.clone(), charts::EBPF.stroke_width(1)))?;
        c.draw_series(
            pts.iter()
                .map(|&p| Circle::new(p, 3, charts::EBPF.filled())),
        )?;
        c.draw_series(s.points.iter().enumerate().filter_map(|(i, p)| {
            let e = p.as_ref()?;
            let [l, u] = e.ci95?;
            Some(ErrorBar::new_vertical(
                i as f64,
                l,
                e.value,
                u,
                BLACK.stroke_width(1),
                8,
            ))
        }))?;
        // Each change: a line between the sessions, and the means on either side.
        let mut from = -0.5;
        for (k, sh) in s.shifts.iter().enumerate() {
            let x = sh.at as f64 - 0.5;
            c.draw_series(std::iter::once(PathElement::new(
                vec![(x, lo), (x, hi)],
                charts::BUDGET.stroke_width(2),
            )))?;
            c.draw_series(std::iter::once(PathElement::new(
                vec![(from, sh.before), (x, sh.before)],
                charts::BUDGET.mix(0.6).stroke_width(1),
            )))?;
            let to = s
                .shifts
                .get(k + 1)
                .map_or(n as f64 - 0.5, |next| next.at as f64 - 0.5);
            c.draw_series(std::iter::once(PathElement::new(
                vec![(x, sh.after), (to, sh.after)],
                charts::BUDGET.mix(0.6).stroke_width(1),
            )))?;
            from = x;
        }
        Ok(())
    })
}

fn order_text(h: &History) -> &'static str {
    match h.order {
        Order::Time => "ordered by session start",
        Order::Commit => "ordered by commit (git rev-list --topo-order), then by start",
    }
}

fn shift_text(h: &History, s: &Series) -> String {
    s.shifts
        .iter()
        .map(|x| {
            format!(
                "at {}: {} → {} (p {})",
                h.sessions[x.at].label,
                lines::num(x.before),
                lines::num(x.after),
                lines::num(x.p)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn ends(s: &Series) -> (String, String) {
    let mut it = s.points.iter().flatten();
    let first = it.next().map(|e| lines::num(e.value));
    let last = s
        .points
        .iter()
        .flatten()
        .last()
        .map(|e| lines::num(e.value));
    (first.unwrap_or_default(), last.unwrap_or_default())
}

pub fn html(h: &History) -> String {
    let ranked = ranked(h);
    let changed = ranked.iter().filter(|s| !s.shifts.is_empty()).count();
    let page: Markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "ebpf-perf history" }
                style { (PreEscaped(crate::report::html::CSS)) }
            }
            body {
                h1 { "ebpf-perf history" }
                p { (h.sessions.len()) " sessions, " (order_text(h)) "; " (h.series.len()) " series (eBPF trial × budget family), " (changed) " with a change point (E-divisive means, permutation test at 5 %)." }
                table {
                    tr { th { "#" } th { "label" } th { "session" } th { "started" } th { "file" } }
                    @for (i, s) in h.sessions.iter().enumerate() {
                        tr { td.num { (i + 1) } td { (s.label) } td { (s.id) } td { (s.started) } td { small { (s.path) } } }
                    }
                }
                @for n in &h.notes { p { small { (n) } } }
                h2 { "Change points" }
                @if changed == 0 { p { "No series changed." } }
                @else {
                    table {
                        tr { th { "trial" } th { "metric" } th { "changes" } }
                        @for s in ranked.iter().filter(|s| !s.shifts.is_empty()) {
                            tr { td { (s.trial) } td { (family_title(s.family)) } td { (shift_text(h, s)) } }
                        }
                    }
                }
                h2 { "Series" }
                @if ranked.len() > MAX_CHARTS {
                    p { small { "Charts for the first " (MAX_CHARTS) " series (those with changes first); the Markdown file lists all." } }
                }
                @for s in ranked.iter().take(MAX_CHARTS) {
                    h3 { (s.trial) " · " (family_title(s.family)) }
                    (PreEscaped(chart(h, s)))
                }
            }
        }
    };
    page.into_string()
}

pub fn markdown(h: &History) -> String {
    let esc = crate::report::markdown::esc;
    let mut s = String::new();
    let _ = writeln!(s, "## ebpf-perf history\n");
    let _ = writeln!(
        s,
        "{} sessions, {}: {}\n",
        h.sessions.len(),
        order_text(h),
        h.sessions
            .iter()
            .map(|x| esc(&x.label))
            .collect::<Vec<_>>()
            .join(" → ")
    );
    for n in &h.notes {
        let _ = writeln!(s, "- {}", esc(n));
    }
    let ranked = ranked(h);
    let _ = writeln!(s, "\n### Change points\n");
    if ranked.iter().all(|x| x.shifts.is_empty()) {
        let _ = writeln!(s, "No series changed.");
    } else {
        let _ = writeln!(s, "| trial | metric | changes |\n|---|---|---|");
        for x in ranked.iter().filter(|x| !x.shifts.is_empty()) {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                esc(&x.trial),
                family_title(x.family),
                esc(&shift_text(h, x))
            );
        }
    }
    let _ = writeln!(
        s,
        "\n### Series\n\n| trial | metric | first | last | sessions |\n|---|---|---:|---:|---:|"
    );
    for x in &ranked {
        let (first, last) = ends(x);
        let _ = writeln!(
            s,
            "| {} | {} | {first} | {last} | {} |",
            esc(&x.trial),
            family_title(x.family),
            x.points.iter().flatten().count()
        );
    }
    s
}
