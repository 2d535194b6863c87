//! A case in pairs (docs/design.md §7): pair after pair, a baseline block
//! and a tool block of every active trial of the case, in the order the
//! schedule's coin gave the pair; the tool runs for its side only (one
//! episode). After each pair from the minimum on, every active trial asks
//! the stopping rule, which reads the width of its pair-level interval
//! only; a trial that stops (or fails) is decided then, for good. Baselines
//! without an eBPF trial to pair with are measured alone, in rounds.

use super::Driver;
use crate::precision::{self, Plan, State};
use crate::results::{Block, Side, Status, TrialResult};
use crate::run::StepError;
use crate::schedule::{self, Order};
use std::time::Instant;

/// The step of the error that says the eBPF program exited.
const PROGRAM_STEP: &str = "eBPF program";

/// An active trial of a case: its eBPF trial, its baseline (none when an
/// earlier results file has it), and its plan.
#[derive(Clone, Copy)]
struct Active {
    ebpf: usize,
    baseline: Option<usize>,
    plan: Plan,
}

impl Driver {
    /// The results entry of trial `t` (matrix index), made on first use.
    pub(super) fn slot_of(&mut self, t: usize) -> usize {
        if let Some(&i) = self.slot.get(&t) {
            return i;
        }
        let m = self.runner.matrix();
        let trial = &m.trials[t];
        let cycle = m.cycle_of(trial);
        let v = &trial.variant;
        let mut r = TrialResult::new(&trial.name, &cycle.id, &cycle.env, v.test_type(), v.name());
        if let Some(c) = &cycle.case {
            r.tool_id = Some(c.tool_id.clone());
            r.case_id = Some(c.case.id);
            r.case_name = Some(c.case.name.clone());
        }
        r.rate_cap_bps = self.runner.rate_cap_bps(t);
        r.compared_only = self.compared_only.contains(&t);
        self.results.trials.push(r);
        self.lines.push(Vec::new());
        let idx = self.results.trials.len() - 1;
        self.index.add(&self.results, idx);
        self.slot.insert(t, idx);
        idx
    }

    /// Fails trial `t` with `e` (the first error it met is kept).
    fn fail(&mut self, t: usize, e: &StepError) {
        let idx = self.slot_of(t);
        let r = &mut self.results.trials[idx];
        if r.error.is_none() {
            r.error = Some(e.to_string());
            r.error_detail = e.detail();
        }
        r.status = Status::Failed;
    }

    /// Judges trial `t` on what it has and marks it decided; the last
    /// trial of a case decided (`case_last`) gets the leak check.
    pub(super) fn decide(&mut self, t: usize, case_last: bool) {
        let idx = self.slot_of(t);
        self.results.trials[idx].duration_s = self.results.trials[idx]
            .blocks
            .iter()
            .map(|b| b.duration_s)
            .sum();
        if self.results.trials[idx].conditions.is_none() {
            self.results.trials[idx].conditions = self.runner.conditions(t);
        }
        if !self.results.trials[idx].ran() && self.results.trials[idx].error.is_none() {
            let t = &self.results.trials[idx];
            self.results.trials[idx].error = Some(if t.is_baseline() && t.blocks.is_empty() {
                "not measured: the eBPF trials paired with it ended before its first block".into()
            } else {
                "no block ran".into()
            });
        }
        let sources = crate::analysis::Sources {
            baseline_from: self.baseline_from.as_ref(),
            compare_to: self.compare_to.as_ref(),
        };
        crate::analysis::analyze(
            &mut self.results,
            &self.index,
            idx,
            &self.settings,
            &sources,
            case_last,
        );
        crate::analysis::control_fdr(&mut self.results);
        let passed = self.results.trials[idx].status == Status::Passed;
        self.runner.note_outcome(passed);
        self.decided.insert(t);
        if let Some(p) = &mut self.progress {
            p.decided(t);
        }
    }

