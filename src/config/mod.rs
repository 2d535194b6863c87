//! Configuration (docs/design.md §3): loads the files of a config directory, checks them
//! before anything connects, and hands out one normalized [`Config`].

pub mod budgets;
mod error;
mod locate;
pub mod model;
mod validate;

pub use error::{ConfigError, Problem};
pub use model::*;
pub use validate::kills_by_name;

use crate::domain::TestType;
use indexmap::IndexMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const SSH_FILE: &str = "ssh-config.yaml";
pub const ENV_FILE: &str = "test-env-config.yaml";
pub const PERF_FILE: &str = "performance-test-spec.yaml";
pub const TOOLS_FILE: &str = "ebpf-tools-config.yaml";
pub const HOOKS_FILE: &str = "hooks.yaml";

/// A validated configuration; every reference in it resolves.
#[derive(Debug, Clone)]
pub struct Config {
    pub dir: PathBuf,
    pub lab: Option<LabKind>,
    /// Never connect to these hosts (configurations of labs elsewhere).
    pub list_only: bool,
    pub ssh_hosts: IndexMap<String, SshHost>,
    pub environments: IndexMap<String, TestEnv>,
    pub perf: PerfSpec,
    pub tools: IndexMap<String, Tool>,
    /// Groups of cases to put side by side in reports (`comparisons:`).
    pub comparisons: Vec<Vec<String>>,
    /// The ratings' thresholds (`ratings:`, else the defaults).
    pub ratings: crate::ratings::Thresholds,
    pub hooks: Hooks,
    /// Allowed but worth saying, with file:line (see [`Problem`]).
    pub warnings: Vec<Problem>,
}

/// An eBPF tool in normalized form, whatever shape its file used.
#[derive(Debug, Clone)]
pub struct Tool {
    pub id: String,
    /// The tool's own `id` field (a program name), when given.
    pub program: Option<String>,
    pub name: Option<String>,
    pub case_file: PathBuf,
    /// The selected cases, in `case_ids` order.
    pub cases: Vec<Arc<EbpfCase>>,
    pub environments: Vec<String>,
    pub test_types: Vec<TestType>,
    pub monitoring: ResourceMonitoring,
    /// Its budgets: the file's defaults and its own keys, scoped (see
    /// [`budgets`]); [`budgets::Budgets::resolve`] gives a trial's.
    pub budgets: budgets::Budgets,
    /// Regression limit in percentage points of overhead growth.
    pub regression_pct: Option<f64>,
}

/// Defaults of a spec without `repeats` (runs a block) or `max_cv_pct`.
pub const DEFAULT_REPEATS: u32 = 1;
pub const DEFAULT_MAX_CV_PCT: f64 = 10.0;
/// Regression limit of tools that set none (percentage points).
pub const DEFAULT_REGRESSION_PCT: f64 = 5.0;

impl PerfSpec {
    fn own_runs(&self, t: TestType) -> RunCounts {
        match t {
            TestType::Throughput => self.throughput.as_ref().map(|x| x.runs.clone()),
            TestType::Latency => self.latency.as_ref().map(|x| x.runs.clone()),
            TestType::Pps => self.pps.as_ref().map(|x| x.runs.clone()),
        }
        .unwrap_or_default()
    }

    /// The plan of a test type: each setting its own, else the spec's.
    /// `repeats` runs a block (default 1) after `warmup` discarded ones;
    /// pairs from `pairs.min` (default 6) to `pairs.max` (default 10) with
    /// a `target_ci_pct`, exactly `pairs.min` without one.
    pub fn plan(&self, t: TestType) -> crate::precision::Plan {
        use crate::precision::{DEFAULT_MAX_PAIRS, DEFAULT_MIN_PAIRS};
        let own = self.own_runs(t);
        let (p, q) = (own.precision(), self.precision());
        let pairs = |f: fn(&Pairs) -> Option<u32>| {
            p.pairs
                .as_ref()
                .and_then(f)
                .or(q.pairs.as_ref().and_then(f))
        };
        let min = pairs(|x| x.min).unwrap_or(DEFAULT_MIN_PAIRS).max(1);
        let target = p.target_ci_pct.or(q.target_ci_pct);
        let max = match target {
            Some(_) => pairs(|x| x.max).unwrap_or(DEFAULT_MAX_PAIRS).max(min),
            None => min,
        };
        crate::precision::Plan {
            warmup: own.warmup.or(self.warmup).unwrap_or(0),
            runs: own
                .repeats
                .or(self.repeats)
                .unwrap_or(DEFAULT_REPEATS)
                .max(1),
            min_pairs: min,
            max_pairs: max,
            target_ci_pct: target,
            max_trial_s: p.max_trial_s.or(q.max_trial_s),
        }
    }

