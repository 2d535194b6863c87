//! The report from a results file a lab run made (tests/data/results_lab.json:
//! the default matrix, 48 trials): rows, one source for both documents,
//! escaping, pairs and the regression view.

use super::model::{self, Mark};
use super::*;
use crate::readout as lines;
use crate::stats::Verdict;

fn lab() -> Results {
    results::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/results_lab.json"))
        .expect("tests/data/results_lab.json")
}

#[test]
fn one_row_per_tool_case_environment_worst_first() {
    let r = lab();
    let m = model::build(&r, &[], None);
    let mut keys: Vec<(String, String, String)> = r
        .trials
        .iter()
        .filter_map(|t| {
            Some((
                t.tool_id.clone()?,
                format!("case_{}", t.case_id?),
                t.env.clone(),
            ))
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(m.rows.len(), keys.len());
    assert!(m.rows.windows(2).all(|w| w[0].mark >= w[1].mark));
    assert_eq!(m.counts.trials, 48);
    assert_eq!(m.counts.baselines, 16);
    // Every row has a cell for each budget family its trials measure.
    for row in &m.rows {
        assert_eq!(row.cells.len(), model::families().count());
        assert!(row.cells[0].is_some(), "throughput loss of {}", row.case);
    }
}

#[test]
fn a_cell_is_the_costliest_trial_and_carries_its_budget_verdict() {
    let r = lab();
    let m = model::build(&r, &[], None);
    for row in &m.rows {
        for (f, cell) in model::families().zip(&row.cells) {
            let Some(cell) = cell else { continue };
            let of = |t: &crate::results::TrialResult| {
                let b = t.analysis.budgets.iter().find(|b| b.name == f);
                let mark = b.map_or(Mark::Measured, |b| match b.verdict {
                    Verdict::Within => Mark::Within,
                    Verdict::Inconclusive => Mark::Inconclusive,
                    Verdict::Exceeded => Mark::Exceeded,
                });
                (mark, b.map(|b| b.limit))
            };
            let trials: Vec<_> = row.trials.iter().map(|&i| &r.trials[i]).collect();
            let source = trials
                .iter()
                .find(|t| crate::analysis::measure(f, &t.analysis) == Some(cell.value))
                .unwrap_or_else(|| panic!("{f} of {}: no trial measured it", row.case));
            assert_eq!(of(source), (cell.mark, cell.budget), "{f} of {}", row.case);
            for t in &trials {
                if let Some(v) = crate::analysis::measure(f, &t.analysis) {
                    let (mark, _) = of(t);
                    assert!(
                        mark < cell.mark || (mark == cell.mark && v.value <= cell.value.value),
                        "{f} of {}: {} is worse than the cell",
                        row.case,
                        t.name
                    );
                }
            }
        }
    }
}

#[test]
fn markdown_and_html_show_the_same_numbers() {
    let r = lab();
    let (html, md) = render(&r, &Options::default());
    let m = model::build(&r, &[], None);
    for row in &m.rows {
        let line = md
            .lines()
            .find(|l| l.starts_with(&format!("| {} | {} | {} |", row.tool, row.case, row.env)))
            .unwrap_or_else(|| panic!("no Markdown row for {} {}", row.case, row.env));
        let start = html
            .find(&format!("<tr class=\"row\" data-case=\"{}\"", row.case))
            .expect("HTML row");
        let end = start + html[start..].find("</tr>").unwrap();
        let tr = &html[start..end];
        for c in row.cells.iter().flatten() {
            assert!(line.contains(&c.text()), "{} not in {line}", c.text());
            assert!(
                tr.contains(&lines::num(c.value.value)),
                "{} not in the HTML row",
                lines::num(c.value.value)
            );
            assert!(
                tr.contains(&lines::interval(&c.value, "")),
                "interval not in the HTML row"
            );
        }
    }
}

#[test]
fn strings_from_configs_and_hosts_are_text() {
    let mut r = lab();
    let evil = "<script>alert(1)</script>";
    for t in &mut r.trials {
        t.case_name = Some(evil.into());
        t.variant = format!("{}<img src=x onerror=alert(2)>", t.variant);
    }
    r.session.selection = vec![evil.into()];
    r.session
        .hosts
        .insert(evil.into(), serde_json::json!({"kernel": evil}));
    let (html, md) = render(&r, &Options::default());
    assert_eq!(html.matches("<script").count(), 1, "only the sort script");
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // In Markdown the text stands in code spans, where nothing is markup.
    assert!(md.contains("`<script>alert(1)</script>`"), "{md}");
    for l in md
        .lines()
        .filter(|l| l.contains("<script") || l.contains("<img"))
    {
        assert!(
            l.matches('`').count() >= 2,
            "markup outside a code span: {l}"
        );
    }
}

#[test]
fn pairs_say_which_is_cheaper_and_name_what_is_missing() {
    let r = lab();
    let asked = vec![
        vec!["case_1".to_string(), "case_3".to_string()],
        vec!["case_1".to_string(), "case_4".to_string()],
    ];
    let m = model::build(&r, &asked, None);
    assert_eq!(m.pairs.len(), 1, "case_4 runs on vm only");
    assert!(m.pair_notes[0].contains("case_1 and case_4"));
    let p = &m.pairs[0];
    assert_eq!(
        (p.a.as_str(), p.b.as_str(), p.env.as_str()),
        ("case_1", "case_3", "host")
    );
    for x in &p.metrics {
        assert!((x.diff.value - (x.b.value - x.a.value)).abs() < 1e-9);
        let (side, _) = x.cheaper();
        assert_eq!(side == "a", x.b.value > x.a.value, "{}", x.family);
    }
    // Tools name their case: tool_001 vs tool_002 is case_1 vs case_3 on host
    // (tool_001's first row there, which is worst-first).
    let by_tool = model::build(
        &r,
        &[vec!["tool_002".into(), "tool_001::case_1".into()]],
        None,
    );
    assert_eq!(by_tool.pairs.len(), 1);
    assert_eq!(by_tool.pairs[0].metrics.len(), p.metrics.len());
    // printf per packet costs the tool's CPU more than a per-CPU counter.
    let cpu = p
        .metrics
        .iter()
        .find(|x| x.family == "bpf_ns_per_event")
        .unwrap();
    assert_eq!(cpu.cheaper(), ("a", true));
    // The decision matrix is the decision module's, for the same pair.
    let (d, _) = crate::decision::decide_all(&r, &asked[..1], &r.session.ratings);
    assert_eq!(p.decision, d[0]);
}

#[test]
fn both_documents_show_the_decision_matrix_and_the_recommendations() {
    let mut r = lab();
    r.session.comparisons = vec![vec!["case_1".into(), "case_3".into()]];
    let (html, md) = render(&r, &Options::default());
    let m = model::build(&r, &r.session.comparisons, None);
    let d = &m.pairs[0].decision;
    for doc in [&html, &md] {
        assert!(doc.contains("Recommendations"), "{doc}");
        for a in &m.advice {
            assert!(doc.contains(&a.tool) && doc.contains("costs most"));
        }
        assert!(doc.contains(&d.overall), "{}", d.overall);
        for row in &d.rows {
            assert!(doc.contains(row.aspect.title()));
            if let Some(r) = row.a_rating {
                assert!(doc.contains(r.as_str()));
            }
        }
        assert!(doc.contains("reliability") && doc.contains("stability score"));
    }
}

#[test]
fn every_case_is_rated_in_both_documents_without_a_pair() {
    let r = lab();
    assert!(r.session.comparisons.is_empty());
    let (html, md) = render(&r, &Options::default());
    let m = model::build(&r, &[], None);
    // One row per case and environment the file has trials of.
    let mut groups: Vec<(String, String)> = r
        .trials
        .iter()
        .filter_map(|t| {
            Some((
                format!("{}::case_{}", t.tool_id.as_ref()?, t.case_id?),
                t.env.clone(),
            ))
        })
        .collect();
    groups.sort();
    groups.dedup();
    let got: Vec<(String, String)> = m
        .case_ratings
        .iter()
        .map(|c| (format!("{}::{}", c.tool, c.case), c.env.clone()))
        .collect();
    assert_eq!(got, groups);
    let th = &r.session.ratings;
    for c in &m.case_ratings {
        for (a, v, rating) in &c.aspects {
            let want = v.map(|v| th.of(*a).unwrap().rate(v.value));
            assert_eq!(*rating, want, "{c:?}");
        }
        assert!(c.stability_score.is_some_and(|s| (0.0..=10.0).contains(&s)));
        let row = format!("| {}::{} | {} |", c.tool, c.case, c.env);
        assert!(md.contains(&row), "{row}\n{md}");
        assert!(html.contains(&format!("{}::{}", c.tool, c.case)));
    }
    for doc in [&html, &md] {
        assert!(doc.contains("Ratings per case") && doc.contains("/10, reliability"));
    }
}

#[test]
fn the_regression_view_puts_the_largest_growth_first() {
    let now = lab();
    let mut then = lab();
    // Then, one trial lost 10 points less throughput than it does now.
    let name = "tool_001::case_1::host::throughput::multi_4_tcp";
    let t = then.trials.iter_mut().find(|t| t.name == name).unwrap();
    let m = t
        .analysis
        .comparison
        .as_mut()
        .unwrap()
        .metrics
        .get_mut("throughput_bps")
        .unwrap();
    let rel = m.rel_pct.as_mut().unwrap();
    rel.value += 10.0;
    let m = model::build(&now, &[], Some(("then.json", &then)));
    let (since, changes) = m.changes.unwrap();
    assert!(since.starts_with("then.json (session "));
    assert_eq!(changes[0].trial, name);
    assert_eq!(changes[0].family, "throughput_loss_pct");
    assert!((changes[0].growth.value - 10.0).abs() < 1e-9);
    assert!(changes[1..].iter().all(|c| c.growth.value.abs() < 1e-9));
}

#[test]
fn write_puts_both_files_in_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/out");
    let w = write(&lab(), &out, &Options::default()).unwrap();
    assert!(std::fs::read_to_string(&w.html)
        .unwrap()
        .starts_with("<!DOCTYPE html>"));
    assert!(std::fs::read_to_string(&w.markdown)
        .unwrap()
        .starts_with("## ebpf-perf"));
}

#[rstest::rstest]
#[case::all_exact(5, 5, None)]
#[case::some_on_shape(5, 2, Some("2 of the 5 significant comparisons are significant by the exact sign-flip p's q-values too, which assume nothing but the coin that ordered each pair; the other 3 rest on the t test's reading of a few pairs' shape (docs/experiment.md, \"Two q-values\")."))]
fn the_precision_paragraph_counts_the_labels_the_coin_alone_carries(
    #[case] significant: usize,
    #[case] significant_exact: usize,
    #[case] want: Option<&str>,
) {
    let mut r = lab();
    r.session.fdr = Some(results::Fdr {
        tool: None,
        comparisons: 48,
        significant,
        significant_exact,
        level: 0.05,
    });
    let said = model::precision(&r)
        .into_iter()
        .find(|l| l.contains(" significant comparisons are significant by the exact"));
    assert_eq!(said.as_deref(), want);
}

#[test]
fn hosts_that_could_not_run_a_case_are_listed_under_its_ratings_escaped() {
    let mut r = lab();
    for t in r.trials.iter_mut().filter(|t| t.case_id == Some(1)) {
        for run in t.blocks.iter_mut().flat_map(|b| &mut b.runs) {
            let s = run.tool_series.entry("host-server".into()).or_default();
            s.prog_types = vec!["tracepoint".into(), "perf_event".into()];
        }
    }
    r.session.hosts.insert(
        "<b>old</b>".into(),
        serde_json::json!({"kernel": "4.4.0-210-generic"}),
    );
    let (html, md) = render(&r, &Options::default());
    // summary.md puts the host's own words in a code span (inert).
    assert!(
        md.contains("could not run what a case loaded")
            && md
                .contains("- tool_001::case_1 on host: `<b>old</b>: kernel 4.4 is older than 4.9`"),
        "{md}"
    );
    assert!(
        html.contains("could not run on: &lt;b&gt;old&lt;/b&gt;: kernel 4.4 is older than 4.9"),
        "the HTML list"
    );
    assert!(!html.contains("<b>old</b>"));
}
