//! When the baselines are measured again (bracketing, docs/design.md §7):
//! after every K eBPF cases, after M minutes of them, and after the last
//! one. The driver runs the blocks; analysis compares each eBPF trial with
//! the blocks around it.

use crate::matrix::Matrix;
use std::time::{Duration, Instant};

pub struct Bracket {
    every_cases: u32,
    every: Option<Duration>,
    /// The last selected eBPF trial (matrix index).
    last_ebpf: Option<usize>,
    cases: u32,
    since: Instant,
    /// This run's eBPF trials since the last block (results index, and
    /// whether it was its case's last).
    pub pending: Vec<(usize, bool)>,
}

impl Bracket {
    pub fn new(cfg: &crate::config::Config, matrix: &Matrix, selected: &[usize]) -> Bracket {
        let (every_cases, every) = cfg.perf.bracketing();
        Bracket {
            every_cases,
            every,
            last_ebpf: selected
                .iter()
                .rev()
                .copied()
                .find(|&t| matrix.cycle_of(&matrix.trials[t]).case.is_some()),
            cases: 0,
            since: Instant::now(),
            pending: Vec::new(),
        }
    }

    /// Notes eBPF trial `t` (matrix index), stored at results index `idx`;
    /// says whether a block is due now.
    pub fn after(&mut self, t: usize, idx: usize, case_last: bool) -> bool {
        if self.every_cases == 0 {
            return false;
        }
        self.pending.push((idx, case_last));
        if !case_last {
            return false;
        }
        self.cases += 1;
        self.cases >= self.every_cases
            || self.every.is_some_and(|d| self.since.elapsed() >= d)
            || self.last_ebpf == Some(t)
    }

    /// A block ran: start counting again.
    pub fn reset(&mut self) -> Vec<(usize, bool)> {
        self.cases = 0;
        self.since = Instant::now();
        std::mem::take(&mut self.pending)
    }
}
