//! A trial's conditions (see [`crate::results::Conditions`]) from the
//! configuration and, once the hosts answered, their facts.

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
        hosts,
    })
}