    /// The CPU wake-up latency limit of a test type's runs (µs), if any:
    /// its own, else the spec's.
    pub fn cpu_latency_us(&self, t: TestType) -> Option<u32> {
        self.own_runs(t).cpu_latency_us.or(self.cpu_latency_us)
    }

    pub fn max_cv_pct(&self) -> f64 {
        self.max_cv_pct.unwrap_or(DEFAULT_MAX_CV_PCT)
    }

    /// The quiet-host check: the busy limit (percent) and the longest wait,
    /// when it is on.
    pub fn quiet(&self) -> Option<(f64, std::time::Duration)> {
        let pct = self.quiet_cpu_pct?;
        let wait = self.quiet_wait_s.unwrap_or(DEFAULT_QUIET_WAIT_S);
        Some((pct, std::time::Duration::from_secs_f64(wait.max(0.0))))
    }
}

/// How long a run waits for quiet hosts by default (seconds).
pub const DEFAULT_QUIET_WAIT_S: f64 = 30.0;

impl Config {
    /// How many pools the configuration has: the most any environment has.
    pub fn pool_count(&self) -> usize {
        self.environments
            .values()
            .map(|e| e.pools.len() + 1)
            .max()
            .unwrap_or(1)
    }

    /// `--pool N` (1-based): every environment uses its pool N; one with
    /// fewer pools uses pool ((N - 1) mod its count) + 1. The pools swap
    /// places, so every pair is still there (the lab provisions them all).
    pub fn use_pool(&mut self, n: usize) {
        for e in self.environments.values_mut() {
            let pairs = e.pools.len() + 1;
            let i = (n.max(1) - 1) % pairs;
            if i > 0 {
                let p = &mut e.pools[i - 1];
                std::mem::swap(&mut e.server, &mut p.server);
                std::mem::swap(&mut e.client, &mut p.client);
            }
        }
    }

