//! Where the test's processes ran, per latency trial (docs/experiment.md,
//! "Where the processes ran"): on hosts that share CPUs, a request/response
//! latency is bimodal by whether the client and the server ran on the same
//! CPU, and the split of a trial's runs between the two explains its mean.

use crate::results::{Results, TrialResult};
use crate::stats::summarize;

/// Runs on the same CPU and across CPUs: (runs, mean latency µs).
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub trial: String,
    pub same: (usize, Option<f64>),
    pub across: (usize, Option<f64>),
}

/// The split of `t`'s runs (its own blocks), when they were sampled.
pub fn split(t: &TrialResult) -> Option<Split> {
    let (mut same, mut across) = (Vec::new(), Vec::new());
    for run in t.runs() {
        let (Some(s), Some(c)) = (run.modal_cpu("server"), run.modal_cpu("client")) else {
            continue;
        };
        let Some(&lat) = run.metrics.get(crate::metrics::LATENCY_MEAN_US) else {
            continue;
        };
        if s == c {
            same.push(lat);
        } else {
            across.push(lat);
        }
    }
    let mean = |v: &[f64]| summarize(v).map(|s| s.mean);
    (same.len() + across.len() > 0).then(|| Split {
        trial: t.name.clone(),
        same: (same.len(), mean(&same)),
        across: (across.len(), mean(&across)),
    })
}

/// One sentence per latency trial with sampled placement.
pub fn lines(r: &Results) -> Vec<String> {
    let us = |m: Option<f64>| m.map_or(String::new(), |m| format!(" (mean {m:.2} µs)"));
    r.trials
        .iter()
        .filter(|t| t.test_type == crate::domain::TestType::Latency)
        .filter_map(split)
        .map(|s| {
            format!(
                "{}: client and server on one CPU in {} runs{}, on two in {}{}.",
                s.trial,
                s.same.0,
                us(s.same.1),
                s.across.0,
                us(s.across.1)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Block, Run};

    fn run(server: u32, client: u32, lat: f64) -> Run {
        Run {
            metrics: [(crate::metrics::LATENCY_MEAN_US.into(), lat)].into(),
            placement: [
                ("server".to_string(), [(server, 5)].into()),
                ("client".to_string(), [(client, 4), (1 - client, 1)].into()),
            ]
            .into(),
            ..Default::default()
        }
    }

    #[test]
    fn runs_split_by_whether_client_and_server_shared_a_cpu() {
        let mut t = TrialResult::new(
            "baseline::host::latency::tcp_rr",
            "baseline_host",
            "host",
            crate::domain::TestType::Latency,
            "tcp_rr",
        );
        t.blocks.push(Block {
            runs: vec![run(0, 0, 12.0), run(1, 1, 14.0), run(0, 1, 30.0)],
            ..Default::default()
        });
        let s = split(&t).unwrap();
        assert_eq!(s.same, (2, Some(13.0)));
        assert_eq!(s.across, (1, Some(30.0)));
        let mut r = Results::new(Default::default());
        r.trials.push(t);
        assert_eq!(
            lines(&r),
            ["baseline::host::latency::tcp_rr: client and server on one CPU in 2 runs (mean 13.00 µs), on two in 1 (mean 30.00 µs)."]
        );
    }
}
