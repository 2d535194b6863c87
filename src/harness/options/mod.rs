//! The harness's command line. Each option is defined once, in
//! [`Options`] (clap): its name, value, environment variable, default and
//! help. The command line is split into ours (by those definitions), the
//! filter terms, and libtest's flags, which go to libtest-mimic untouched.

use crate::filter::Filter;
use crate::partition::Partition;
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_CONFIG_DIR: &str = "config";
pub const DEFAULT_JUNIT: &str = "target/ebpf-perf/junit.xml";
pub const CONFIG_ENV: &str = "EBPF_PERF_CONFIG";
pub const JUNIT_ENV: &str = "EBPF_PERF_JUNIT";
pub const REPEAT_ENV: &str = "EBPF_PERF_REPEAT";
pub const NO_REPORT_ENV: &str = "EBPF_PERF_NO_REPORT";
pub const RECONNECT_WAIT_ENV: &str = "EBPF_PERF_RECONNECT_WAIT";
pub const POOL_ENV: &str = "EBPF_PERF_POOL";
/// How long the end of a run waits for an unreachable host, by default.
pub const DEFAULT_RECONNECT_WAIT_S: u64 = 60;

/// The harness's own options (before libtest's). Values that need checking
/// are read as text here and checked by [`parse_args`], which names the
/// option or environment variable they came from.
#[derive(Debug, Parser)]
#[command(
    name = "cargo test --test perf --",
    about = "ebpf-perf harness options (libtest's own follow them)",
    no_binary_name = true,
    disable_help_flag = true,
    args_override_self = true
)]
struct Options {
    /// Configuration directory
    #[arg(long, value_name = "DIR", env = CONFIG_ENV, default_value = DEFAULT_CONFIG_DIR)]
    config_dir: PathBuf,
    /// JUnit XML output
    #[arg(long, value_name = "PATH", env = JUNIT_ENV, default_value = DEFAULT_JUNIT)]
    junit: PathBuf,
    /// Results file
    #[arg(long, value_name = "PATH", env = crate::results::ENV, default_value = crate::results::DEFAULT_PATH)]
    results: PathBuf,
    /// Measured runs of every block, overriding `repeats`
    #[arg(long, value_name = "N", env = REPEAT_ENV)]
    repeat: Option<String>,
    /// Every test's duration in seconds, overriding the spec's `duration`s
    #[arg(long, value_name = "S")]
    duration: Option<String>,
    /// Runs measured and discarded at the start of each block, overriding `warmup`
    #[arg(long, value_name = "N")]
    warmup: Option<String>,
    /// Add pairs until the headline cost's 95 % interval is within ±PCT,
    /// overriding every `target_ci_pct`
    #[arg(long, value_name = "PCT")]
    target_ci: Option<String>,
    /// Exactly N pairs of blocks per eBPF trial, no precision target
    #[arg(long, value_name = "N")]
    pairs: Option<String>,
    /// At least N pairs (`pairs.min`)
    #[arg(long, value_name = "N")]
    min_pairs: Option<String>,
    /// With a precision target: at most N pairs (`pairs.max`)
    #[arg(long, value_name = "N")]
    max_pairs: Option<String>,
    /// With a precision target: start no pair that would end after S
    /// seconds of a trial's blocks (`max_trial_s`)
    #[arg(long, value_name = "S")]
    max_trial_s: Option<String>,
    /// Seed of the order inside each pair (default: a fresh one, recorded
    /// in the results file; give it again to replay the same order)
    #[arg(long, value_name = "N")]
    seed: Option<String>,
    /// Calibrate: run only the selected baselines, each in N blocks (A/A),
    /// and write calibration.json next to the results file
    #[arg(long, value_name = "N")]
    calibrate: Option<String>,
    /// Record REV as the commit of the project under test (by default: the
    /// git commit of the repository holding the configuration directory)
    #[arg(long, value_name = "REV")]
    commit: Option<String>,
    /// Take baselines that this run does not measure from results file F
    #[arg(long, value_name = "F")]
    baseline_from: Option<PathBuf>,
    /// Fail eBPF trials whose overhead grew beyond regression_pct since results file F
    #[arg(long, value_name = "F")]
    compare_to: Option<PathBuf>,
    /// Seed 004's load scenario for every test: light (100M × 1 stream, 10 s),
    /// medium (1G × 4, 30 s), heavy (unlimited × 8, 60 s), stress (unlimited × 16, 120 s)
    #[arg(long, value_enum, value_name = "NAME")]
    load: Option<crate::config::Load>,
    /// Pair with baselines or trials of --baseline-from / --compare-to files
    /// even when their conditions differ (duration, commands, bandwidth,
    /// streams, kernel, NIC); a note names the difference
    #[arg(long)]
    allow_mismatch: bool,
    /// Inconclusive budget or regression verdicts fail the trial
    #[arg(long)]
    strict: bool,
    /// When the filter selects no trial: fail (exit 4), warn or pass
    #[arg(long, value_name = "ACTION", default_value = "fail")]
    no_tests: String,
    /// Do not write report.html and summary.md next to the results file
    #[arg(long, env = NO_REPORT_ENV)]
    no_report: bool,
    /// Use pool N of every environment's hosts (`pools:`); with --partition
    /// count:K/N, slice:K/N or hash:K/N and no --pool, pool K
    #[arg(long, value_name = "N", env = POOL_ENV)]
    pool: Option<String>,
    /// Fail at once when another run holds a host (by default: wait for it,
    /// saying which run holds it)
    #[arg(long)]
    no_wait: bool,
    /// At the end, wait up to S seconds for a host that became unreachable,
    /// to stop what still runs there
    #[arg(long, value_name = "S", env = RECONNECT_WAIT_ENV, default_value_t = DEFAULT_RECONNECT_WAIT_S.to_string())]
    reconnect_wait: String,
    /// Only the trials of TOOL: its key in the tools file (tool_001) or its
    /// `id:` (netdev_counters); repeatable, or a comma-separated list
    /// (seed 000's `--tools`)
    #[arg(long, value_name = "TOOL", alias = "tools", value_delimiter = ',')]
    tool: Vec<String>,
    /// Only the trials of environment ENV (and their baselines' there);
    /// repeatable, or a comma-separated list (seed 000's `--environments`)
    #[arg(
        long,
        value_name = "ENV",
        alias = "environments",
        value_delimiter = ','
    )]
    env: Vec<String>,
    /// Drop trials matching TERM (repeatable)
    #[arg(long, value_name = "TERM")]
    skip: Vec<String>,
    /// TERMs and --skip compare whole trial names
    #[arg(long)]
    exact: bool,
    /// Run one share of the selection: count:K/N (cycles dealt in turn) or
    /// hash:K/N (by a hash of the cycle id); a case is never split, and each
    /// share runs the baselines its eBPF trials are compared with
    #[arg(long, value_name = "P")]
    partition: Option<String>,
    /// Select trials whose name contains every TERM on token boundaries
    /// (tokens are separated by `::` and `_`: case_1 does not match case_15)
    #[arg(value_name = "TERM")]
    terms: Vec<String>,
}

