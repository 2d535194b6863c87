//! Fixture scopes (docs/design.md §5), as pytest's: global (once per
//! session), tool (per tool per environment), case (per eBPF case per
//! environment, and the baseline of an environment measured alone), test
//! (one block of a trial). Inside a case, each tool episode runs the eBPF
//! program for one side of a pair. The harness enters a case when its
//! schedule reaches it and leaves it when its pairs are done; this module
//! says which scopes a cycle needs.

use crate::matrix::Matrix;

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

/// The scopes cycle `c` runs inside, outermost first.
pub fn scopes_of_cycle(m: &Matrix, c: usize) -> Vec<ScopeKey> {
    let mut v = vec![ScopeKey::Global];
    v.extend(tool_key(m, c));
    v.push(ScopeKey::Case { cycle: c });
    v
}

/// The tool scope of cycle `c` (none for a baseline).
pub fn tool_key(m: &Matrix, c: usize) -> Option<ScopeKey> {
    let cycle = &m.cycles[c];
    cycle.case.as_ref().map(|cc| ScopeKey::Tool {
        tool: cc.tool_id.clone(),
        env: cycle.env.clone(),
    })
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

    #[test]
    fn a_case_runs_in_global_its_tool_and_itself_and_a_baseline_in_global_and_itself() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/seed-lab");
        let m = crate::matrix::build(&crate::config::load(&dir).unwrap());
        let ebpf = m.cycles.iter().position(|c| !c.is_baseline()).unwrap();
        let labels: Vec<String> = scopes_of_cycle(&m, ebpf)
            .iter()
            .map(|k| k.label(&m))
            .collect();
        assert_eq!(
            labels,
            [
                "global",
                "tool tool_001 on host",
                "case tool_001_case_1_host"
            ]
        );
        assert_eq!(
            scopes_of_cycle(&m, 0)
                .iter()
                .map(|k| k.depth())
                .collect::<Vec<_>>(),
            [0, 2]
        );
    }
}
