//! What a person sees while the trials run: after each trial, one line on
//! stderr with the count, the time so far and an estimate of the time left,
//! and for an eBPF trial its headline overhead with its interval and its
//! worst budget verdict, e.g.
//! `[7/48] 1m12s, ETA 4m05s  tool_001::case_1::host::latency::tcp_rr  latency_mean_us +3.1 % [+1.20 %, +5.00 %]  within (worst: latency_p99_increase_pct 18.00 of 50)`.
//!
//! The estimate scales what the remaining trials are expected to take
//! ([`crate::matrix::expected_s`]) by how the
//! finished trials compared with that expectation, so that precision-driven
//! repeats and slow hosts are accounted for as the run goes.

use crate::config::Config;
use crate::matrix::Matrix;
use crate::readout;
use crate::results::{BudgetVerdict, Results, TrialResult};
use crate::stats::Verdict;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Where the run stands as a trial begins (for the live line).
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    /// This trial's number, of `n`.
    pub k: usize,
    pub n: usize,
    /// When the session began.
    pub session: Instant,
    /// The estimate of the time left, this trial included.
    pub eta: Duration,
}

pub struct Progress {
    started: Instant,
    /// Expected seconds per selected trial, by matrix index.
    expected: HashMap<usize, f64>,
    total: usize,
    done: usize,
    expected_done: f64,
}

impl Progress {
    pub fn new(cfg: &Config, matrix: &Matrix, s: &crate::schedule::Schedule) -> Progress {
        let mut expected: HashMap<usize, f64> = HashMap::new();
        for c in &s.cases {
            for &(t, b) in &c.trials {
                let v = &matrix.trials[t].variant;
                let sides = 1 + u32::from(b.is_some());
                expected.insert(t, crate::matrix::expected_s(cfg, v, sides, c.trials.len()));
                // Its blocks are the eBPF trials': nothing of its own.
                expected.extend(b.map(|b| (b, 0.0)));
            }
        }
        for a in &s.alone {
            for &t in &a.trials {
                let v = &matrix.trials[t].variant;
                expected.insert(t, crate::matrix::expected_s(cfg, v, 1, 0));
            }
        }
        Progress {
            started: Instant::now(),
            total: expected.len(),
            expected,
            done: 0,
            expected_done: 0.0,
        }
    }

    /// Where the run stands as the next trial begins, for the live line.
    pub fn running(&self) -> Standing {
        Standing {
            k: self.done + 1,
            n: self.total,
            session: self.started,
            eta: self.eta(),
        }
    }

    /// The time left: what the trials not done are expected to take, scaled
    /// by how the finished ones compared with their expectation.
    fn eta(&self) -> Duration {
        let left: f64 = self.expected.values().sum();
        let scale = if self.expected_done > 0.0 {
            self.started.elapsed().as_secs_f64() / self.expected_done
        } else {
            1.0
        };
        crate::untrusted::secs(left * scale)
    }

    /// Counts trial `t`'s expected time as spent: it was decided (a case
    /// decides all its trials before libtest prints the first of them).
    pub fn decided(&mut self, t: usize) {
        self.expected_done += self.expected.remove(&t).unwrap_or(0.0);
    }

    /// Counts trial `t` as done and gives its line (without the trial's name
    /// when `named` is false: libtest has printed it on the same line).
    pub fn trial_done(&mut self, t: usize, trial: &TrialResult, named: bool) -> String {
        self.done += 1;
        self.decided(t);
        let elapsed = self.started.elapsed();
        let eta = if self.expected.is_empty() {
            String::new()
        } else {
            format!(", ETA {}", clock(self.eta()))
        };
        let what = trial_line(trial);
        let what = if named {
            what
        } else {
            what.strip_prefix(&trial.name)
                .unwrap_or(&what)
                .trim_start()
                .to_string()
        };
        let head = format!("[{}/{}] {}{eta}", self.done, self.total, clock(elapsed));
        if what.is_empty() {
            head
        } else {
            format!("{head}  {what}")
        }
    }
}

