//! The matrix (docs/design.md §4): cycles in run order (one baseline per environment,
//! then one per tool × case × applicable environment) and the trials they hold,
//! one per expanded performance test variant.

use crate::config::{Config, EbpfCase, PerfSpec};
use crate::domain::{TestType, Variant};
use crate::naming::{self, CaseKey};
use std::sync::Arc;

/// The eBPF side of a cycle; a baseline cycle has none.
#[derive(Debug, Clone)]
pub struct CycleCase {
    pub tool_id: String,
    pub case: Arc<EbpfCase>,
}

/// One baseline or eBPF case run in one environment.
#[derive(Debug, Clone)]
pub struct Cycle {
    /// `baseline_{env}` or `{tool_id}_case_{case_id}_{env}`.
    pub id: String,
    pub env: String,
    pub case: Option<CycleCase>,
    /// Result root relative to `performance-test-results/`.
    pub root: String,
    /// Indices of this cycle's trials in [`Matrix::trials`].
    pub trials: std::ops::Range<usize>,
}

impl Cycle {
    pub fn is_baseline(&self) -> bool {
        self.case.is_none()
    }
}

/// One named trial: a variant of a test in a cycle.
#[derive(Debug, Clone)]
pub struct Trial {
    pub name: String,
    pub cycle: usize,
    pub variant: Variant,
}

#[derive(Debug, Clone, Default)]
pub struct Matrix {
    pub cycles: Vec<Cycle>,
    pub trials: Vec<Trial>,
}

impl Matrix {
    pub fn cycle_of(&self, trial: &Trial) -> &Cycle {
        &self.cycles[trial.cycle]
    }

    /// Result directory of a trial without its `_{timestamp}` suffix.
    pub fn trial_dir_prefix(&self, trial: &Trial) -> String {
        naming::trial_dir_prefix(&self.cycle_of(trial).root, &trial.variant)
    }
}

/// Expands the tests of the given types into variants, in matrix order.
pub fn variants(spec: &PerfSpec, types: &[TestType]) -> Vec<Variant> {
    let mut out = Vec::new();
    for t in TestType::ALL.into_iter().filter(|t| types.contains(t)) {
        match t {
            TestType::Throughput => {
                let Some(tp) = &spec.throughput else { continue };
                if let Some(s) = &tp.single_stream {
                    for &protocol in &s.protocols {
                        for bw in &s.target_bw {
                            out.push(Variant::Single {
                                protocol,
                                target_bw: bw.clone(),
                            });
                        }
                    }
                }
                if let Some(m) = &tp.multi_stream {
                    for &streams in &m.streams {
                        for &protocol in &m.protocols {
                            out.push(Variant::Multi { streams, protocol });
                        }
                    }
                }
            }
            TestType::Latency => {
                if let Some(l) = &spec.latency {
                    out.extend(
                        l.protocols
                            .iter()
                            .map(|&protocol| Variant::Latency { protocol }),
                    );
                }
            }
            TestType::Pps => {
                if let Some(p) = &spec.pps {
                    for &streams in &p.streams {
                        for &protocol in &p.protocols {
                            out.push(Variant::Pps { streams, protocol });
                        }
                    }
                }
            }
        }
    }
    out
}

/// The canonical parameter text and its path key for a case.
pub fn case_key<'a>(tool_id: &'a str, case: &'a EbpfCase, canonical: &'a str) -> CaseKey<'a> {
    CaseKey {
        tool_id,
        case_id: case.id,
        protocol: case.parameters.get("protocol").map(scalar_str),
        direction: case.parameters.get("direction").map(scalar_str),
        canonical_params: canonical,
    }
}

fn scalar_str(s: &crate::config::Scalar) -> &str {
    match s {
        crate::config::Scalar::Text(t) => t,
        // Non-text protocol/direction values are rare; they keep the unset marker.
        _ => naming::UNSET_PARAM,
    }
}

/// Canonical parameter text of a case (docs/design.md §6).
pub fn canonical_params(case: &EbpfCase) -> String {
    let texts: Vec<(&str, String)> = case
        .parameters
        .iter()
        .map(|(k, v)| (k.as_str(), v.text()))
        .collect();
    naming::canonical_params(texts.iter().map(|(k, v)| (*k, v.as_str())))
}

/// Generates the whole matrix of a validated configuration.
pub fn build(cfg: &Config) -> Matrix {
    let mut m = Matrix::default();
    let all_types = cfg.defined_test_types();
    let baseline_variants = variants(&cfg.perf, &all_types);
    for env in cfg.environments.keys() {
        push_cycle(&mut m, env, None, &baseline_variants);
    }
    for tool in cfg.tools.values() {
        let tool_variants = variants(&cfg.perf, &tool.test_types);
        for case in &tool.cases {
            for env in &tool.environments {
                let cc = CycleCase {
                    tool_id: tool.id.clone(),
                    case: case.clone(),
                };
                // A case of one protocol pairs with that protocol's tests.
                let paired: Vec<Variant> = tool_variants
                    .iter()
                    .filter(|v| case.protocol.is_none_or(|p| v.protocol() == p))
                    .cloned()
                    .collect();
                push_cycle(&mut m, env, Some(cc), &paired);
            }
        }
    }
    m
}

