//! The interleaved schedule (docs/design.md §7): every selected eBPF case
//! is measured in pairs, each pair a baseline block and a tool block of
//! every active trial of the case, in an order a seeded coin flip chooses
//! per pair. The tool runs only during its side of a pair (one tool
//! episode serves one block of every trial of the case), so whatever
//! changes between episodes (CPU placement, frequency, a neighbour) changes
//! between pairs, and linear drift cancels. A baseline trial that no
//! selected eBPF trial is paired with is measured alone, in rounds.

use crate::matrix::Matrix;
use crate::results::Side;
use crate::stats::SplitMix;
use serde::Serialize;

/// Which block of a pair runs first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    BaselineFirst,
    ToolFirst,
}

impl Order {
    /// The sides in the order they run.
    pub fn sides(self) -> [Side; 2] {
        match self {
            Order::BaselineFirst => [Side::Baseline, Side::Tool],
            Order::ToolFirst => [Side::Tool, Side::Baseline],
        }
    }

    /// A side's place in the pair: 1 or 2.
    pub fn place(self, side: Side) -> u8 {
        if self.sides()[0] == side {
            1
        } else {
            2
        }
    }
}

/// FNV-1a of a text: a stable number for a cycle id (the order of a pair
/// must not depend on what else is selected).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The order inside pair `pair` (1-based) of case `cycle_id` under `seed`:
/// the `pair`-th draw of the case's own stream of coin flips, the same
/// for the same three whatever else runs.
pub fn order(seed: u64, cycle_id: &str, pair: u32) -> Order {
    let mut g = SplitMix(seed ^ fnv(cycle_id));
    for _ in 1..pair {
        g.next();
    }
    if g.next() >> 63 == 0 {
        Order::BaselineFirst
    } else {
        Order::ToolFirst
    }
}

/// A seed for a session that was given none: the clock and the process.
pub fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    SplitMix(nanos ^ u64::from(std::process::id()) << 32).next()
}

/// One eBPF case's share of the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The eBPF cycle (matrix index).
    pub cycle: usize,
    /// Its selected trials and the baseline trial each is paired with
    /// (matrix indices), in matrix order; none when the baseline is not
    /// measured here (`--baseline-from` has it): tool blocks only.
    pub trials: Vec<(usize, Option<usize>)>,
}

/// Baseline trials of one environment measured alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alone {
    /// The baseline cycle (matrix index).
    pub cycle: usize,
    pub trials: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub seed: u64,
    pub cases: Vec<Case>,
    pub alone: Vec<Alone>,
}

/// The baseline trial an eBPF trial is paired with: same environment,
/// test type and variant.
pub fn baseline_of(m: &Matrix, t: usize) -> Option<usize> {
    let trial = &m.trials[t];
    let env = &m.cycle_of(trial).env;
    m.cycles
        .iter()
        .filter(|c| c.is_baseline() && &c.env == env)
        .flat_map(|c| c.trials.clone())
        .find(|&b| m.trials[b].variant == trial.variant)
}

/// The schedule of the selected trials (matrix indices, which hold the
/// baselines their eBPF trials are paired with).
pub fn build(m: &Matrix, selected: &[usize], seed: u64) -> Schedule {
    let mut cases: Vec<Case> = Vec::new();
    let mut paired: Vec<usize> = Vec::new();
    for &t in selected {
        let c = m.trials[t].cycle;
        if m.cycles[c].is_baseline() {
            continue;
        }
        let b = baseline_of(m, t).filter(|b| selected.contains(b));
        paired.extend(b);
        match cases.iter_mut().find(|x| x.cycle == c) {
            Some(x) => x.trials.push((t, b)),
            None => cases.push(Case {
                cycle: c,
                trials: vec![(t, b)],
            }),
        }
    }
    let mut alone: Vec<Alone> = Vec::new();
    for &t in selected {
        let c = m.trials[t].cycle;
        if !m.cycles[c].is_baseline() || paired.contains(&t) {
            continue;
        }
        match alone.iter_mut().find(|x| x.cycle == c) {
            Some(x) => x.trials.push(t),
            None => alone.push(Alone {
                cycle: c,
                trials: vec![t],
            }),
        }
    }
    Schedule { seed, cases, alone }
}

