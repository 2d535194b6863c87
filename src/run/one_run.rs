//! One run of a trial: quiet hosts waited for (when asked), the performance
//! test in its `run_K` directories,
//! then everything it started stopped (one batch per host), then its
//! monitoring window sliced and summarized.

use super::error::StepError;
use super::perf_test::{self, Ctx};
use super::trace::Trace;
use super::Runner;
use crate::domain::Variant;
use crate::naming;
use crate::perf::Metrics;
use crate::results;
use crate::shell::process::ProcessRecord;
use std::collections::BTreeMap;
use std::time::Duration;

/// One run of the performance test in `{trial}/{name}` on both hosts.
pub(super) struct RunOut {
    pub run: results::Run,
    pub metrics: Option<Metrics>,
    pub costs: Option<super::monitoring::Costs>,
    pub error: Option<StepError>,
}

/// One run: the performance test, then everything it started stopped (one
/// batch per host), then its monitoring window summarized.
pub(super) fn run_once(r: &Runner, ctx: &Ctx, v: &Variant, trace: &mut Trace) -> RunOut {
    let quiet = super::quiet::wait(r, trace, &[&ctx.server, &ctx.client]);
    let start = chrono::Utc::now();
    // The window is cut by each host's clock, never by this machine's. The
    // server's and the client's are read as the run starts on them (see
    // perf_test); any other monitored host's here.
    let others: Vec<&str> = r
        .fixtures
        .monitors
        .iter()
        .map(|a| a.host.as_str())
        .filter(|h| *h != ctx.server && *h != ctx.client)
        .collect();
    let mut clocks = if others.is_empty() {
        Ok(Default::default())
    } else {
        super::monitoring::host_clocks(r, trace, &others)
    };
    let mut started: perf_test::Started = Vec::new();
    let mut run_clocks = BTreeMap::new();
    let body = perf_test::run(r, ctx, v, trace, &mut started, &mut run_clocks);
    if let Ok(c) = &mut clocks {
        c.extend(run_clocks);
    }
    let stops = super::trace::per_host(r, trace, &[&ctx.client, &ctx.server], |r, host, t| {
        let recs: Vec<ProcessRecord> = started
            .iter()
            .rev()
            .filter(|(h, _, _)| h == host)
            .map(|(_, _, p)| p.clone())
            .collect();
        if recs.is_empty() {
            return Ok(());
        }
        t.stop_many(
            &r.remote,
            host,
            "stop servers, clients and sar",
            &recs,
            Duration::from_secs(3),
        )
        .map(drop)
    });
    let end = chrono::Utc::now();
    let mut error = body.as_ref().err().cloned();
    if let Some(e) = stops.into_iter().find_map(Result::err) {
        error.get_or_insert(e);
    }
    let (from, to) = (naming::log_timestamp(start), naming::log_timestamp(end));
    let costs = match clocks {
        _ if r.fixtures.monitors.is_empty() => None,
        Err(e) => {
            error.get_or_insert(e);
            None
        }
        Ok(clocks) => {
            let dirs = [
                (ctx.server.clone(), ctx.server_dir.clone()),
                (ctx.client.clone(), ctx.client_dir.clone()),
            ];
            match super::monitoring::collect(r, trace, &dirs, &ctx.ts, &clocks) {
                Ok(c) => Some(c),
                Err(e) => {
                    error.get_or_insert(e);
                    None
                }
            }
        }
    };
    let metrics = body.ok();
    let mut flat = metrics.as_ref().map(crate::perf::flat).unwrap_or_default();
    if let Some(c) = &costs {
        flat.extend(crate::monitor::costs::flat(&c.tool, &c.hosts));
    }
    RunOut {
        run: results::Run {
            start: from,
            end: to,
            metrics: flat,
            tool_series: costs.as_ref().map(|c| c.series.clone()).unwrap_or_default(),
            dirs: vec![
                format!("{}:{}", ctx.server, ctx.server_dir),
                format!("{}:{}", ctx.client, ctx.client_dir),
            ],
            quiet,
        },
        metrics,
        costs,
        error,
    }
}