/// `1h02m`, `4m05s`, `12s`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A trial's name and, for an eBPF trial, its headline overhead and its
/// worst budget verdict (the one nearest its limit among the worst kind).
pub fn trial_line(t: &TrialResult) -> String {
    let mut line = t.name.clone();
    if let Some(e) = &t.error {
        return format!("{line}  failed: {}", e.lines().next().unwrap_or(""));
    }
    let m = crate::metrics::headline(t.test_type).name;
    if let Some(rel) = t
        .analysis
        .comparison
        .as_ref()
        .and_then(|c| c.metrics.get(m))
        .and_then(|mc| mc.rel_pct.as_ref())
    {
        let ci = rel.ci95.map_or(String::new(), |[lo, hi]| {
            format!(" [{} %, {} %]", readout::signed(lo), readout::signed(hi))
        });
        line += &format!("  {m} {} %{ci}", readout::signed(rel.value));
    }
    if let Some(w) = worst(t) {
        line += &format!(
            "  {} (worst: {} {} of {})",
            w.verdict.as_str(),
            w.name,
            readout::num(w.measured.value),
            readout::num(w.limit)
        );
    }
    line
}

/// How bad a budget verdict is: its kind, then how much of its limit it
/// uses (of a minimum: how far the measure is from falling below it).
fn badness(b: &BudgetVerdict) -> (u8, f64) {
    let kind = match b.verdict {
        Verdict::Within => 0,
        Verdict::Inconclusive => 1,
        Verdict::Exceeded => 2,
    };
    let minimum = crate::metrics::budget(&b.name).is_some_and(|x| x.bound.is_minimum());
    let (part, whole) = if minimum {
        (b.limit, b.measured.value)
    } else {
        (b.measured.value, b.limit)
    };
    let used = if whole != 0.0 { part / whole } else { part };
    (kind, used)
}

fn worse(a: (u8, f64), b: (u8, f64)) -> std::cmp::Ordering {
    a.0.cmp(&b.0).then(a.1.total_cmp(&b.1))
}

/// A trial's worst budget verdict.
fn worst(t: &TrialResult) -> Option<&BudgetVerdict> {
    t.analysis
        .budgets
        .iter()
        .max_by(|a, b| worse(badness(a), badness(b)))
}

/// At the end: the costliest eBPF trials, worst first (by their worst
/// budget verdict, then how much of its limit it uses), at most `n`.
pub fn costliest(r: &Results, n: usize) -> Vec<String> {
    let mut judged: Vec<(&TrialResult, (u8, f64))> = r
        .trials
        .iter()
        .filter(|t| !t.is_baseline())
        .filter_map(|t| Some((t, badness(worst(t)?))))
        .collect();
    judged.sort_by(|a, b| worse(b.1, a.1));
    let mut out = Vec::new();
    if !judged.is_empty() {
        out.push(format!(
            "Costliest trials ({} of {} judged, worst first):",
            judged.len().min(n),
            judged.len()
        ));
        out.extend(
            judged
                .iter()
                .take(n)
                .map(|(t, _)| format!("  {}", trial_line(t))),
        );
    }
    out
}

/// Whether stdout and stderr are the same file (a terminal, or one log):
/// then the line goes between libtest's `test NAME ... ` and its `ok`.
pub fn shared_stream() -> bool {
    use std::os::fd::AsRawFd;
    let id = |fd: i32| {
        // SAFETY: fstat on a descriptor this process holds, into a zeroed stat.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        (unsafe { libc::fstat(fd, &mut st) } == 0).then_some((st.st_dev, st.st_ino))
    };
    let (o, e) = (
        id(std::io::stdout().as_raw_fd()),
        id(std::io::stderr().as_raw_fd()),
    );
    o.is_some() && o == e
}

#[cfg(test)]
mod tests {
    use super::clock;
    use rstest::rstest;
    use std::time::Duration;

    #[rstest]
    #[case(0, "0s")]
    #[case(59, "59s")]
    #[case(60, "1m00s")]
    #[case(245, "4m05s")]
    #[case(3720, "1h02m")]
    fn clocks_read_as_people_write_them(#[case] s: u64, #[case] want: &str) {
        assert_eq!(clock(Duration::from_secs(s)), want);
    }
}
