//! Statistics of blocks (docs/design.md §7): the block is the unit, so a
//! trial's summary of a metric is over its blocks' means (each block one
//! stretch of time; on the tool side, one tool episode), floored at the
//! metric's resolution.

use crate::results::{Block, Name};
use crate::stats::{self, Summary};
use std::collections::BTreeMap;

/// Per metric, the summary of the blocks' means.
pub fn summarize<'a>(blocks: impl IntoIterator<Item = &'a Block>) -> BTreeMap<Name, Summary> {
    let mut columns: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for b in blocks {
        let mut sums: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
        for r in &b.runs {
            for (k, v) in r.metrics.iter().filter(|(_, v)| v.is_finite()) {
                let e = sums.entry(k.as_str()).or_default();
                e.0 += v;
                e.1 += 1;
            }
        }
        for (k, (sum, n)) in sums {
            columns.entry(k).or_default().push(sum / n as f64);
        }
    }
    columns
        .into_iter()
        .filter_map(|(name, mut column)| {
            let s = stats::summarize_in(&mut column)?;
            let step = crate::metrics::step_of(name, s.mean);
            Some((name.into(), s.with_step(step)))
        })
        .collect()
}

#[cfg(test)]
mod tests;
