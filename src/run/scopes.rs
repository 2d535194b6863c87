//! Setup of the global, tool and case scopes: the user's hooks first, then
//! the layer's built-in steps (`global`, `case`; each registers its own
//! undo step), then the layer's background tasks; teardown runs the undo
//! steps in reverse. Also what a scope's
//! hooks see: their layer, their targets and the baseline flag.

use super::error::StepError;
use super::fixtures::ScopeKey;
use super::hooks::{self, Target};
use super::trace::Trace;
use super::vars::{self, Role};
use super::{global, monitoring, unreachable};
use super::{Active, Runner, Undo};
use crate::config::{Config, LayerHooks};
use crate::matrix::Matrix;
use crate::naming;
use std::time::Duration;

pub fn layer(key: &ScopeKey) -> &'static str {
    match key {
        ScopeKey::Global => "global",
        ScopeKey::Tool { .. } => "tool",
        ScopeKey::Case { .. } => "case",
    }
}

pub fn layer_hooks<'a>(cfg: &'a Config, key: &ScopeKey) -> &'a LayerHooks {
    match key {
        ScopeKey::Global => &cfg.hooks.global,
        ScopeKey::Tool { .. } => &cfg.hooks.tool,
        ScopeKey::Case { .. } => &cfg.hooks.case,
    }
}

/// For `when:` of case tasks: is this the baseline?
pub fn baseline_flag(m: &Matrix, key: &ScopeKey) -> Option<bool> {
    match key {
        ScopeKey::Case { cycle } => Some(m.cycles[*cycle].is_baseline()),
        _ => None,
    }
}

pub fn setup(r: &mut Runner, a: &mut Active) -> Result<(), StepError> {
    let mut trace = Trace::default();
    let key = a.key.clone();
    let ts = naming::name_timestamp(chrono::Utc::now());
    a.hooks.file_name = format!("hook_results_{ts}.json");
    a.hook_targets = hook_targets(r, &key);
    for t in &mut a.hook_targets {
        t.vars.set("timestamp", &ts);
    }
    let tasks = layer_hooks(&r.cfg, &key).setup.clone();
    let baseline = baseline_flag(&r.matrix, &key);
    let user = hooks::run(
        &r.remote,
        &mut trace,
        &mut a.hooks,
        layer(&key),
        "setup",
        &tasks,
        &a.hook_targets,
        baseline,
    );
    let saved = hooks::save(&r.remote, &mut trace, &a.hooks, &a.hook_targets);
    user.and(saved)?;
    match key {
        ScopeKey::Global => super::global::setup(r, a, &mut trace),
        ScopeKey::Tool { .. } => Ok(()),
        ScopeKey::Case { cycle } => super::case::setup(r, a, &mut trace, cycle, &ts),
    }?;
    // The setup is done: the layer's background tasks start; a case's
    // tasks that watch its program start with each tool episode instead.
    let now: Vec<_> = tasks
        .iter()
        .filter(|t| !(matches!(key, ScopeKey::Case { .. }) && t.uses_ebpf()))
        .cloned()
        .collect();
    let mut started = Vec::new();
    let res = hooks::start_background(
        &r.remote,
        &mut trace,
        &mut a.hooks,
        layer(&key),
        &now,
        &a.hook_targets,
        baseline,
        &ts,
        &mut started,
    );
    if !started.is_empty() {
        a.undo.push(Undo::StopBackground(started));
        // Their PIDs are in the data before anything else can go wrong.
        hooks::save(&r.remote, &mut trace, &a.hooks, &a.hook_targets)?;
    }
    res
}

/// Tears a scope down: its undo steps in reverse order.
pub fn teardown(r: &mut Runner, key: &ScopeKey) {
    let Some(pos) = r.fixtures.active.iter().position(|a| &a.key == key) else {
        return;
    };
    let mut a = r.fixtures.active.remove(pos);
    let label = key.label(&r.matrix);
    tracing::info!(scope = %label, "teardown");
    let mut trace = Trace::default();
    while let Some(u) = a.undo.pop() {
        let res = match u {
            Undo::Stop { host, what, record } => trace
                .stop(
                    &r.remote,
                    &host,
                    &format!("stop {what}"),
                    &record,
                    Duration::from_secs(5),
                )
                .map(drop),
            Undo::UserTeardown => {
                let layer = layer(key);
                let tasks = layer_hooks(&r.cfg, key).teardown.clone();
                let baseline = baseline_flag(&r.matrix, key);
                let ran = hooks::run(
                    &r.remote,
                    &mut trace,
                    &mut a.hooks,
                    layer,
                    "teardown",
                    &tasks,
                    &a.hook_targets,
                    baseline,
                );
                let saved = hooks::save(&r.remote, &mut trace, &a.hooks, &a.hook_targets);
                ran.and(saved)
            }
            Undo::StopBackground(started) => {
                hooks::stop_background(&r.remote, &mut trace, &mut a.hooks, &started)
            }
            Undo::Summary => global::write_summary(r, &mut trace),
            Undo::RestoreBpfStats { host, value } => {
                monitoring::restore_bpf_stats(r, &mut trace, &host, &value)
            }
            Undo::ReleaseLeases => {
                // Hosts that never came back keep their lease (see unreachable).
                let (lost, errors) = unreachable::settle(r, &r.ledger.leased);
                for e in errors {
                    eprintln!("ebpf-perf: {e}");
                    r.ledger.teardown_errors.push((label.clone(), e));
                }
                r.ledger.leased.retain(|h| !lost.contains(h));
                global::release_leases(r, &mut trace)
            }
        };
        if let Err(e) = res {
            eprintln!("ebpf-perf: teardown of {label}: {e}");
            r.ledger.teardown_errors.push((label.clone(), e));
        }
    }
    if matches!(key, ScopeKey::Case { .. }) {
        r.fixtures.programs.clear();
        r.fixtures.monitors.clear();
        r.fixtures.watchers.clear();
        r.fixtures.case = None;
    }
}

fn hook_targets(r: &Runner, key: &ScopeKey) -> Vec<Target> {
    match key {
        ScopeKey::Global => r
            .global_hosts()
            .into_iter()
            .map(|(h, role)| Target {
                dir: r.session_dir(&h),
                vars: vars::host(&r.cfg, &h).with("role", role.as_str()),
                host: h,
                role,
            })
            .collect(),
        ScopeKey::Tool { tool, env } => [Role::Server, Role::Client]
            .into_iter()
            .map(|role| {
                let h = vars::host_of(&r.cfg, env, role);
                Target {
                    dir: format!("{}/tool_{tool}_{env}", r.session_dir(&h)),
                    vars: vars::env(&r.cfg, env, role).with("tool_id", tool),
                    host: h,
                    role,
                }
            })
            .collect(),
        ScopeKey::Case { cycle } => {
            let c = &r.matrix.cycles[*cycle];
            [Role::Server, Role::Client]
                .into_iter()
                .map(|role| {
                    let h = vars::host_of(&r.cfg, &c.env, role);
                    let mut v = vars::env(&r.cfg, &c.env, role);
                    v.set("cycle", &c.id);
                    if let Some(cc) = &c.case {
                        v.set("tool_id", &cc.tool_id)
                            .set("case_id", cc.case.id.to_string());
                    }
                    Target {
                        dir: format!(
                            "{}/{}",
                            naming::results_root(&r.cfg.ssh_hosts[&h].workdir),
                            c.root
                        ),
                        vars: v,
                        host: h,
                        role,
                    }
                })
                .collect()
        }
    }
}
