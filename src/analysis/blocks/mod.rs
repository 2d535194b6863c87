//! Bracketing (docs/design.md §7): a baseline measured in blocks through the
//! session. An eBPF trial is compared with the baseline blocks nearest in
//! time, the last one before it and the first one after it; when those two
//! differ by more than the precision target, the baseline drifted and the
//! trial's verdicts on that metric are inconclusive.

use crate::results::{Drift, Name, Run, TrialResult};
use crate::stats::{self, Summary};
use std::collections::BTreeMap;

/// A baseline's blocks around one trial.
pub struct Around<'a> {
    pub before: &'a [Run],
    pub after: Option<&'a [Run]>,
}

impl Around<'_> {
    /// Both blocks' runs, the baseline of the comparison.
    pub fn runs(&self) -> Vec<&Run> {
        self.before
            .iter()
            .chain(self.after.into_iter().flatten())
            .collect()
    }
}

fn span(runs: &[Run]) -> Option<(&str, &str)> {
    Some((runs.first()?.start.as_str(), runs.last()?.end.as_str()))
}

/// The blocks of `base` around `t`: the last that ended before `t` began
/// (the first block when none did) and the first that began after `t`
/// ended. Timestamps are `log_timestamp`s, which sort as text.
pub fn around<'a>(base: &'a TrialResult, t: &TrialResult) -> Around<'a> {
    let blocks: Vec<&'a [Run]> = std::iter::once(base.runs.as_slice())
        .chain(base.blocks.iter().map(|b| b.runs.as_slice()))
        .filter(|r| !r.is_empty())
        .collect();
    let Some((began, ended)) = span(&t.runs) else {
        return Around {
            before: &base.runs,
            after: None,
        };
    };
    let before = blocks
        .iter()
        .rev()
        .find(|b| span(b).is_some_and(|(_, end)| end <= began))
        .or(blocks.first())
        .copied()
        .unwrap_or(&base.runs);
    let after = blocks
        .iter()
        .find(|b| span(b).is_some_and(|(start, _)| start >= ended))
        .copied();
    Around { before, after }
}

/// Statistics of every metric of some runs, floored at each metric's
/// resolution.
pub fn summarize(runs: &[&Run]) -> BTreeMap<Name, Summary> {
    // All (metric, value) pairs of all runs, sorted by metric: each metric's
    // column is then one slice, and the map is built from sorted input.
    let mut pairs: Vec<(&str, f64)> = runs
        .iter()
        .flat_map(|r| r.metrics.iter().map(|(k, v)| (k.as_str(), *v)))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut column = Vec::with_capacity(runs.len());
    pairs
        .chunk_by(|a, b| a.0 == b.0)
        .filter_map(|c| {
            column.clear();
            column.extend(c.iter().map(|p| p.1));
            let name = c[0].0;
            let s = stats::summarize_in(&mut column)?;
            let step = crate::metrics::step_of(name, s.mean);
            Some((name.into(), s.with_step(step)))
        })
        .collect()
}

/// The compared metrics that moved between the blocks by more than
/// `limit_pct` of the earlier one, beyond doubt: the move's 95 % interval
/// excludes zero and its estimate is past the limit. Noise alone does not
/// make drift; a real move smaller than the precision target does not
/// either, as the comparison's interval already holds it.
pub fn drift(around: &Around<'_>, limit_pct: f64) -> Vec<Drift> {
    let Some(after) = around.after else {
        return Vec::new();
    };
    let b: Vec<&Run> = around.before.iter().collect();
    let a: Vec<&Run> = after.iter().collect();
    let (sb, sa) = (summarize(&b), summarize(&a));
    crate::metrics::compared()
        .filter_map(|m| {
            let (x, y) = (sb.get(m.name)?, sa.get(m.name)?);
            let change = stats::difference(x, y).rel_pct?;
            (change.significant() && change.value.abs() > limit_pct).then(|| Drift {
                metric: m.name.into(),
                before_mean: x.mean,
                after_mean: y.mean,
                change_pct: change,
                limit_pct,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