/// The order libtest runs the trials in: the baselines no eBPF trial is
/// paired with (measured alone, first: a comparison with another session
/// measures the variance between sessions on them), then the eBPF trials
/// case by case, then the baselines whose blocks the cases measured (a
/// baseline's verdict is final only after the last pair it served).
pub fn trial_order(m: &Matrix, s: &Schedule) -> Vec<usize> {
    let alone = s.alone.iter().flat_map(|a| a.trials.iter().copied());
    let mut out: Vec<usize> = alone.collect();
    out.extend(
        s.cases
            .iter()
            .flat_map(|c| c.trials.iter().map(|(t, _)| *t)),
    );
    let mut paired: Vec<usize> = s
        .cases
        .iter()
        .flat_map(|c| c.trials.iter().filter_map(|(_, b)| *b))
        .collect();
    paired.sort_unstable();
    paired.dedup();
    // Baselines in matrix order after the eBPF trials.
    paired.sort_by_key(|&b| (m.trials[b].cycle, b));
    out.extend(paired);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_lab() -> Matrix {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/seed-lab");
        crate::matrix::build(&crate::config::load(&dir).unwrap())
    }

    #[test]
    fn a_seed_replays_every_order_and_the_coin_is_fair() {
        let orders: Vec<Order> = (1..=2000)
            .map(|p| order(7, "tool_001_case_1_host", p))
            .collect();
        let again: Vec<Order> = (1..=2000)
            .map(|p| order(7, "tool_001_case_1_host", p))
            .collect();
        assert_eq!(orders, again);
        let first = orders
            .iter()
            .filter(|o| **o == Order::BaselineFirst)
            .count();
        // 2000 fair flips: 1000 ± 4.4 standard deviations (22.4 each).
        assert!(
            (900..=1100).contains(&first),
            "{first} of 2000 baseline first"
        );
        let other: Vec<Order> = (1..=2000)
            .map(|p| order(8, "tool_001_case_1_host", p))
            .collect();
        assert_ne!(orders, other, "another seed, other orders");
    }

    #[test]
    fn each_case_pairs_its_trials_with_their_baselines_and_baselines_run_last() {
        let m = seed_lab();
        let f = crate::filter::Filter {
            terms: vec!["case_5".into(), "host".into(), "throughput".into()],
            ..Default::default()
        };
        let (sel, added) =
            crate::filter::with_baselines(&m, &crate::filter::select(&m, &f), |_| false);
        assert_eq!(added, 10);
        let s = build(&m, &sel, 1);
        assert_eq!(s.cases.len(), 1);
        assert!(s.alone.is_empty());
        for &(t, b) in &s.cases[0].trials {
            let b = b.expect("its baseline is selected");
            assert!(m.cycles[m.trials[b].cycle].is_baseline());
            assert_eq!(m.trials[t].variant, m.trials[b].variant);
        }
        let order = trial_order(&m, &s);
        assert_eq!(order.len(), 20);
        assert!(order[..10]
            .iter()
            .all(|&t| !m.cycle_of(&m.trials[t]).is_baseline()));
        assert!(order[10..]
            .iter()
            .all(|&t| m.cycle_of(&m.trials[t]).is_baseline()));
    }

    #[test]
    fn baselines_measured_alone_come_first_and_paired_ones_last() {
        let m = seed_lab();
        let pick = |terms: &[&str]| {
            let f = crate::filter::Filter {
                terms: terms.iter().map(|t| t.to_string()).collect(),
                exact: true,
                ..Default::default()
            };
            crate::filter::select(&m, &f)
        };
        let ebpf = m
            .trials
            .iter()
            .position(|t| t.name.starts_with("tool_") && t.name.contains("::host::latency::tcp_rr"))
            .unwrap();
        let paired = baseline_of(&m, ebpf).unwrap();
        let alone = m
            .trials
            .iter()
            .position(|t| t.name == "baseline::host::throughput::single_tcp_1G")
            .unwrap();
        let names = [
            &m.trials[ebpf].name,
            &m.trials[paired].name,
            &m.trials[alone].name,
        ];
        let sel = pick(&names.map(|n| n.as_str()));
        assert_eq!(sel.len(), 3);
        let s = build(&m, &sel, 1);
        assert_eq!(trial_order(&m, &s), [alone, ebpf, paired]);
    }

    #[test]
    fn a_baseline_without_an_ebpf_trial_is_measured_alone() {
        let m = seed_lab();
        let f = crate::filter::Filter {
            terms: vec!["baseline".into(), "latency".into()],
            ..Default::default()
        };
        let sel = crate::filter::select(&m, &f);
        let s = build(&m, &sel, 1);
        assert!(s.cases.is_empty());
        assert_eq!(
            s.alone.iter().map(|a| a.trials.len()).sum::<usize>(),
            sel.len()
        );
    }
}