    /// Stores block `b` of trial `t`; an error in it fails the trial.
    fn record(&mut self, t: usize, run: crate::run::BlockRun) {
        let idx = self.slot_of(t);
        if let Some(e) = &run.error {
            self.fail(t, e);
        }
        if !run.lines.is_empty() {
            self.lines[idx] = run.lines;
        }
        self.results.trials[idx].blocks.push(run.block);
    }

    /// Shows on the live line (a terminal) what runs now.
    fn show(&self, what: &str) {
        if let Some(live) = &self.live {
            live.detail(what);
        }
    }

    /// Runs case `c` of the schedule in pairs until every trial of it is
    /// decided.
    pub(super) fn run_case(&mut self, c: usize) {
        let case = self.schedule.cases[c].clone();
        let cycle = case.cycle;
        let cycle_id = self.runner.matrix().cycles[cycle].id.clone();
        let mut active: Vec<Active> = case
            .trials
            .iter()
            .map(|&(ebpf, baseline)| Active {
                ebpf,
                baseline,
                plan: self.plan_of(ebpf),
            })
            .collect();
        for a in &active {
            self.slot_of(a.ebpf);
            if let Some(b) = a.baseline {
                self.slot_of(b);
            }
        }
        if let Err(e) = self.runner.enter_case(cycle) {
            for a in &active {
                self.fail(a.ebpf, &e);
                self.decide(a.ebpf, false);
            }
            self.leave(c);
            return;
        }
        let min = active.iter().map(|a| a.plan.min_pairs).max().unwrap_or(0);
        if self.live.is_none() && super::super::progress::shared_stream() {
            // libtest's `test NAME ... ` waits on this line for its verdict.
            eprintln!();
        }
        let mut pair = 0u32;
        while !active.is_empty() {
            pair += 1;
            let order = schedule::order(self.schedule.seed, &cycle_id, pair);
            eprintln!(
                "ebpf-perf: {cycle_id}: pair {pair} ({}), {} trial{}{}",
                match order {
                    Order::BaselineFirst => "baseline first",
                    Order::ToolFirst => "tool first",
                },
                active.len(),
                if active.len() == 1 { "" } else { "s" },
                if pair <= min {
                    format!(", at least {min} pairs")
                } else {
                    String::new()
                }
            );
            if let Err(e) = self.one_pair(&cycle_id, pair, order, &active) {
                for a in &active {
                    self.fail(a.ebpf, &e);
                }
            }
            self.save_results();
            if self.runner.interrupted() {
                self.abort();
            }
            active = self.still_active(active);
        }
        self.leave(c);
    }

    /// Leaves case `c`'s scope (and its tool's after its last case).
    fn leave(&mut self, c: usize) {
        let m = self.runner.matrix();
        let cycle = self.schedule.cases[c].cycle;
        let tool = m.cycles[cycle]
            .case
            .as_ref()
            .map(|x| (x.tool_id.clone(), m.cycles[cycle].env.clone()));
        let later = self.schedule.cases[c + 1..].iter().any(|x| {
            let cy = &m.cycles[x.cycle];
            cy.case
                .as_ref()
                .map(|y| (y.tool_id.clone(), cy.env.clone()))
                == tool
        });
        self.runner.leave_case(cycle, !later);
    }

