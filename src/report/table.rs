//! The report's verdict table: one row per case and environment, one
//! column per budget family, each cell the worst verdict of its trials.

use crate::analysis::measure;
use crate::metrics::{self, BUDGETS};
use crate::readout as lines;
use crate::results::{Results, Status, TrialResult};
use crate::stats::{Estimate, Verdict};
use std::collections::BTreeMap;

/// The verdict table's columns: one per budget family, in `BUDGETS` order.
pub fn families() -> impl Iterator<Item = &'static str> {
    BUDGETS.iter().map(|b| b.name)
}

/// A budget family's short column header.
pub fn family_title(name: &str) -> &'static str {
    metrics::budget(name).map_or("?", |b| b.title)
}

/// How a row or cell reads at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mark {
    /// Measured, no budget for it.
    Measured,
    Within,
    Inconclusive,
    Exceeded,
    /// The run itself failed: no numbers to judge.
    Broken,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Measured => "measured",
            Mark::Within => "within",
            Mark::Inconclusive => "inconclusive",
            Mark::Exceeded => "exceeded",
            Mark::Broken => "failed",
        }
    }

    fn of(v: Verdict) -> Mark {
        match v {
            Verdict::Within => Mark::Within,
            Verdict::Inconclusive => Mark::Inconclusive,
            Verdict::Exceeded => Mark::Exceeded,
        }
    }
}

/// One cell: the worst trial of the row for this family.
#[derive(Debug, Clone)]
pub struct Cell {
    pub value: Estimate,
    pub budget: Option<f64>,
    pub mark: Mark,
    /// `test_type/variant` of the trial it came from.
    pub from: String,
}

impl Cell {
    /// `12.3 [10.1, 14.5]`.
    pub fn text(&self) -> String {
        format!(
            "{} {}",
            lines::num(self.value.value),
            lines::interval(&self.value, "")
        )
    }
}

/// One row of the verdict table: a tool's case on one environment.
#[derive(Debug, Clone)]
pub struct Row {
    pub tool: String,
    pub case: String,
    pub case_name: String,
    pub env: String,
    pub cycle: String,
    /// Indices of the row's trials in the results file.
    pub trials: Vec<usize>,
    pub cells: Vec<Option<Cell>>,
    pub mark: Mark,
    pub failures: Vec<String>,
}

impl Row {
    /// How far over its budget the row's worst cell is (1 = at the budget).
    pub fn severity(&self) -> f64 {
        self.cells
            .iter()
            .flatten()
            .filter_map(|c| Some(c.value.value / c.budget.filter(|b| *b > 0.0)?))
            .fold(0.0, f64::max)
    }
}

fn case_label(t: &TrialResult) -> String {
    t.case_id.map(|id| format!("case_{id}")).unwrap_or_default()
}

/// The cell of one family over a row's trials: the largest cost.
fn cell(r: &Results, trials: &[usize], family: &str) -> Option<Cell> {
    trials
        .iter()
        .filter_map(|&i| {
            let t = &r.trials[i];
            let value = measure(family, &t.analysis)?;
            let b = t.analysis.budgets.iter().find(|b| b.name == family);
            Some(Cell {
                value,
                budget: b.map(|b| b.limit),
                mark: b.map_or(Mark::Measured, |b| Mark::of(b.verdict)),
                from: format!("{}/{}", t.test_type, t.variant),
            })
        })
        .max_by(|x, y| {
            (x.mark, x.value.value)
                .partial_cmp(&(y.mark, y.value.value))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
}

pub fn rows(r: &Results) -> Vec<Row> {
    let mut by: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, t) in r.trials.iter().enumerate() {
        if let Some(tool) = &t.tool_id {
            by.entry((tool.clone(), case_label(t), t.env.clone()))
                .or_default()
                .push(i);
        }
    }
    let mut rows: Vec<Row> = by
        .into_iter()
        .map(|((tool, case, env), trials)| {
            let first = &r.trials[trials[0]];
            let cells: Vec<Option<Cell>> = families().map(|f| cell(r, &trials, f)).collect();
            let broken = trials.iter().any(|&i| !r.trials[i].ran());
            let mark = if broken {
                Mark::Broken
            } else {
                cells
                    .iter()
                    .flatten()
                    .map(|c| c.mark)
                    .max()
                    .unwrap_or(Mark::Measured)
            };
            let failures = trials
                .iter()
                .map(|&i| &r.trials[i])
                .filter(|t| t.status == Status::Failed)
                .map(|t| format!("{}: {}", t.name, lines::failure_message(t)))
                .collect();
            Row {
                case_name: first.case_name.clone().unwrap_or_default(),
                cycle: first.cycle.clone(),
                tool,
                case,
                env,
                trials,
                cells,
                mark,
                failures,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (b.mark, b.severity())
            .partial_cmp(&(a.mark, a.severity()))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    rows
}