/// The harness's view of its command line.
#[derive(Debug, Clone, PartialEq)]
pub struct HarnessArgs {
    pub config_dir: PathBuf,
    pub junit: PathBuf,
    pub results: PathBuf,
    /// Overrides every `repeats` of the spec.
    pub repeat: Option<u32>,
    /// Overrides every test's `duration` (seconds).
    pub duration: Option<u32>,
    /// Overrides every `warmup`.
    pub warmup: Option<u32>,
    /// Overrides of the spec's precision settings (`--target-ci` and co).
    pub precision: crate::config::Precision,
    /// `--calibrate N`: baselines only, each measured in N blocks.
    pub calibrate: Option<u32>,
    /// `--seed`: the order inside every pair.
    pub seed: Option<u64>,
    pub baseline_from: Option<PathBuf>,
    pub compare_to: Option<PathBuf>,
    /// `--commit`: the commit to record, instead of the repository's.
    pub commit: Option<String>,
    /// Inconclusive verdicts fail too.
    pub strict: bool,
    /// `--load NAME`: seed 004's load scenario.
    pub load: Option<crate::config::Load>,
    /// Pair across files under other conditions (with a note).
    pub allow_mismatch: bool,
    /// Do not write report.html and summary.md.
    pub no_report: bool,
    /// What a selection of no trials does (`--no-tests`, nextest's spelling).
    pub no_tests: NoTests,
    /// How long the end of the run waits for an unreachable host to come
    /// back, to stop what still runs there.
    pub reconnect_wait: Duration,
    /// Fail at once when another run holds a host (else wait for it).
    pub no_wait: bool,
    /// Which pool of hosts to use (1-based; `--pool`, `EBPF_PERF_POOL`).
    pub pool: Option<usize>,
    /// This job's share of the selection (`--partition count:K/N|hash:K/N`).
    pub partition: Option<Partition>,
    pub filter: Filter,
    /// What libtest-mimic gets: program name and libtest flags, no filters.
    pub libtest: Vec<String>,
    pub help: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MissingValue {
    #[error("option {0} needs a value")]
    Missing(String),
    #[error("{0} takes a whole number of runs >= 1, not {1:?}")]
    Repeat(String, String),
    #[error("--no-tests takes fail, warn or pass, not {0:?}")]
    NoTests(String),
    #[error("{0} takes a whole number of seconds, not {1:?}")]
    Seconds(String, String),
    #[error("--warmup takes a whole number of runs >= 0, not {0:?}")]
    Warmup(String),
    #[error("{0} takes a number above 0, not {1:?}")]
    Positive(String, String),
    #[error("--calibrate takes a number of blocks >= 2 (an A/A needs two), not {0:?}")]
    Calibrate(String),
    #[error(transparent)]
    Partition(#[from] crate::partition::PartitionError),
    #[error("{0} takes a pool number >= 1, not {1:?}")]
    Pool(String, String),
    #[error("{0}")]
    Other(String),
    /// A flag of the seeds' scripts with no counterpart here: one line
    /// naming what to use instead (no help after it).
    #[error("{0}")]
    Seed(String),
}

/// `--no-tests fail|warn|pass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoTests {
    #[default]
    Fail,
    Warn,
    Pass,
}

/// libtest flags that take a value (their value must not become a term).
/// Seed 000's flags that have no counterpart here, and what to do instead
/// (its `--tools` and `--environments` are aliases of `--tool` and `--env`).
const SEED_ONLY: &[(&str, &str)] = &[
    (
        "--dry-run",
        "`cargo test --test perf -- --list` lists the trials without running them, and \
         `ebpf-perf workflow --config-dir DIR -o FILE` writes the workflow",
    ),
    (
        "--workflow-output",
        "`ebpf-perf workflow --config-dir DIR -o FILE` writes the workflow JSON",
    ),
];

const LIBTEST_VALUE_FLAGS: &[&str] = &["--test-threads", "--logfile", "--color", "--format", "-Z"];

/// The help of our options, then libtest-mimic's own.
pub fn help() -> String {
    let ours = Options::command().render_help();
    let theirs = libtest_mimic::Arguments::command()
        .name("libtest options")
        .render_help();
    format!("{ours}\n{theirs}")
}

/// Splits the command line into ours and libtest's. `env` reads environment
/// variables (those the options name), which options override.
pub fn parse_args(
    argv: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<HarnessArgs, MissingValue> {
    let defs = Options::command();
    let mut it = argv.into_iter();
    let mut libtest = vec![it.next().unwrap_or_else(|| "perf".into())];
    let mut ours: Vec<String> = Vec::new();
    let mut terms: Vec<String> = Vec::new();
    let mut help = false;
    let mut positional_only = false;
    while let Some(arg) = it.next() {
        if positional_only || !arg.starts_with('-') || arg == "-" {
            terms.push(arg);
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |flag: &str| -> Result<String, MissingValue> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| MissingValue::Missing(flag.to_string()))
        };
        if let Some((_, instead)) = SEED_ONLY.iter().find(|(f, _)| *f == flag) {
            return Err(MissingValue::Seed(format!(
                "{flag} is a flag of seed 000's run_automation.py; here {instead}"
            )));
        }
        let mine = flag.strip_prefix("--").and_then(|l| {
            defs.get_arguments().find(|a| {
                a.get_long() == Some(l) || a.get_all_aliases().is_some_and(|al| al.contains(&l))
            })
        });
        match (flag.as_str(), mine) {
            ("--", _) => positional_only = true,
            ("-h" | "--help", _) => {
                help = true;
                libtest.push(arg);
            }
            (_, Some(def)) if def.get_action().takes_values() => {
                let v = value(&flag)?;
                ours.extend([flag, v]);
            }
            (_, Some(_)) => ours.push(flag),
            (f, None) if LIBTEST_VALUE_FLAGS.contains(&f) => {
                let v = value(f)?;
                libtest.extend([f.to_string(), v]);
            }
            _ => libtest.push(arg),
        }
    }
    // Environment variables fill what no option gave; each is read through
    // `env`, not by clap, so that its source can be named and tested.
    let given: Vec<&str> = ours.iter().filter_map(|a| a.strip_prefix("--")).collect();
    // (option, variable) of each value that came from the environment.
    let mut from_env: Vec<(String, String)> = Vec::new();
    let mut env_args: Vec<String> = Vec::new();
    for def in defs.get_arguments() {
        let (Some(long), Some(var)) = (def.get_long(), def.get_env()) else {
            continue;
        };
        let var = var.to_string_lossy().into_owned();
        match env(&var).filter(|_| !given.contains(&long)) {
            // A flag is set by any value but empty and `0`.
            Some(v) if matches!(def.get_action(), ArgAction::SetTrue) => {
                let set = !v.is_empty() && v != "0";
                env_args.extend(set.then(|| format!("--{long}")));
            }
            Some(v) => {
                env_args.push(format!("--{long}={v}"));
                from_env.push((long.to_string(), var));
            }
            None => {}
        }
    }
    let source = |long: &str| {
        from_env
            .iter()
            .find(|(l, _)| l == long)
            .map_or(format!("--{long}"), |(_, var)| var.clone())
    };
    ours.extend(env_args);
    ours.push("--".into());
    ours.extend(terms);
    let matches = defs
        .mut_args(|a| a.env(None))
        .try_get_matches_from(&ours)
        .map_err(|e| MissingValue::Other(e.render().to_string()))?;
    let o = Options::from_arg_matches(&matches).map_err(|e| MissingValue::Other(e.to_string()))?;
    let repeat = o
        .repeat
        .map(|v| repeat_count(&source("repeat"), &v))
        .transpose()?;
    let positive = |long: &str, v: Option<String>| {
        v.map(|v| {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or(MissingValue::Positive(format!("--{long}"), v))
        })
        .transpose()
    };
    let count = |long: &str, v: Option<String>| {
        v.map(|v| repeat_count(&format!("--{long}"), &v))
            .transpose()
    };
    let fixed = count("pairs", o.pairs)?;
    let (min, max) = (
        count("min-pairs", o.min_pairs)?,
        count("max-pairs", o.max_pairs)?,
    );
    let pairs = match (fixed, min, max) {
        (Some(n), _, _) => Some(crate::config::Pairs {
            min: Some(n),
            max: Some(n),
        }),
        (None, None, None) => None,
        (None, min, max) => Some(crate::config::Pairs { min, max }),
    };
    if let Some(n) = pairs.and_then(|p| p.min).filter(|n| *n < 2) {
        return Err(MissingValue::Other(format!(
            "{n} pair gives no interval; --pairs and --min-pairs take 2 or more (6 or more recommended: with fewer the t interval widens fast)"
        )));
    }
    let precision = crate::config::Precision {
        target_ci_pct: positive("target-ci", o.target_ci)?,
        pairs,
        max_trial_s: positive("max-trial-s", o.max_trial_s)?,
    };
    let seed = o
        .seed
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| MissingValue::Other(format!("--seed takes a whole number, not {v:?}")))
        })
        .transpose()?;
    let pool = o
        .pool
        .map(|v| pool_number(&source("pool"), &v))
        .transpose()?;
    let duration = o
        .duration
        .map(|v| {
            repeat_count("--duration", &v)
                .map_err(|_| MissingValue::Seconds("--duration".into(), v))
        })
        .transpose()?;
    let warmup = o
        .warmup
        .map(|v| v.parse::<u32>().map_err(|_| MissingValue::Warmup(v)))
        .transpose()?;
    Ok(HarnessArgs {
        config_dir: o.config_dir,
        junit: o.junit,
        results: o.results,
        repeat,
        duration,
        warmup,
        precision,
        calibrate: o
            .calibrate
            .map(|v| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| *n >= 2)
                    .ok_or(MissingValue::Calibrate(v))
            })
            .transpose()?,
        seed,
        baseline_from: o.baseline_from,
        compare_to: o.compare_to,
        commit: o.commit,
        strict: o.strict,
        load: o.load,
        allow_mismatch: o.allow_mismatch,
        no_report: o.no_report,
        no_tests: match o.no_tests.as_str() {
            "fail" => NoTests::Fail,
            "warn" => NoTests::Warn,
            "pass" => NoTests::Pass,
            v => return Err(MissingValue::NoTests(v.to_string())),
        },
        reconnect_wait: seconds(&source("reconnect-wait"), &o.reconnect_wait)?,
        no_wait: o.no_wait,
        pool,
        partition: o.partition.map(|p| p.parse()).transpose()?,
        filter: Filter {
            terms: o.terms,
            skip: o.skip,
            exact: o.exact,
            tools: o.tool,
            envs: o.env,
        },
        libtest,
        help,
    })
}

fn pool_number(source: &str, v: &str) -> Result<usize, MissingValue> {
    v.parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| MissingValue::Pool(source.into(), v.into()))
}

fn seconds(source: &str, v: &str) -> Result<Duration, MissingValue> {
    v.parse()
        .map(Duration::from_secs)
        .map_err(|_| MissingValue::Seconds(source.into(), v.into()))
}

fn repeat_count(source: &str, v: &str) -> Result<u32, MissingValue> {
    v.parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| MissingValue::Repeat(source.into(), v.into()))
}

#[cfg(test)]
mod tests;