    /// One pair: both sides, the tool's as one episode. `Err`: the episode
    /// failed (it could not start, or its program died), which fails the
    /// case's active trials.
    fn one_pair(
        &mut self,
        case: &str,
        pair: u32,
        order: Order,
        active: &[Active],
    ) -> Result<(), StepError> {
        for side in order.sides() {
            if side == Side::Tool {
                self.show(&format!("{case}: pair {pair}, starting the tool"));
                let started = self.runner.start_episode(pair);
                self.note_episode(case, pair, started.as_ref().ok());
                if let Err(e) = started {
                    // What did start is stopped with the case scope.
                    let _ = self.runner.stop_episode();
                    return Err(e);
                }
            }
            for a in active {
                if self.has_failed(a.ebpf) {
                    continue;
                }
                let target = match (side, a.baseline) {
                    (Side::Tool, _) => a.ebpf,
                    (Side::Baseline, Some(b)) => b,
                    (Side::Baseline, None) => continue,
                };
                let v = self.runner.matrix().trials[target].variant.name();
                self.show(&format!("{case}: pair {pair}, {}: {v}", side.as_str()));
                let mut run = self.runner.block(target, side);
                run.block.pair = pair;
                run.block.order = order.place(side);
                if side == Side::Baseline {
                    // The baseline trial keeps the block too, and its lines.
                    let mut block = run.block.clone();
                    block.case = Some(case.to_string());
                    let lines = std::mem::take(&mut run.lines);
                    let error = run.error.clone();
                    self.record(
                        target,
                        crate::run::BlockRun {
                            block,
                            lines,
                            error,
                        },
                    );
                }
                let died = run
                    .error
                    .clone()
                    .filter(|e| side == Side::Tool && e.step == PROGRAM_STEP);
                self.record(a.ebpf, run);
                if self.runner.interrupted() {
                    return Err(StepError::interrupted("block"));
                }
                // The program died: the rest of the case fails at once.
                if let Some(e) = died {
                    let _ = self.runner.stop_episode();
                    return Err(e);
                }
            }
            if side == Side::Tool {
                let t0 = Instant::now();
                let stopped = self.runner.stop_episode();
                if let Some(e) = self.results.session.episodes.last_mut() {
                    e.stop_s = t0.elapsed().as_secs_f64();
                }
                stopped?;
            }
        }
        Ok(())
    }

    /// Records an episode's start in the session (what toggling the tool
    /// costs is measured on every run).
    fn note_episode(&mut self, case: &str, pair: u32, s: Option<&crate::run::EpisodeStarted>) {
        self.results.session.episodes.push(crate::results::Episode {
            case: case.to_string(),
            pair,
            started: crate::naming::log_timestamp(chrono::Utc::now()),
            ready_s: s.map(|s| s.ready_s),
            start_s: s.map(|s| s.total_s),
            stop_s: 0.0,
        });
    }

    fn has_failed(&self, t: usize) -> bool {
        self.slot
            .get(&t)
            .is_some_and(|&i| self.results.trials[i].error.is_some())
    }

    /// The trials that go on after a pair; the others are decided now (the
    /// case's last one with the leak check).
    fn still_active(&mut self, active: Vec<Active>) -> Vec<Active> {
        let mut keep = Vec::new();
        let mut done = Vec::new();
        for a in active {
            let idx = self.slot_of(a.ebpf);
            if self.has_failed(a.ebpf) {
                done.push(a.ebpf);
                continue;
            }
            let st = pair_state(&self.results.trials[idx]);
            let headline = crate::metrics::headline(self.results.trials[idx].test_type);
            match precision::check(&a.plan, headline, &st) {
                Some(stop) => {
                    self.results.trials[idx].stop = Some(stop);
                    done.push(a.ebpf);
                }
                None => keep.push(a),
            }
        }
        let last = done.len();
        for (i, t) in done.into_iter().enumerate() {
            self.decide(t, keep.is_empty() && i + 1 == last);
        }
        keep
    }

    /// Measures baseline group `g` of the schedule alone, in rounds (no
    /// tool, no pairs), until each is precise enough or `--calibrate N`
    /// rounds ran.
    pub(super) fn run_alone(&mut self, g: usize) {
        let group = self.schedule.alone[g].clone();
        for &t in &group.trials {
            self.slot_of(t);
        }
        if let Err(e) = self.runner.enter_case(group.cycle) {
            for &t in &group.trials {
                self.fail(t, &e);
                self.decide(t, false);
            }
            self.runner.leave_case(group.cycle, false);
            return;
        }
        let mut active: Vec<(usize, Plan)> = group
            .trials
            .iter()
            .map(|&t| {
                let mut plan = self.plan_of(t);
                if let Some(n) = self.calibrate {
                    plan = Plan::fixed(plan.warmup, plan.runs, n);
                }
                (t, plan)
            })
            .collect();
        let mut round = 0;
        while !active.is_empty() {
            round += 1;
            for &(t, _) in &active {
                let v = self.runner.matrix().trials[t].variant.name();
                self.show(&format!("{v}: block {round}, measured alone"));
                let mut run = self.runner.block(t, Side::Baseline);
                run.block.pair = round;
                self.record(t, run);
                if self.runner.interrupted() {
                    self.save_results();
                    self.abort();
                }
            }
            self.save_results();
            let mut keep = Vec::new();
            for (t, plan) in active {
                let idx = self.slot_of(t);
                let trial = &self.results.trials[idx];
                let st = alone_state(trial);
                let headline = crate::metrics::headline(trial.test_type);
                match (self.has_failed(t), precision::check(&plan, headline, &st)) {
                    (true, _) => self.decide(t, false),
                    (false, Some(stop)) => {
                        self.results.trials[idx].stop = Some(stop);
                        self.decide(t, false);
                    }
                    (false, None) => keep.push((t, plan)),
                }
            }
            active = keep;
        }
        self.runner.leave_case(group.cycle, false);
    }

