//! Blocks: the unit of measurement of schema 2 (docs/design.md §7). A
//! block is one trial's runs in one stretch of time on one side of a pair;
//! an eBPF trial holds its pairs (a baseline block and a tool block each),
//! a baseline trial every baseline block it served. Files of schema 1 (runs
//! at the trial's level, blocks for re-measured baselines) load into the
//! same shape: their runs become the trial's first block.

use super::{Run, TrialResult};
use serde::{Deserialize, Serialize};

/// Which side of a pair a block measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Without the eBPF program.
    #[default]
    Baseline,
    /// While the eBPF program ran (one tool episode).
    Tool,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Baseline => "baseline",
            Side::Tool => "tool",
        }
    }
}

/// One block of a trial.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Block {
    /// Its pair in its case's schedule (1-based); for a baseline measured
    /// alone, its round.
    #[serde(default)]
    pub pair: u32,
    #[serde(default)]
    pub side: Side,
    /// 1 when it ran first in its pair, 2 second; 0 outside a pair.
    #[serde(default)]
    pub order: u8,
    /// In a baseline trial: the case (cycle id) whose pair it served.
    pub case: Option<String>,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    pub runs: Vec<Run>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warmups: Vec<Run>,
    /// `host:path` of the block's directory on each host.
    #[serde(default)]
    pub remote: Vec<String>,
    #[serde(default)]
    pub duration_s: f64,
    /// Why the block has no runs, or fewer than planned.
    pub error: Option<String>,
}

impl Block {
    /// The block's mean of a metric over its runs.
    pub fn mean(&self, metric: &str) -> Option<f64> {
        let v: Vec<f64> = self
            .runs
            .iter()
            .filter_map(|r| r.metrics.get(metric).copied())
            .filter(|v| v.is_finite())
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    }

    pub fn ran(&self) -> bool {
        self.error.is_none() && !self.runs.is_empty()
    }
}

/// A complete pair of an eBPF trial: both blocks ran.
#[derive(Debug, Clone, Copy)]
pub struct Pair<'a> {
    pub pair: u32,
    pub baseline: &'a Block,
    pub tool: &'a Block,
}

impl TrialResult {
    /// The side this trial's own runs are on: the tool's for an eBPF
    /// trial, the baseline's for a baseline.
    pub fn own_side(&self) -> Side {
        if self.is_baseline() {
            Side::Baseline
        } else {
            Side::Tool
        }
    }

    /// Its own blocks (see [`TrialResult::own_side`]), in time order.
    pub fn own_blocks(&self) -> impl Iterator<Item = &Block> {
        let side = self.own_side();
        self.blocks.iter().filter(move |b| b.side == side)
    }

    /// Every measured run of its own blocks, in time order.
    pub fn runs(&self) -> impl Iterator<Item = &Run> {
        self.own_blocks().flat_map(|b| &b.runs)
    }

    /// Its complete pairs (both blocks ran), in pair order.
    pub fn pairs(&self) -> Vec<Pair<'_>> {
        let mut out: Vec<Pair<'_>> = self
            .blocks
            .iter()
            .filter(|b| b.side == Side::Tool && b.ran() && b.order > 0)
            .filter_map(|t| {
                let baseline = self
                    .blocks
                    .iter()
                    .find(|b| b.side == Side::Baseline && b.pair == t.pair && b.ran())?;
                Some(Pair {
                    pair: t.pair,
                    baseline,
                    tool: t,
                })
            })
            .collect();
        out.sort_by_key(|p| p.pair);
        out
    }

    /// Schema 1: the trial-level runs become its first block.
    pub(super) fn upgrade(&mut self) {
        let runs = std::mem::take(&mut self.legacy_runs);
        if runs.is_empty() {
            return;
        }
        let side = self.own_side();
        for b in &mut self.blocks {
            b.side = side;
        }
        let block = Block {
            pair: 0,
            side,
            order: 0,
            case: None,
            start: runs.first().map(|r| r.start.clone()).unwrap_or_default(),
            end: runs.last().map(|r| r.end.clone()).unwrap_or_default(),
            runs,
            warmups: std::mem::take(&mut self.legacy_warmups),
            remote: std::mem::take(&mut self.legacy_remote),
            duration_s: self.duration_s,
            error: None,
        };
        self.blocks.insert(0, block);
        for (i, b) in self.blocks.iter_mut().enumerate() {
            b.pair = i as u32 + 1;
            if b.start.is_empty() {
                b.start = b.runs.first().map(|r| r.start.clone()).unwrap_or_default();
                b.end = b.runs.last().map(|r| r.end.clone()).unwrap_or_default();
            }
        }
    }
}
