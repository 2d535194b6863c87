//! One run of a trial: quiet hosts waited for (when asked), the performance
//! test in its `run_K` directories,
//! then everything it started stopped (one batch per host), then its
//! monitoring window sliced and summarized.

use super::error::StepError;
use super::perf_test::{self, Ctx};
use super::trace::Trace;
use super::Runner;
use crate::domain::Variant;
use crate::host::remote::SHORT;
use crate::naming;
use crate::perf::Metrics;
use crate::results;
use crate::shell::placement;
use crate::shell::process::ProcessRecord;
use std::collections::BTreeMap;
use std::time::Duration;

const STOP_STEP: &str = "stop servers, clients and sar";
const COLLECT_STEP: &str = "collect monitoring";
const STOP_GRACE: Duration = Duration::from_secs(3);

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
    // One round trip per host: stop what the run started there and, side by
    // side, cut its monitoring window (which ends as the test has ended).
    let dirs = [
        (ctx.server.as_str(), ctx.server_dir.as_str()),
        (ctx.client.as_str(), ctx.client_dir.as_str()),
    ];
    let monitored = !r.fixtures.monitors.is_empty();
    let from = clocks.as_ref().ok();
    let mut hosts = vec![ctx.client.as_str(), ctx.server.as_str()];
    hosts.extend(others.iter().copied());
    let ends = super::trace::per_host(r, trace, &hosts, |r, host, t| {
        let recs: Vec<ProcessRecord> = started
            .iter()
            .rev()
            .filter(|(h, _, _)| h == host)
            .map(|(_, _, p)| p.clone())
            .collect();
        let slice = dirs
            .iter()
            .find(|(h, _)| *h == host)
            .zip(from)
            .and_then(|((_, dir), from)| {
                super::monitoring::slice_script(r, host, dir, &ctx.ts, from)
            });
        // The window's end on a monitored host, then where the test's
        // processes ran, in the same round trip.
        let mut then = if from.is_some_and(|f| f.contains_key(host)) {
            super::window::end_line()
        } else {
            String::new()
        };
        for (role, h, dir) in [
            (
                "server",
                &ctx.server,
                format!("{}/server_results", ctx.server_dir),
            ),
            (
                "client",
                &ctx.client,
                format!("{}/client_results", ctx.client_dir),
            ),
        ] {
            if h == host {
                then += &placement::read(role, &super::perf_test::placement_file(&dir));
            }
        }
        then.extend(slice);
        let slice = (!then.is_empty()).then_some(then);
        let sliced = match (recs.is_empty(), &slice) {
            (true, None) => return (Ok(()), None),
            (false, None) => {
                let s = t.stop_many(&r.remote, host, STOP_STEP, &recs, STOP_GRACE);
                return (s.map(drop), None);
            }
            (true, Some(script)) => t.check(&r.remote, host, COLLECT_STEP, script, SHORT),
            (false, Some(script)) => t
                .stop_many_with(
                    &r.remote,
                    host,
                    (STOP_STEP, COLLECT_STEP),
                    &recs,
                    STOP_GRACE,
                    script,
                )
                .and_then(|(_, out)| {
                    out.checked(host, script)
                        .map_err(|e| StepError::remote(COLLECT_STEP, &e))
                }),
        };
        match (sliced, slice) {
            (Ok(out), _) => (Ok(()), Some(Ok((host.to_string(), out.stdout)))),
            // A failed stop fails the run, and the window is still cut.
            (Err(e), Some(script)) if e.step == STOP_STEP => {
                let out = t.check(&r.remote, host, COLLECT_STEP, &script, SHORT);
                (Err(e), Some(out.map(|o| (host.to_string(), o.stdout))))
            }
            (Err(e), _) if e.step == STOP_STEP => (Err(e), None),
            (Err(e), _) => (Ok(()), Some(Err(e))),
        }
    });
    let end = chrono::Utc::now();
    let mut error = body.as_ref().err().cloned();
    let mut sliced = Vec::new();
    let mut slice_error = None;
    for (stop, slice) in ends {
        if let Err(e) = stop {
            error.get_or_insert(e);
        }
        match slice {
            Some(Ok(s)) => sliced.push(s),
            Some(Err(e)) => {
                slice_error.get_or_insert(e);
            }
            None => {}
        }
    }
    let (from, to) = (naming::log_timestamp(start), naming::log_timestamp(end));
    let costs = match (clocks, slice_error) {
        _ if !monitored => None,
        (Err(e), _) | (Ok(_), Some(e)) => {
            error.get_or_insert(e);
            None
        }
        (Ok(clocks), None) => Some(super::monitoring::costs_of(r, &sliced, &clocks)),
    };
    let placement = sliced
        .iter()
        .flat_map(|(_, out)| placement::parse(out))
        .collect();
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
            placement,
        },
        metrics,
        costs,
        error,
    }
}