    /// The hosts environments `envs` use now (after [`Config::use_pool`]),
    /// each once, in order.
    pub fn pool_hosts(&self, envs: &[String]) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for e in envs.iter().filter_map(|n| self.environments.get(n)) {
            for h in [&e.server.ssh_ref, &e.client.ssh_ref] {
                if !out.contains(&h.as_str()) {
                    out.push(h);
                }
            }
        }
        out
    }

    /// Every test type's run counts, for the command line's overrides.
    fn all_runs(&mut self) -> impl Iterator<Item = &mut RunCounts> {
        let p = &mut self.perf;
        [
            p.throughput.as_mut().map(|t| &mut t.runs),
            p.latency.as_mut().map(|t| &mut t.runs),
            p.pps.as_mut().map(|t| &mut t.runs),
        ]
        .into_iter()
        .flatten()
    }

    /// `--duration S`: every test runs S seconds.
    pub fn override_duration(&mut self, s: u32) {
        let p = &mut self.perf;
        if let Some(t) = &mut p.throughput {
            if let Some(x) = &mut t.single_stream {
                x.duration = s;
            }
            if let Some(x) = &mut t.multi_stream {
                x.duration = s;
            }
        }
        if let Some(x) = &mut p.latency {
            x.duration = s;
        }
        if let Some(x) = &mut p.pps {
            x.duration = s;
        }
    }

    /// `--load NAME`: seed 004's scenario sets every test's rate, streams
    /// and duration (single-stream tests take the rate as their one
    /// bandwidth when it is limited; latency tests take the duration).
    pub fn apply_load(&mut self, l: Load) {
        let (rate, streams, secs) = l.preset();
        self.override_duration(secs);
        let p = &mut self.perf;
        if let Some(t) = &mut p.throughput {
            if let (Some(x), true) = (&mut t.single_stream, rate != "0") {
                x.target_bw = vec![rate.to_string()];
            }
            if let Some(x) = &mut t.multi_stream {
                x.streams = vec![streams];
                x.target_bw = rate.to_string();
            }
        }
        if let Some(x) = &mut p.pps {
            x.streams = vec![streams];
        }
    }

    /// `--warmup N`: every trial first runs N discarded runs.
    pub fn override_warmup(&mut self, n: u32) {
        self.perf.warmup = Some(n);
        for r in self.all_runs() {
            r.warmup = None;
        }
    }

    /// `--repeat N`: every block runs N measured runs.
    pub fn override_repeats(&mut self, n: u32) {
        self.perf.repeats = Some(n);
        for r in self.all_runs() {
            r.repeats = None;
        }
    }

    /// `--target-ci`, `--min-pairs`, `--max-pairs`, `--max-trial-s`: each
    /// one given replaces the spec's and every test type's. `--pairs N`
    /// (`o.pairs` with min = max) is exactly N pairs: no target.
    pub fn override_precision(&mut self, o: Precision) {
        let fixed = o.pairs.is_some_and(|p| p.min.is_some() && p.min == p.max);
        let (min, max) = (o.pairs.and_then(|p| p.min), o.pairs.and_then(|p| p.max));
        let set = |p: &mut Precision, own: bool| {
            let pick = |given: Option<f64>, now: Option<f64>| match (given, own) {
                (Some(_), true) => None,
                (Some(g), false) => Some(g),
                (None, _) => now,
            };
            p.target_ci_pct = if fixed {
                None
            } else {
                pick(o.target_ci_pct, p.target_ci_pct)
            };
            p.max_trial_s = pick(o.max_trial_s, p.max_trial_s);
            let now = p.pairs.unwrap_or(Pairs {
                min: None,
                max: None,
            });
            let pairs = Pairs {
                min: if min.is_some() {
                    min.filter(|_| !own)
                } else {
                    now.min
                },
                max: if max.is_some() {
                    max.filter(|_| !own)
                } else {
                    now.max
                },
            };
            p.pairs = (pairs.min.is_some() || pairs.max.is_some()).then_some(pairs);
        };
        let mut spec = self.perf.precision();
        set(&mut spec, false);
        self.perf.set_precision(spec);
        for r in self.all_runs() {
            let mut own = r.precision();
            set(&mut own, true);
            r.set_precision(own);
        }
    }

    /// Test types the spec defines, in matrix order.
    pub fn defined_test_types(&self) -> Vec<TestType> {
        let p = &self.perf;
        TestType::ALL
            .into_iter()
            .filter(|t| match t {
                TestType::Throughput => p.throughput.is_some(),
                TestType::Latency => p.latency.is_some(),
                TestType::Pps => p.pps.is_some(),
            })
            .collect()
    }
}

/// Reads and validates the configuration in `dir`.
pub fn load(dir: &Path) -> Result<Config, ConfigError> {
    validate::load(dir)
}

/// Expands `~/` and resolves relative paths against the config directory.
pub fn resolve_path(p: &str, config_dir: &Path) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return PathBuf::from(home).join(rest);
        }
    }
    let path = PathBuf::from(p);
    if path.is_absolute() {
        path
    } else {
        config_dir.join(path)
    }
}

impl SshHost {
    /// The host's known_hosts file: its `known_hosts` key, else ~/.ssh/known_hosts.
    pub fn known_hosts_file(&self, config_dir: &Path) -> PathBuf {
        resolve_path(
            self.known_hosts.as_deref().unwrap_or("~/.ssh/known_hosts"),
            config_dir,
        )
    }
}

#[cfg(test)]
mod pool_tests {
    use std::path::Path;

