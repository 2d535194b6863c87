//! The generated workflow as JSON (as the seeds' generator wrote it): metadata,
//! the test sequence of cycles with their steps, tests and result paths, the
//! interleaved schedule of each eBPF case (its pairs, and which side of each
//! runs first under the seed), and the global configuration.

use crate::config::{Config, EbpfCase, HookTask, LayerHooks, Target, When};
use crate::matrix::{self, Cycle, Matrix};
use crate::naming;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Workflow<'a> {
    pub metadata: Metadata,
    pub test_sequence: Vec<CycleJson<'a>>,
    pub global_config: GlobalConfig<'a>,
}

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub generation_time: String,
    pub generator: String,
    pub config_dir: String,
    pub total_cycles: usize,
    pub total_trials: usize,
    pub environments: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CycleJson<'a> {
    pub cycle_id: &'a str,
    pub cycle_type: &'static str,
    pub environment: &'a str,
    pub tool_id: Option<&'a str>,
    pub ebpf_case: Option<CaseJson<'a>>,
    pub setup_steps: Vec<String>,
    pub performance_tests: Vec<TestJson>,
    /// An eBPF case's pairs, up to the most any of its trials may take
    /// (pairs past the least are run while a trial's target is not met);
    /// a baseline's blocks run in the pairs of the cases that pair with it,
    /// else alone, in rounds.
    pub pairs: Vec<PairJson>,
    pub baseline_blocks: Option<&'static str>,
    pub teardown_steps: Vec<String>,
    /// What the cycle's trials are expected to take at their least pairs,
    /// in whole seconds ([`matrix::expected_s`]).
    pub expected_duration_s: u64,
    pub result_path: String,
}

#[derive(Debug, Serialize)]
pub struct CaseJson<'a> {
    pub case_id: u32,
    pub name: &'a str,
    pub command: &'a str,
    pub duration: u32,
    pub target: Target,
    pub parameters: &'a indexmap::IndexMap<String, crate::config::Scalar>,
    pub canonical_parameters: String,
    pub hash6: String,
}

/// One pair of an eBPF case: its sides in the order they run.
#[derive(Debug, Serialize)]
pub struct PairJson {
    pub pair: u32,
    pub order: crate::schedule::Order,
    pub steps: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct TestJson {
    pub test_type: &'static str,
    pub variants: Vec<VariantJson>,
}

#[derive(Debug, Serialize)]
pub struct VariantJson {
    pub name: String,
    pub trial: String,
    #[serde(flatten)]
    pub variant: crate::domain::Variant,
    pub duration_s: u32,
    pub ports: Vec<u16>,
    /// Relative to `{workdir}/performance-test-results/`; `{timestamp}` is set at run time.
    pub result_path: String,
}

#[derive(Debug, Serialize)]
pub struct GlobalConfig<'a> {
    pub ssh_hosts: &'a indexmap::IndexMap<String, crate::config::SshHost>,
    pub test_environments: &'a indexmap::IndexMap<String, crate::config::TestEnv>,
    pub performance_tests: &'a crate::config::PerfSpec,
    pub hooks: &'a crate::config::Hooks,
    /// Each tool's `resource_monitoring` (what the monitor agent watches).
    pub monitoring_config: indexmap::IndexMap<&'a str, &'a crate::config::ResourceMonitoring>,
}

fn hook_steps(tasks: &[HookTask], baseline: bool) -> impl Iterator<Item = String> + '_ {
    tasks
        .iter()
        .filter(move |t| match t.when {
            When::Always => true,
            When::Baseline => baseline,
            When::Ebpf => !baseline,
        })
        .map(|t| format!("hook:{}", t.name))
}

/// Case-layer steps of a cycle: user tasks before the built-in ones on setup,
/// after them on teardown (docs/design.md §5).
fn cycle_steps(hooks: &LayerHooks, case: Option<&EbpfCase>) -> (Vec<String>, Vec<String>) {
    let baseline = case.is_none();
    let mut setup: Vec<String> = hook_steps(&hooks.setup, baseline).collect();
    setup.push("start_case_monitors".into());
    let mut teardown = vec!["stop_case_monitors".to_string()];
    if case.is_none() {
        setup.insert(setup.len() - 1, "check_no_ebpf_program_runs".into());
    }
    teardown.extend(hook_steps(&hooks.teardown, baseline));
    (setup, teardown)
}

/// The pairs of eBPF cycle `c` under `seed`: each side's steps in order.
fn pairs_json(cfg: &Config, m: &Matrix, c: &Cycle, seed: u64) -> Vec<PairJson> {
    let Some(cc) = &c.case else {
        return Vec::new();
    };
    let most = m.trials[c.trials.clone()]
        .iter()
        .map(|t| cfg.perf.plan(t.variant.test_type()).max_pairs)
        .max()
        .unwrap_or(0);
    (1..=most)
        .map(|pair| {
            let order = crate::schedule::order(seed, &c.id, pair);
            let steps = order
                .sides()
                .iter()
                .flat_map(|side| match side {
                    crate::results::Side::Baseline => vec!["baseline_blocks".to_string()],
                    crate::results::Side::Tool => vec![
                        format!("start_ebpf_case_{}", cc.case.id),
                        "wait_until_attached".into(),
                        "start_tool_monitors".into(),
                        "tool_blocks".into(),
                        "stop_tool_monitors".into(),
                        format!("stop_ebpf_case_{}", cc.case.id),
                    ],
                })
                .collect();
            PairJson { pair, order, steps }
        })
        .collect()
}