    /// A baseline trial its cases were to measure that has no block and
    /// no error: they ended (failed) before its first block.
    pub(super) fn unserved(&self, t: usize) -> bool {
        let m = self.runner.matrix();
        m.cycle_of(&m.trials[t]).is_baseline()
            && self.slot.get(&t).is_none_or(|&i| {
                let r = &self.results.trials[i];
                r.blocks.is_empty() && r.error.is_none()
            })
    }

    /// Measures `t` alone, with the other unserved baselines of its
    /// environment, as a baseline no case serves is.
    pub(super) fn run_unserved(&mut self, t: usize) {
        let cycle = self.runner.matrix().trials[t].cycle;
        let trials: Vec<usize> = (self.schedule.cases.iter())
            .flat_map(|c| c.trials.iter().filter_map(|(_, b)| *b))
            .filter(|&b| self.runner.matrix().trials[b].cycle == cycle)
            .filter(|b| !self.decided.contains(b) && self.unserved(*b))
            .fold(Vec::new(), |mut v, b| {
                if !v.contains(&b) {
                    v.push(b);
                }
                v
            });
        self.schedule
            .alone
            .push(crate::schedule::Alone { cycle, trials });
        self.run_alone(self.schedule.alone.len() - 1);
    }

    fn plan_of(&self, t: usize) -> Plan {
        let tt = self.runner.matrix().trials[t].variant.test_type();
        self.cfg.perf.plan(tt)
    }
}

/// Seconds of a trial's blocks, and of its slowest pair.
fn times(t: &TrialResult) -> (f64, f64) {
    let elapsed = t.blocks.iter().map(|b| b.duration_s).sum();
    let slowest = t
        .pairs()
        .iter()
        .map(|p| p.baseline.duration_s + p.tool.duration_s)
        .chain(t.own_blocks().map(|b: &Block| b.duration_s))
        .fold(0.0, f64::max);
    (elapsed, slowest)
}

/// What the stopping rule sees of an eBPF trial after a pair: the
/// half-width of its headline cost over its pairs (against an earlier
/// file's baseline: over its tool blocks).
fn pair_state(t: &TrialResult) -> State {
    let headline = crate::metrics::headline(t.test_type);
    state(t, crate::analysis::headline_half_width(t, headline), false)
}

/// The same for a baseline measured alone: its own mean's half-width.
fn alone_state(t: &TrialResult) -> State {
    let headline = crate::metrics::headline(t.test_type);
    let stats = crate::analysis::blocks::summarize(t.own_blocks());
    let half = stats.get(headline.name).and_then(|s| {
        let h = precision::half_width(s.ci95)?;
        (s.mean != 0.0).then(|| 100.0 * h / s.mean.abs())
    });
    state(t, half, true)
}

fn state(t: &TrialResult, half_width_pct: Option<f64>, alone: bool) -> State {
    let (elapsed_s, slowest_pair_s) = times(t);
    State {
        pairs: t.own_blocks().count() as u32,
        half_width_pct,
        elapsed_s,
        slowest_pair_s,
        alone,
    }
}
