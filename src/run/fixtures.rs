//! Fixture scopes (docs/design.md §5), as pytest's: global (once per session), tool
//! (per tool per environment), case (per eBPF case per environment, and the
//! baseline of an environment), test (per trial). A scope is entered lazily by
//! its first selected trial and left right after its last one; this module
//! works out which scopes a trial needs and where each one ends.

use crate::matrix::Matrix;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScopeKey {
    Global,
    Tool {
        tool: String,
        env: String,
    },
    /// A cycle: an eBPF case (or the baseline) in one environment.
    Case {
        cycle: usize,
    },
}

impl ScopeKey {
    /// Nesting depth: inner scopes are left first.
    pub fn depth(&self) -> u8 {
        match self {
            ScopeKey::Global => 0,
            ScopeKey::Tool { .. } => 1,
            ScopeKey::Case { .. } => 2,
        }
    }

    pub fn label(&self, m: &Matrix) -> String {
        match self {
            ScopeKey::Global => "global".into(),
            ScopeKey::Tool { tool, env } => format!("tool {tool} on {env}"),
            ScopeKey::Case { cycle } => format!("case {}", m.cycles[*cycle].id),
        }
    }
}

/// The scopes trial `t` runs inside, outermost first.
pub fn scopes_of(m: &Matrix, t: usize) -> Vec<ScopeKey> {
    let c = m.trials[t].cycle;
    let cycle = &m.cycles[c];
    let mut v = vec![ScopeKey::Global];
    if let Some(cc) = &cycle.case {
        v.push(ScopeKey::Tool {
            tool: cc.tool_id.clone(),
            env: cycle.env.clone(),
        });
    }
    v.push(ScopeKey::Case { cycle: c });
    v
}

/// For each scope the selected trials need, the last selected trial in it.
pub fn last_trials(m: &Matrix, selected: &[usize]) -> HashMap<ScopeKey, usize> {
    let mut last = HashMap::new();
    for &t in selected {
        for k in scopes_of(m, t) {
            last.insert(k, t);
        }
    }
    last
}

/// Scopes whose last selected trial is `t`, innermost first.
pub fn ending_after(last: &HashMap<ScopeKey, usize>, t: usize) -> Vec<ScopeKey> {
    let mut v: Vec<ScopeKey> = last
        .iter()
        .filter(|(_, &l)| l == t)
        .map(|(k, _)| k.clone())
        .collect();
    v.sort_by_key(|k| std::cmp::Reverse(k.depth()));
    v
}

/// Environments the selected trials run in, in matrix order.
pub fn environments(m: &Matrix, selected: &[usize]) -> Vec<String> {
    let mut envs: Vec<String> = Vec::new();
    for &t in selected {
        let e = &m.cycles[m.trials[t].cycle].env;
        if !envs.contains(e) {
            envs.push(e.clone());
        }
    }
    envs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Filter;

    fn seed() -> Matrix {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/seed-lab");
        crate::matrix::build(&crate::config::load(&dir).unwrap())
    }

    fn select(m: &Matrix, terms: &[&str]) -> Vec<usize> {
        let f = Filter {
            terms: terms.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        crate::filter::select(m, &f)
    }

    #[test]
    fn filtered_run_needs_only_its_own_scopes() {
        let m = seed();
        let sel = select(&m, &["case_5", "host", "throughput"]);
        let last = last_trials(&m, &sel);
        let mut keys: Vec<String> = last.keys().map(|k| k.label(&m)).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "case tool_002_case_5_host",
                "global",
                "tool tool_002 on host"
            ]
        );
        assert_eq!(environments(&m, &sel), ["host"]);
        // All three end after the last selected trial, innermost first.
        let end = ending_after(&last, *sel.last().unwrap());
        assert_eq!(end.iter().map(|k| k.depth()).collect::<Vec<_>>(), [2, 1, 0]);
        assert!(ending_after(&last, sel[0]).is_empty());
    }

    #[test]
    fn each_case_ends_after_its_last_trial_and_the_tool_after_its_last_case() {
        let m = seed();
        let sel = select(&m, &["tool_001"]);
        let last = last_trials(&m, &sel);
        let case1_last = sel[15];
        assert_eq!(
            ending_after(&last, case1_last),
            [ScopeKey::Case {
                cycle: m.trials[case1_last].cycle
            }]
        );
        let tool_end = ending_after(&last, *sel.last().unwrap());
        assert_eq!(tool_end.len(), 3, "case 4, tool_001 on host, global");
    }
}
