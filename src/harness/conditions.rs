//! The condition check before a run (seed 002): the trials this run would
//! pair with a `--baseline-from` or `--compare-to` file must have been
//! measured there under the conditions this configuration sets (duration,
//! commands, bandwidth, streams). The hosts' kernel and NIC are checked
//! when each trial is paired, once the hosts have answered.

use crate::analysis::Earlier;
use crate::config::Config;
use crate::matrix::Matrix;
use indexmap::IndexMap;

/// Per earlier file: each difference and how many trials have it.
pub fn check(
    cfg: &Config,
    matrix: &Matrix,
    selected: &[usize],
    baseline_from: Option<&Earlier>,
    compare_to: Option<&Earlier>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (option, e, baseline) in [
        ("--baseline-from", baseline_from, true),
        ("--compare-to", compare_to, false),
    ] {
        let Some(e) = e else { continue };
        let mut found: IndexMap<String, usize> = IndexMap::new();
        for &i in selected {
            let t = &matrix.trials[i];
            let cycle = matrix.cycle_of(t);
            let name = if baseline {
                let v = &t.variant;
                crate::naming::trial_name_of(None, &cycle.env, v.test_type(), &v.name())
            } else {
                t.name.clone()
            };
            let (Some(then), Some(now)) = (
                e.index
                    .named(&e.results, &name)
                    .and_then(|x| x.conditions.as_ref()),
                crate::run::conditions::of(cfg, &t.variant, &cycle.env, None),
            ) else {
                continue;
            };
            for d in now.differences(then) {
                *found.entry(d).or_default() += 1;
            }
        }
        if !found.is_empty() {
            let list: Vec<String> = found
                .into_iter()
                .map(|(d, n)| format!("{d} ({n} trial{})", if n == 1 { "" } else { "s" }))
                .collect();
            out.push(format!(
                "{option} {} was measured under other conditions: {}",
                e.path,
                list.join("; ")
            ));
        }
    }
    out
}