    /// The corpus base with a second pool for `host` (not for `vm`).
    fn with_pools() -> (tempfile::TempDir, super::Config) {
        let dir = tempfile::tempdir().unwrap();
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/base");
        for e in std::fs::read_dir(&base).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
        }
        let ssh = dir.path().join("ssh-config.yaml");
        let text = std::fs::read_to_string(&ssh).unwrap().replace(
            "ssh_hosts:\n",
            "ssh_hosts:\n  host-server-2: {host: \"198.18.0.13\", user: root, workdir: /var/tmp/p2s}\n  host-client-2: {host: \"198.18.0.14\", user: root, workdir: /var/tmp/p2c}\n",
        );
        std::fs::write(&ssh, text).unwrap();
        let env = dir.path().join("test-env-config.yaml");
        let text = std::fs::read_to_string(&env).unwrap().replacen(
            "    vars:\n      tools_dir: \"/opt/tools\"",
            "    pools:\n      - server: {ssh_ref: host-server-2, test_ip: \"198.18.1.13\", interface: port-storage}\n        client: {ssh_ref: host-client-2, test_ip: \"198.18.1.14\", interface: port-storage}\n    vars:\n      tools_dir: \"/opt/tools\"",
            1,
        );
        std::fs::write(&env, text).unwrap();
        let cfg = super::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        (dir, cfg)
    }

    #[test]
    fn pool_n_swaps_every_environment_to_its_nth_pair() {
        let (_d, cfg) = with_pools();
        assert_eq!(cfg.pool_count(), 2);
        let hosts = |c: &super::Config, env: &str| {
            let e = &c.environments[env];
            (e.server.ssh_ref.clone(), e.client.ssh_ref.clone())
        };
        let mut p2 = cfg.clone();
        p2.use_pool(2);
        assert_eq!(
            hosts(&p2, "host"),
            ("host-server-2".into(), "host-client-2".into())
        );
        assert_eq!(p2.environments["host"].server.test_ip, "198.18.1.13");
        // An environment with one pool keeps it.
        assert_eq!(hosts(&p2, "vm"), hosts(&cfg, "vm"));
        // Every pair is still there, pool 1 in pool 2's place.
        assert_eq!(p2.environments["host"].pools[0], {
            let e = &cfg.environments["host"];
            crate::config::model::Pool {
                server: e.server.clone(),
                client: e.client.clone(),
            }
        });
        // Pool 3 of two wraps around to pool 1.
        let mut p3 = cfg.clone();
        p3.use_pool(3);
        assert_eq!(hosts(&p3, "host"), hosts(&cfg, "host"));
    }
}

#[cfg(test)]
mod load_tests {
    use super::Load;
    use crate::domain::Variant;
    use rstest::rstest;

    #[rstest]
    #[case(Load::Light)]
    #[case(Load::Medium)]
    #[case(Load::Heavy)]
    #[case(Load::Stress)]
    fn a_load_scenario_sets_rate_streams_and_duration_of_every_test(#[case] l: Load) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut cfg = super::load(&dir).unwrap();
        let before = cfg.clone();
        cfg.apply_load(l);
        let (rate, streams, secs) = l.preset();
        let m = crate::matrix::build(&cfg);
        for t in &m.trials {
            let v = &t.variant;
            assert_eq!(crate::matrix::duration(&cfg.perf, v), secs, "{}", t.name);
            match v {
                Variant::Multi { streams: n, .. } | Variant::Pps { streams: n, .. } => {
                    assert_eq!(*n, streams, "{}", t.name)
                }
                Variant::Single { target_bw, .. } if rate != "0" => {
                    assert_eq!(target_bw, rate, "{}", t.name)
                }
                _ => {}
            }
        }
        let tp = cfg.perf.throughput.as_ref().unwrap();
        assert_eq!(tp.multi_stream.as_ref().unwrap().target_bw, rate);
        // Unlimited rates leave the single-stream bandwidths as configured.
        if rate == "0" {
            assert_eq!(
                tp.single_stream.as_ref().unwrap().target_bw,
                before
                    .perf
                    .throughput
                    .as_ref()
                    .unwrap()
                    .single_stream
                    .as_ref()
                    .unwrap()
                    .target_bw
            );
        }
    }
}
