//! A trial's conditions (see [`crate::results::Conditions`]) from the
//! configuration and, once the hosts answered, their facts; and a
//! variant's bandwidth and rate cap.

use crate::config::Config;
use crate::domain::Variant;
use crate::results::{host_conditions, Conditions};
use std::collections::BTreeMap;

/// The conditions of variant `v` on environment `env`; the hosts' part from
/// `facts` (by host), left empty without them.
pub fn of(
    cfg: &Config,
    v: &Variant,
    env: &str,
    facts: Option<&BTreeMap<String, serde_json::Value>>,
) -> Option<Conditions> {
    let plan = crate::perf::plan(&cfg.perf, v)?;
    let mut hosts = BTreeMap::new();
    if let (Some(facts), Some(e)) = (facts, cfg.environments.get(env)) {
        for (role, h) in [("server", &e.server), ("client", &e.client)] {
            hosts.insert(
                role.to_string(),
                host_conditions(facts.get(&h.ssh_ref), &h.interface),
            );
        }
    }
    Some(Conditions {
        duration_s: plan.duration,
        commands: [Some(plan.server_cmd), Some(plan.client_cmd), plan.sar_cmd]
            .into_iter()
            .flatten()
            .collect(),
        target_bw: plan.target_bw,
        streams: v.streams(),
        cpu_latency_us: plan.cpu_latency_us,
        hosts,
    })
}

/// The configured target bandwidth of a variant, as written.
pub fn target_bw(r: &super::Runner, v: &Variant) -> Option<String> {
    match v {
        Variant::Single { target_bw, .. } => Some(target_bw.clone()),
        _ => crate::perf::plan(&r.cfg.perf, v).and_then(|p| p.target_bw),
    }
}

/// The aggregate rate cap of a variant in bits/s (target × streams), if any.
pub fn rate_cap_bps(r: &super::Runner, v: &Variant) -> Option<f64> {
    let bw = target_bw(r, v)?;
    let (digits, unit) = bw.split_at(bw.trim_end_matches(['K', 'M', 'G', 'k', 'm', 'g']).len());
    let k = match unit.to_ascii_uppercase().as_str() {
        "" => 1.0,
        "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        _ => return None,
    };
    let per_stream = digits.parse::<f64>().ok()? * k;
    (per_stream > 0.0).then(|| per_stream * f64::from(v.streams()))
}