fn cycle_json<'a>(
    cfg: &'a Config,
    m: &'a Matrix,
    c: &'a Cycle,
    s: &crate::schedule::Schedule,
) -> CycleJson<'a> {
    let case = c.case.as_ref().map(|cc| &*cc.case);
    let (setup_steps, teardown_steps) = cycle_steps(&cfg.hooks.case, case);
    let mut tests: Vec<TestJson> = Vec::new();
    let mut expected = 0.0;
    for t in &m.trials[c.trials.clone()] {
        let ty = t.variant.test_type().as_str();
        let duration_s = matrix::duration(&cfg.perf, &t.variant);
        let sharing = c.trials.len();
        expected += match (c.is_baseline(), paired_baseline(m, s, t)) {
            (false, _) => matrix::expected_s(cfg, &t.variant, 2, sharing),
            (true, true) => 0.0,
            (true, false) => matrix::expected_s(cfg, &t.variant, 1, 0),
        };
        let vj = VariantJson {
            name: t.variant.name(),
            trial: t.name.clone(),
            variant: t.variant.clone(),
            duration_s,
            ports: matrix::ports(&cfg.perf, &t.variant),
            result_path: format!("{}_{{timestamp}}", m.trial_dir_prefix(t)),
        };
        match tests.last_mut() {
            Some(last) if last.test_type == ty => last.variants.push(vj),
            _ => tests.push(TestJson {
                test_type: ty,
                variants: vec![vj],
            }),
        }
    }
    CycleJson {
        cycle_id: &c.id,
        cycle_type: if c.is_baseline() { "baseline" } else { "ebpf" },
        environment: &c.env,
        tool_id: c.case.as_ref().map(|cc| cc.tool_id.as_str()),
        ebpf_case: c.case.as_ref().map(|cc| {
            let canonical = matrix::canonical_params(&cc.case);
            CaseJson {
                case_id: cc.case.id,
                name: &cc.case.name,
                command: &cc.case.command,
                duration: cc.case.duration,
                target: cc.case.target,
                parameters: &cc.case.parameters,
                hash6: naming::hash6(&canonical),
                canonical_parameters: canonical,
            }
        }),
        setup_steps,
        performance_tests: tests,
        pairs: pairs_json(cfg, m, c, s.seed),
        baseline_blocks: c.is_baseline().then(|| {
            if m.trials[c.trials.clone()]
                .iter()
                .any(|t| paired_baseline(m, s, t))
            {
                "in the pairs of the eBPF cases of this environment"
            } else {
                "alone, in rounds"
            }
        }),
        teardown_steps,
        expected_duration_s: expected.ceil() as u64,
        result_path: c.root.clone(),
    }
}

/// Is `t` a baseline that some eBPF trial of the schedule pairs with?
fn paired_baseline(m: &Matrix, s: &crate::schedule::Schedule, t: &crate::matrix::Trial) -> bool {
    s.cases
        .iter()
        .flat_map(|c| &c.trials)
        .any(|(_, b)| b.is_some_and(|b| m.trials[b].name == t.name))
}

/// Builds the workflow of a configuration and its matrix, its pairs'
/// orders under `seed`.
pub fn generate<'a>(cfg: &'a Config, m: &'a Matrix, seed: u64) -> Workflow<'a> {
    let all: Vec<usize> = (0..m.trials.len()).collect();
    let s = crate::schedule::build(m, &all, seed);
    Workflow {
        metadata: Metadata {
            generation_time: chrono::Local::now().to_rfc3339(),
            generator: format!("ebpf-perf {}", env!("CARGO_PKG_VERSION")),
            config_dir: cfg.dir.display().to_string(),
            total_cycles: m.cycles.len(),
            total_trials: m.trials.len(),
            environments: cfg.environments.keys().cloned().collect(),
        },
        test_sequence: m.cycles.iter().map(|c| cycle_json(cfg, m, c, &s)).collect(),
        global_config: GlobalConfig {
            ssh_hosts: &cfg.ssh_hosts,
            test_environments: &cfg.environments,
            performance_tests: &cfg.perf,
            hooks: &cfg.hooks,
            monitoring_config: cfg
                .tools
                .iter()
                .map(|(id, t)| (id.as_str(), &t.monitoring))
                .collect(),
        },
    }
}

/// `ebpf-perf workflow`: the generated workflow of the configuration in
/// `dir` as JSON, into `output` or stdout.
pub fn command(
    dir: &std::path::Path,
    output: Option<&std::path::Path>,
    pretty: bool,
    seed: u64,
) -> Result<(), String> {
    let cfg = crate::config::load(dir).map_err(|e| e.to_string())?;
    let m = crate::matrix::build(&cfg);
    let wf = generate(&cfg, &m, seed);
    let mut json = if pretty {
        serde_json::to_vec_pretty(&wf)
    } else {
        serde_json::to_vec(&wf)
    }
    .map_err(|e| e.to_string())?;
    json.push(b'\n');
    match output {
        Some(path) => {
            crate::results::write_atomic(path, &json)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!(
                "wrote {} ({} cycles, {} trials)",
                path.display(),
                m.cycles.len(),
                m.trials.len()
            );
        }
        None => {
            std::io::Write::write_all(&mut std::io::stdout(), &json).map_err(|e| e.to_string())?
        }
    }
    Ok(())
}
