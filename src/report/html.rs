//! `report.html`: one self-contained page (inline CSS and SVG, a few lines
//! of inline script that only sort the table; nothing is fetched). Written
//! with maud, which escapes every interpolated string.

use super::charts;
use super::compare;
use super::model::{self, Mark, Model};
use crate::readout as lines;
use crate::results::Results;
use maud::{html, Markup, PreEscaped, DOCTYPE};

pub const CSS: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1b1b1b;max-width:1500px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0;font-size:13px} th,td{border:1px solid #d5d5d5;padding:4px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3;cursor:pointer;white-space:nowrap} td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.within{background:#e3f4e3} .inconclusive{background:#fff3cd} .exceeded{background:#f8d7da} .failed{background:#e2c2f0}
.measured{background:#fafafa} .none{color:#999}
.badge{display:inline-block;padding:1px 7px;border-radius:9px;font-weight:600}
.kpis span{display:inline-block;margin-right:14px}
.charts{display:flex;flex-wrap:wrap;gap:8px} .charts svg{border:1px solid #eee}
small,.from{color:#666;font-size:12px}
details{margin:4px 0}
"#;

/// Click a header to sort by it; the table is already worst-first without it.
const SORT_JS: &str = r#"
document.querySelectorAll('table.sortable th').forEach((th,i)=>th.addEventListener('click',()=>{
 const tb=th.closest('table').tBodies[0];const rows=[...tb.rows];const asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';
 const key=r=>{const c=r.cells[i];const v=c.dataset.v;return v!==undefined?parseFloat(v):c.textContent};
 rows.sort((a,b)=>{const x=key(a),y=key(b);const d=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y));return asc?d:-d});
 rows.forEach(r=>tb.appendChild(r));}));
"#;

fn badge(m: Mark) -> Markup {
    html! { span class={"badge " (m.as_str())} { (m.as_str()) } }
}

fn session(m: &Model) -> Markup {
    let c = &m.counts;
    html! {
        h1 { "ebpf-perf: what the eBPF tools cost" }
        p {
            "Session " b { (m.session_id) } " · " (m.started) " → " (m.finished)
            @if m.interrupted { " · " b { "interrupted (Ctrl-C)" } }
            br;
            small { "config " code { (m.config_dir) } " · selection " code { (m.selection) } " · " (m.generator) }
        }
        p.kpis {
            span { b { (c.trials) } " trials (" (c.baselines) " baselines)" }
            span.within.badge { (c.passed) " passed" }
            span.failed.badge { (c.failed) " failed" }
            span.exceeded.badge { (c.exceeded) " over a budget" }
            span.inconclusive.badge { (c.inconclusive) " inconclusive" }
            @if c.broken > 0 { span { (c.broken) " did not run to the end" } }
        }
        details {
            summary { "Hosts: " (m.hosts.len()) }
            table {
                tr { th { "host" } th { "kernel" } th { "CPUs" } th { "NICs (driver): offloads on" } }
                @for h in &m.hosts {
                    tr {
                        td { (h.name) } td { (h.kernel) } td { (h.cpus) " × " (h.cpu_model) }
                        td { @for n in &h.nics { div { small { (n) } } } }
                    }
                }
            }
        }
    }
}

fn verdict_table(m: &Model) -> Markup {
    html! {
        h2 { "Verdicts" }
        p { small { "One row per tool × case × environment, worst first. Each cell: the costliest trial's value with its 95 % CI; "
            "colour: " span.within { "within budget" } ", " span.inconclusive { "inconclusive (CI straddles the budget)" } ", "
            span.exceeded { "exceeded" } ", " span.measured { "no budget" } ". Click a header to sort." } }
        table.sortable #verdicts {
            thead { tr {
                th { "tool" } th { "case" } th { "env" } th { "verdict" }
                @for f in model::families() { th title=(f) { (model::family_title(f)) } }
            } }
            tbody {
                @for r in &m.rows {
                    tr.row data-case=(r.case) {
                        td { (r.tool) } td { a href={"#" (anchor(r))} { (r.case) } br; small { (r.case_name) } } td { (r.env) }
                        td data-v=(r.mark as u8) { (badge(r.mark)) }
                        @for c in &r.cells {
                            @match c {
                                Some(c) => td.num class=(c.mark.as_str()) data-v=(c.value.value)
                                    title={ (c.from) @if let Some(b) = c.budget { " · budget " (b) } } {
                                    (lines::num(c.value.value)) br; small { (lines::interval(&c.value, "")) }
                                    @if let Some(b) = c.budget { br; small { "budget " (b) } }
                                },
                                None => td.none data-v="-1e308" { "–" },
                            }
                        }
                    }
                }
            }
        }
    }
}

fn anchor(r: &model::Row) -> String {
    format!("{}-{}-{}", r.tool, r.case, r.env)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The charts of one row, as inline SVG.
fn row_charts(res: &Results, r: &model::Row) -> String {
    let mut s = String::new();
    s.extend(charts::overhead(res, r));
    s.extend(charts::repeats(res, r));
    for t in charts::traces(res, r) {
        s.push_str(&charts::trace(&t));
    }
    s
}

fn cases(res: &Results, m: &Model) -> Markup {
    use rayon::prelude::*;
    // Rows are independent: draw their charts on every core.
    let drawn: Vec<String> = m.rows.par_iter().map(|r| row_charts(res, r)).collect();
    html! {
        h2 { "Per case" }
        @for (r, svgs) in m.rows.iter().zip(drawn) {
            section id=(anchor(r)) {
                h3 { (r.tool) " · " (r.case) " · " (r.env) " " (badge(r.mark)) " " small { (r.case_name) } }
                @for f in &r.failures { p.exceeded { small { (f) } } }
                div.charts { (PreEscaped(svgs)) }
            }
        }
    }
}

/// How precise the session was (see [`model::precision`]).
fn precision(m: &Model) -> Markup {
    html! {
        @if !m.precision.is_empty() {
            h2 { "Precision" }
            ul { @for l in &m.precision { li { (l) } } }
        }
        @if !m.placement.is_empty() {
            h2 { "Placement" }
            p { small { "Where the client and the server ran, by the CPU each was found on most: latency is bimodal on hosts that share CPUs." } }
            ul { @for l in &m.placement { li { (l) } } }
        }
    }
}

fn side_by_side(m: &Model) -> Markup {
    html! {
        @if !m.pairs.is_empty() || !m.pair_notes.is_empty() {
            h2 { "Side by side" }
            @for n in &m.pair_notes { p { small { (n) } } }
            @for p in &m.pairs {
                h3 { (p.a) " vs " (p.b) " on " (p.env) }
                table.pair {
                    tr { th { "metric" } th { (p.a) } th { (p.b) } th { "b − a (95 % CI)" } th { "cheaper" } }
                    @for x in &p.metrics {
                        @let (side, sig) = x.cheaper();
                        tr {
                            td { (model::family_title(x.family)) }
                            td.num { (lines::num(x.a.value)) }
                            td.num { (lines::num(x.b.value)) }
                            td.num { (lines::signed(x.diff.value)) " " (lines::interval(&x.diff, "")) }
                            td { @match side { "a" => (p.a), "b" => (p.b), _ => "neither" } " " @if sig { "(significant)" } @else { small { "(not significant)" } } }
                        }
                    }
                }
                @let d = &p.decision;
                table.ratings {
                    tr { th { "aspect" } th { (p.a) } th { (p.b) } th { "winner" } }
                    @for x in &d.rows {
                        tr {
                            td { (x.aspect.title()) " " small { "(" (x.aspect.unit()) ")" } }
                            td class=(compare::rating_class(x.a_rating)) { (compare::Pair::side_text(x.aspect, x.a, x.a_rating)) }
                            td class=(compare::rating_class(x.b_rating)) { (compare::Pair::side_text(x.aspect, x.b, x.b_rating)) }
                            td { (p.winner_text(x.winner)) }
                        }
                    }
                }
                p { strong { (d.overall) } ". " (d.recommendation) }
                p { small { (p.scores_text()) } }
            }
        }
    }
}

fn recommendations(m: &Model) -> Markup {
    html! {
        @if !m.advice.is_empty() {
            h2 { "Recommendations" }
            ul {
                @for a in &m.advice {
                    li {
                        (a.text)
                        @if a.closest.len() > 1 {
                            br; small { "closest budgets: "
                                @for (k, (name, v, limit, trial)) in a.closest.iter().enumerate() {
                                    @if k > 0 { "; " }
                                    (name) " " (lines::num(*v)) " of " (lines::num(*limit)) " (" (trial) ")"
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn case_ratings(m: &Model) -> Markup {
    let aspects: Vec<crate::ratings::Aspect> = m
        .case_ratings
        .first()
        .map(|c| c.aspects.iter().map(|a| a.0).collect())
        .unwrap_or_default();
    html! {
        @if !m.case_ratings.is_empty() {
            h2 { "Ratings per case" }
            table.ratings.sortable {
                thead { tr {
                    th { "case" } th { "env" }
                    @for a in &aspects { th { (a.title()) " " small { "(" (a.unit()) ")" } } }
                    th { "scores" }
                } }
                tbody {
                    @for c in &m.case_ratings {
                        tr {
                            td { (c.tool) "::" (c.case) } td { (c.env) }
                            @for (a, v, r) in &c.aspects {
                                td class=(compare::rating_class(*r)) { (compare::Pair::side_text(*a, *v, *r)) }
                            }
                            td { small { (compare::case_scores(c)) } }
                        }
                    }
                }
            }
            @for c in m.case_ratings.iter().filter(|c| !c.lacking.is_empty()) {
                p.lacking { small { (c.tool) "::" (c.case) " on " (c.env) " could not run on: " (c.lacking.join("; ")) } }
            }
        }
    }
}

fn regressions(m: &Model) -> Markup {
    html! {
        @if let Some((since, changes)) = &m.changes {
            h2 { "Since " (since) }
            p { small { "Cost now minus cost then per trial and metric, largest growth first." } }
            table.sortable {
                thead { tr { th { "trial" } th { "metric" } th { "then" } th { "now" } th { "growth (95 % CI)" } } }
                tbody {
                    @for c in changes {
                        tr class=(if c.growth.significant() && c.growth.value > 0.0 { "exceeded" } else { "" }) {
                            td { (c.trial) } td { (model::family_title(c.family)) }
                            td.num { (lines::num(c.then)) } td.num { (lines::num(c.now.value)) }
                            td.num data-v=(c.growth.value) { (lines::signed(c.growth.value)) " " (lines::interval(&c.growth, "")) }
                        }
                    }
                }
            }
        }
    }
}

pub fn render(res: &Results, m: &Model) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "ebpf-perf report " (m.session_id) }
                style { (PreEscaped(CSS)) }
            }
            body {
                (session(m))
                (verdict_table(m))
                (recommendations(m))
                (case_ratings(m))
                (side_by_side(m))
                (precision(m))
                (regressions(m))
                (cases(res, m))
                script { (PreEscaped(SORT_JS)) }
            }
        }
    }
    .into_string()
}
