//! The compatibility row (seed 003): the oldest kernel that has every BPF
//! program type a case's tool held in its runs, rated by the
//! `compatibility_kernel` levels; POOR when an episode of the case could
//! not start the tool (it did not load or attach on its hosts, or its
//! start failed otherwise: the trials' errors say which). The types
//! are measured, not declared: a lower bound, since helpers, map types or
//! BTF may need a newer kernel still.

use crate::compat;
use crate::results::{Results, TrialResult};
use crate::stats::Estimate;
use std::collections::BTreeSet;

/// The program types the tool held in the trials' runs, on any host.
pub fn types<'a>(ts: &[&'a TrialResult]) -> BTreeSet<&'a str> {
    ts.iter()
        .flat_map(|t| t.runs())
        .flat_map(|r| r.tool_series.values())
        .flat_map(|s| s.prog_types.iter().map(String::as_str))
        .collect()
}

/// Did an episode of the trials' cases fail to start the tool?
pub fn did_not_load(r: &Results, ts: &[&TrialResult]) -> bool {
    r.session
        .episodes
        .iter()
        .any(|e| e.ready_s.is_none() && ts.iter().any(|t| t.cycle == e.case))
}

/// The release every type needs, as a [`compat::Kernel::level`].
pub fn value(ts: &[&TrialResult]) -> Option<Estimate> {
    compat::need(types(ts)).map(|n| Estimate {
        value: n.kernel.level(),
        ci95: None,
    })
}

/// Hosts the session's facts list that could not run what the trials'
/// tool held: a release older than the types need, or (where bpftool
/// probed) a type the kernel does not offer. At most `MAX_LACKING` lines,
/// `host: lacks tracing, lsm` or `host: kernel 4.4 is older than 4.9`.
pub fn lacking(r: &Results, ts: &[&TrialResult]) -> Vec<String> {
    let held = types(ts);
    let Some(need) = compat::need(held.iter().copied()) else {
        return vec![];
    };
    let mut out = Vec::new();
    let mut more = 0usize;
    for (host, facts) in &r.session.hosts {
        let kernel = facts["kernel"].as_str().and_then(compat::Kernel::parse);
        let line = match (kernel, facts["bpf_program_types"].as_array()) {
            (Some(k), _) if k < need.kernel => {
                format!("{host}: kernel {k} is older than {}", need.kernel)
            }
            (_, Some(offered)) => {
                let missing: Vec<&str> = held
                    .iter()
                    .copied()
                    .filter(|t| !offered.iter().any(|o| o == t))
                    .collect();
                if missing.is_empty() {
                    continue;
                }
                format!("{host}: lacks {}", missing.join(", "))
            }
            _ => continue,
        };
        if out.len() < MAX_LACKING {
            out.push(line);
        } else {
            more += 1;
        }
    }
    if more > 0 {
        out.push(format!("and {more} more hosts"));
    }
    out
}

/// Hosts [`lacking`] names one by one.
pub const MAX_LACKING: usize = 10;