fn push_cycle(m: &mut Matrix, env: &str, case: Option<CycleCase>, vs: &[Variant]) {
    let idx = m.cycles.len();
    let start = m.trials.len();
    let ids = case.as_ref().map(|c| (c.tool_id.as_str(), c.case.id));
    let root = match &case {
        None => naming::cycle_root(None, env),
        Some(c) => {
            let canonical = canonical_params(&c.case);
            naming::cycle_root(Some(&case_key(&c.tool_id, &c.case, &canonical)), env)
        }
    };
    for v in vs {
        m.trials.push(Trial {
            name: naming::trial_name(ids, env, v),
            cycle: idx,
            variant: v.clone(),
        });
    }
    m.cycles.push(Cycle {
        id: naming::cycle_id(ids, env),
        env: env.to_string(),
        case,
        root,
        trials: start..m.trials.len(),
    });
}

/// What a run costs beyond its test, a block beyond its runs, and a tool
/// episode's start and stop, in [`block_s`] and [`expected_s`] (the
/// run_overhead bench measures less on the lab: about 0.05 s a run; real
/// hosts over real networks take more).
const RUN_EXTRA_S: f64 = 0.1;
const BLOCK_EXTRA_S: f64 = 0.3;
pub const TOGGLE_S: f64 = 1.0;

/// What one block of variant `v` is expected to take, in seconds: its runs
/// (warm-ups included) of its test duration and a little more.
pub fn block_s(cfg: &Config, v: &Variant) -> f64 {
    let plan = cfg.perf.plan(v.test_type());
    let runs = f64::from(plan.warmup + plan.runs);
    runs * (f64::from(duration(&cfg.perf, v)) + RUN_EXTRA_S) + BLOCK_EXTRA_S
}

/// What a trial of variant `v` is expected to take at its least pairs, in
/// seconds: `sides` blocks a pair (2 for an eBPF trial with its baseline,
/// 1 for tool blocks alone or a baseline measured alone), and its share of
/// the tool's starts and stops among `sharing` trials of its case. The one
/// estimate behind the progress line's ETA and the workflow's
/// `expected_duration_s`.
pub fn expected_s(cfg: &Config, v: &Variant, sides: u32, sharing: usize) -> f64 {
    let plan = cfg.perf.plan(v.test_type());
    let pairs = f64::from(plan.min_pairs);
    let toggles = if sides == 0 || sharing == 0 {
        0.0
    } else {
        TOGGLE_S / sharing as f64
    };
    pairs * (f64::from(sides) * block_s(cfg, v) + toggles)
}

/// Configured duration in seconds of a variant's test.
pub fn duration(spec: &PerfSpec, v: &Variant) -> u32 {
    let tp = spec.throughput.as_ref();
    match v {
        Variant::Single { .. } => tp
            .and_then(|t| t.single_stream.as_ref())
            .map_or(0, |s| s.duration),
        Variant::Multi { .. } => tp
            .and_then(|t| t.multi_stream.as_ref())
            .map_or(0, |m| m.duration),
        Variant::Latency { .. } => spec.latency.as_ref().map_or(0, |l| l.duration),
        Variant::Pps { .. } => spec.pps.as_ref().map_or(0, |p| p.duration),
    }
}

/// Server ports of a variant: one per stream, from the configured base.
pub fn ports(spec: &PerfSpec, v: &Variant) -> Vec<u16> {
    let tp = spec.throughput.as_ref();
    let base = match v {
        Variant::Single { .. } => tp
            .and_then(|t| t.single_stream.as_ref())
            .and_then(|s| s.ports.first().copied()),
        Variant::Multi { .. } => tp
            .and_then(|t| t.multi_stream.as_ref())
            .map(|m| m.base_port),
        Variant::Latency { .. } => spec.latency.as_ref().and_then(|l| l.ports.first().copied()),
        Variant::Pps { .. } => spec.pps.as_ref().map(|p| p.base_port),
    };
    let Some(base) = base else { return Vec::new() };
    // Validation keeps base + streams within 65535.
    (0..v.streams())
        .map(|i| base.saturating_add(i as u16))
        .collect()
}

/// A case whose command stops after `{duration}` seconds that is shorter
/// than one of its tool episodes is expected to take (a block of each of
/// its trials, see [`block_s`]): the program would end before the
/// episode's last blocks, and those would fail. The sentence that says so,
/// for cycle `c`.
pub fn short_program(cfg: &Config, m: &Matrix, c: &Cycle) -> Option<String> {
    let cc = c.case.as_ref()?;
    let uses = crate::template::placeholders(&cc.case.command).contains(&"duration");
    let expected: f64 = m.trials[c.trials.clone()]
        .iter()
        .map(|t| block_s(cfg, &t.variant))
        .sum();
    (uses && f64::from(cc.case.duration) < expected).then(|| {
        format!(
            "{}::case_{} on {}: its command runs for {{duration}} = {} s, but an episode (one block of each of the cycle's {} trials) takes about {:.0} s; raise the case's `duration` (the program is stopped after each episode anyway)",
            cc.tool_id,
            cc.case.id,
            c.env,
            cc.case.duration,
            c.trials.len(),
            expected.ceil()
        )
    })
}
