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

/// The program types the tool held in the trials' runs, on any host (the
/// known ones: a results file may hold any text).
pub fn types<'a>(ts: &[&'a TrialResult]) -> BTreeSet<&'a str> {
    ts.iter()
        .flat_map(|t| t.runs())
        .flat_map(|r| r.tool_series.values())
        .flat_map(|s| s.prog_types.iter().map(String::as_str))
        .filter(|t| compat::since(t).is_some())
        .collect()
}

/// Did an episode of the trials' cases fail to start the tool?
pub fn did_not_start(r: &Results, ts: &[&TrialResult]) -> bool {
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

/// What each host of the session offers, read once from its facts: its
/// release, and (where bpftool probed) the program types of
/// [`compat::PROG_TYPES`] its kernel has, as a bit set.
pub struct Offers(Vec<(String, Option<compat::Kernel>, Option<u64>)>);

// Every known type has a bit of a u64.
const _: () = assert!(compat::PROG_TYPES.len() <= 64);

/// The bit set of the known program types among `names`.
fn mask<'a>(names: impl IntoIterator<Item = &'a str>) -> u64 {
    names
        .into_iter()
        .filter_map(|n| compat::PROG_TYPES.iter().position(|(t, _)| *t == n))
        .fold(0, |m, i| m | 1 << i)
}

pub fn offers(r: &Results) -> Offers {
    Offers(
        r.session
            .hosts
            .iter()
            .map(|(host, f)| {
                let kernel = f["kernel"].as_str().and_then(compat::Kernel::parse);
                let types = f["bpf_program_types"]
                    .as_array()
                    .map(|a| mask(a.iter().filter_map(|v| v.as_str())));
                (host.clone(), kernel, types)
            })
            .collect(),
    )
}

/// The session's hosts that could not run what the trials' tool held: a
/// release older than the types need, or (where bpftool probed) a type the
/// kernel does not offer. At most [`MAX_LACKING`] lines, `host: lacks
/// tracing, lsm` or `host: kernel 4.4 is older than 4.9`, then a count.
pub fn lacking(offers: &Offers, ts: &[&TrialResult]) -> Vec<String> {
    let held = types(ts);
    let Some(need) = compat::need(held.iter().copied()) else {
        return vec![];
    };
    let held = mask(held);
    let mut out = Vec::new();
    let mut more = 0usize;
    for (host, kernel, offered) in &offers.0 {
        let line = match (kernel, offered) {
            (Some(k), _) if *k < need.kernel => {
                format!("{host}: kernel {k} is older than {}", need.kernel)
            }
            (_, Some(o)) if held & !o != 0 => {
                let missing: Vec<&str> = (0..compat::PROG_TYPES.len())
                    .filter(|i| held & !o & (1 << i) != 0)
                    .map(|i| compat::PROG_TYPES[i].0)
                    .collect();
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
