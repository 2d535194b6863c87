//! The custom test harness behind `cargo test --test perf` (DESIGN 4): parses
//! its own options and filter terms, builds the matrix, selects trials (plus
//! the baselines they are compared with), and hands the rest of the command
//! line to libtest-mimic. Trials run one at a time in matrix order through a
//! [`session::Session`]: run, judge, record.

mod pool;
mod session;

use crate::analysis::Earlier;
use crate::config::{self, Config};
use crate::filter::{select, with_baselines, Filter};
use crate::junit;
use crate::matrix;
use crate::results;
use crate::run::Runner;
use libtest_mimic::{Arguments, Failed, Trial};
use session::Session;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

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

/// Exit code of a run stopped by bad input (configuration or options).
pub const EXIT_CONFIG: u8 = 2;
/// A filter that selects nothing (nextest's NO_TESTS_RUN).
pub const EXIT_NO_TESTS: u8 = 4;

/// The harness's view of its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarnessArgs {
    pub config_dir: PathBuf,
    pub junit: PathBuf,
    pub results: PathBuf,
    /// Overrides every `repeats` of the spec.
    pub repeat: Option<u32>,
    pub baseline_from: Option<PathBuf>,
    pub compare_to: Option<PathBuf>,
    /// Inconclusive verdicts fail too.
    pub strict: bool,
    /// Do not write report.html and summary.md.
    pub no_report: bool,
    /// What a selection of no trials does (`--no-tests`, nextest's spelling).
    pub no_tests: NoTests,
    /// How long the end of the run waits for an unreachable host to come
    /// back, to stop what still runs there.
    pub reconnect_wait: std::time::Duration,
    /// Fail at once when another run holds a host (else wait for it).
    pub no_wait: bool,
    /// Which pool of hosts to use (1-based; `--pool`, `EBPF_PERF_POOL`).
    pub pool: Option<usize>,
    /// This job's share of the selection (`--partition count:K/N|hash:K/N`).
    pub partition: Option<crate::partition::Partition>,
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
    #[error(transparent)]
    Partition(#[from] crate::partition::PartitionError),
    #[error("{0} takes a pool number >= 1, not {1:?}")]
    Pool(String, String),
}

fn pool_number(source: &str, v: &str) -> Result<usize, MissingValue> {
    v.parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| MissingValue::Pool(source.into(), v.into()))
}

fn seconds(source: &str, v: &str) -> Result<std::time::Duration, MissingValue> {
    v.parse()
        .map(std::time::Duration::from_secs)
        .map_err(|_| MissingValue::Seconds(source.into(), v.into()))
}

fn repeat_count(source: &str, v: &str) -> Result<u32, MissingValue> {
    v.parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| MissingValue::Repeat(source.into(), v.into()))
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
const LIBTEST_VALUE_FLAGS: &[&str] = &["--test-threads", "--logfile", "--color", "--format", "-Z"];

/// Splits the command line into ours and libtest's. `env` reads environment
/// variables (`EBPF_PERF_CONFIG`, `EBPF_PERF_JUNIT`), which options override.
pub fn parse_args(
    argv: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<HarnessArgs, MissingValue> {
    let mut it = argv.into_iter();
    let mut libtest = vec![it.next().unwrap_or_else(|| "perf".into())];
    let mut config_dir = None;
    let mut junit = None;
    let mut results = None;
    let mut repeat = None;
    let mut baseline_from = None;
    let mut compare_to = None;
    let mut strict = false;
    let mut no_tests = NoTests::Fail;
    let mut reconnect_wait = None;
    let mut partition = None;
    let mut no_wait = false;
    let mut pool = None;
    let mut no_report = env(NO_REPORT_ENV).is_some_and(|v| !v.is_empty() && v != "0");
    let mut filter = Filter::default();
    let mut help = false;
    let mut positional_only = false;
    while let Some(arg) = it.next() {
        if positional_only || !arg.starts_with('-') || arg == "-" {
            filter.terms.push(arg);
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
        match flag.as_str() {
            "--" => positional_only = true,
            "--config-dir" => config_dir = Some(PathBuf::from(value(&flag)?)),
            "--junit" => junit = Some(PathBuf::from(value(&flag)?)),
            "--results" => results = Some(PathBuf::from(value(&flag)?)),
            "--repeat" => repeat = Some(repeat_count("--repeat", &value(&flag)?)?),
            "--baseline-from" => baseline_from = Some(PathBuf::from(value(&flag)?)),
            "--compare-to" => compare_to = Some(PathBuf::from(value(&flag)?)),
            "--strict" => strict = true,
            "--no-report" => no_report = true,
            "--reconnect-wait" => reconnect_wait = Some(seconds(&flag, &value(&flag)?)?),
            "--partition" => partition = Some(value(&flag)?.parse()?),
            "--no-wait" => no_wait = true,
            "--pool" => pool = Some(pool_number("--pool", &value(&flag)?)?),
            "--no-tests" => {
                no_tests = match value(&flag)?.as_str() {
                    "fail" => NoTests::Fail,
                    "warn" => NoTests::Warn,
                    "pass" => NoTests::Pass,
                    v => return Err(MissingValue::NoTests(v.to_string())),
                }
            }
            "--skip" => filter.skip.push(value(&flag)?),
            "--exact" => filter.exact = true,
            "-h" | "--help" => {
                help = true;
                libtest.push(arg);
            }
            f if LIBTEST_VALUE_FLAGS.contains(&f) => {
                let v = value(f)?;
                libtest.push(f.to_string());
                libtest.push(v);
            }
            _ => libtest.push(arg),
        }
    }
    Ok(HarnessArgs {
        config_dir: config_dir
            .or_else(|| env(CONFIG_ENV).map(PathBuf::from))
            .unwrap_or_else(|| DEFAULT_CONFIG_DIR.into()),
        junit: junit
            .or_else(|| env(JUNIT_ENV).map(PathBuf::from))
            .unwrap_or_else(|| DEFAULT_JUNIT.into()),
        results: results
            .or_else(|| env(results::ENV).map(PathBuf::from))
            .unwrap_or_else(|| results::DEFAULT_PATH.into()),
        repeat: match repeat {
            Some(n) => Some(n),
            None => env(REPEAT_ENV)
                .map(|v| repeat_count(REPEAT_ENV, &v))
                .transpose()?,
        },
        baseline_from,
        compare_to,
        strict,
        no_report,
        no_tests,
        reconnect_wait: match reconnect_wait {
            Some(d) => d,
            None => env(RECONNECT_WAIT_ENV)
                .map(|v| seconds(RECONNECT_WAIT_ENV, &v))
                .transpose()?
                .unwrap_or(std::time::Duration::from_secs(DEFAULT_RECONNECT_WAIT_S)),
        },
        partition,
        no_wait,
        pool: match pool {
            Some(p) => Some(p),
            None => env(POOL_ENV)
                .map(|v| pool_number(POOL_ENV, &v))
                .transpose()?,
        },
        filter,
        libtest,
        help,
    })
}

const HELP: &str = "\
ebpf-perf harness options (before libtest's own):
    --config-dir DIR   configuration directory [env: EBPF_PERF_CONFIG] [default: config]
    --junit PATH       JUnit XML output [env: EBPF_PERF_JUNIT] [default: target/ebpf-perf/junit.xml]
    --results PATH     results file [env: EBPF_PERF_RESULTS] [default: target/ebpf-perf/results.json]
    --repeat N         measured runs of every trial, overriding `repeats` [env: EBPF_PERF_REPEAT]
    --baseline-from F  take baselines that this run does not measure from results file F
    --compare-to F     fail eBPF trials whose overhead grew beyond regression_pct since results file F
    --strict           inconclusive budget or regression verdicts fail the trial
    --no-tests ACTION  when the filter selects no trial: fail (default, exit 4), warn or pass
    --no-report        do not write report.html and summary.md next to the results file
                       [env: EBPF_PERF_NO_REPORT=1]
    --pool N           use pool N of every environment's hosts (`pools:`); with --partition
                       count:K/N or hash:K/N and no --pool, pool K [env: EBPF_PERF_POOL]
    --no-wait          fail at once when another run holds a host (by default: wait for it,
                       saying which run holds it)
    --reconnect-wait S at the end, wait up to S seconds for a host that became unreachable,
                       to stop what still runs there [env: EBPF_PERF_RECONNECT_WAIT] [default: 60]
    TERM...            select trials whose name contains every TERM on token boundaries
                       (tokens are separated by `::` and `_`: case_1 does not match case_15)
    --skip TERM        drop trials matching TERM (repeatable)
    --exact            TERMs and --skip compare whole trial names
    --partition P      run one share of the selection: count:K/N (cycles dealt in turn) or
                       hash:K/N (by a hash of the cycle id); a case is never split, and each
                       share runs the baselines its eBPF trials are compared with
";

/// Entry point of `harness/perf.rs`; `monitor_exe` is the monitor agent
/// binary that gets copied to the hosts.
pub fn main(monitor_exe: Option<PathBuf>) -> ExitCode {
    crate::restore_default_sigpipe();
    crate::logging::init();
    let args = match parse_args(std::env::args(), |k| std::env::var(k).ok()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}\n\n{HELP}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if args.help {
        println!("{HELP}");
    }
    let cfg = match config::load(&args.config_dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            match junit::write_config_error(&args.junit, &e) {
                Ok(()) => eprintln!("JUnit: {}", args.junit.display()),
                Err(w) => eprintln!("error: cannot write JUnit {}: {w}", args.junit.display()),
            }
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    run(&args, cfg, monitor_exe)
}

/// Reads an earlier results file named by an option, or says why not.
fn earlier(option: &str, path: &Option<PathBuf>) -> Result<Option<Earlier>, String> {
    match path {
        None => Ok(None),
        Some(p) => results::read(p)
            .map(|r| Some(Earlier::new(r, p.display().to_string())))
            .map_err(|e| format!("{option}: {e}")),
    }
}

fn run(args: &HarnessArgs, mut cfg: Config, monitor_exe: Option<PathBuf>) -> ExitCode {
    for w in &cfg.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(n) = args.repeat {
        cfg.override_repeats(n);
    }
    let pool = match pool::choose(args.pool, args.partition.as_ref(), cfg.pool_count()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "error: {e} ({})",
                cfg.dir.join("test-env-config.yaml").display()
            );
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Some(p) = pool.pool {
        cfg.use_pool(p);
    }
    let (baseline_from, compare_to) = match (
        earlier("--baseline-from", &args.baseline_from),
        earlier("--compare-to", &args.compare_to),
    ) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let cfg = Arc::new(cfg);
    let matrix = Arc::new(matrix::build(&cfg));
    let mut filtered = select(&matrix, &args.filter);
    let matched = filtered.len();
    if let Some(p) = &args.partition {
        filtered = p.apply(&filtered, |t| {
            matrix.cycles[matrix.trials[t].cycle].id.as_str()
        });
    }
    let mut largs = Arguments::from_iter(&args.libtest);
    // Trials share hosts: one at a time, in matrix order.
    largs.test_threads = Some(1);
    if largs.list {
        let trials: Vec<Trial> = filtered
            .iter()
            .map(|&i| Trial::test(matrix.trials[i].name.clone(), || Ok(())))
            .collect();
        return libtest_mimic::run(&largs, trials).exit_code();
    }
    if filtered.is_empty() && args.no_tests != NoTests::Pass {
        let what = if let (Some(p), true) = (&args.partition, matched > 0) {
            format!("share {p} of the {matched} selected trials holds no cycle (fewer cycles than shards)")
        } else if args.filter.terms.is_empty() && args.filter.skip.is_empty() {
            "the configuration defines no trial".to_string()
        } else {
            let mut terms = args.filter.terms.join(" ");
            for s in &args.filter.skip {
                terms.push_str(&format!(" --skip {s}"));
            }
            format!("no trial matches `{}`", terms.trim())
        };
        let hint = format!(
            "{what} ({} trials in {}); `-- --list` shows their names; `--no-tests pass` allows an empty run",
            matrix.trials.len(),
            cfg.dir.display()
        );
        if args.no_tests == NoTests::Fail {
            eprintln!("error: {hint}");
            return ExitCode::from(EXIT_NO_TESTS);
        }
        eprintln!("warning: {hint}");
    }
    let (selected, added) = with_baselines(&matrix, &filtered, |name| {
        baseline_from.as_ref().is_some_and(|e| {
            e.index
                .named(&e.results, name)
                .is_some_and(|t| t.status == results::Status::Passed)
        })
    });
    eprintln!(
        "ebpf-perf: {} of {} trials selected from {}{}{}",
        filtered.len(),
        matrix.trials.len(),
        cfg.dir.display(),
        match added {
            0 => String::new(),
            1 => ", plus 1 baseline trial it is compared with".to_string(),
            n => format!(", plus {n} baseline trials they are compared with"),
        },
        match pool.pool {
            Some(p) => format!(
                ", on pool {p} ({})",
                cfg.pool_hosts(&crate::run::fixtures::environments(&matrix, &selected))
                    .join(", ")
            ),
            None => String::new(),
        }
    );
    if let Some(n) = &pool.note {
        eprintln!("note: {n}");
    }
    let mut runner = Runner::new(
        cfg.clone(),
        matrix.clone(),
        &selected,
        monitor_exe.filter(|p| p.exists()),
    );
    runner.reconnect_wait = args.reconnect_wait;
    runner.no_wait = args.no_wait;
    if let Err(e) = watch_signals(&runner.cancel) {
        eprintln!("warning: cannot install the Ctrl-C handler ({e}); Ctrl-C will not tear down");
    }
    let mut session = Session::new(args, &cfg, runner, pool.pool, baseline_from, compare_to);
    session.compared_only = selected
        .iter()
        .copied()
        .filter(|t| !filtered.contains(t))
        .collect();
    let session = Arc::new(Mutex::new(session));
    let trials: Vec<Trial> = selected
        .iter()
        .map(|&i| {
            let session = session.clone();
            Trial::test(matrix.trials[i].name.clone(), move || {
                let mut s = session.lock().unwrap_or_else(|p| p.into_inner());
                s.run_trial(i).map_err(Failed::from)
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&largs, trials);
    let mut s = session.lock().unwrap_or_else(|p| p.into_inner());
    let code = s.finish();
    if code != ExitCode::SUCCESS {
        return code;
    }
    conclusion.exit_code()
}

/// Ctrl-C (SIGINT) or SIGTERM sets `flag`: the running trial stops, what was
/// set up is torn down, JUnit is written. A second signal exits at once.
fn watch_signals(flag: &Arc<std::sync::atomic::AtomicBool>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(
            sig,
            crate::run::EXIT_INTERRUPTED,
            flag.clone(),
        )?;
        signal_hook::flag::register(sig, flag.clone())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(a: &[&str]) -> HarnessArgs {
        let argv = std::iter::once("perf")
            .chain(a.iter().copied())
            .map(String::from);
        parse_args(argv, |_| None).unwrap()
    }

    #[test]
    fn splits_terms_ours_and_libtests() {
        let a = parse(&[
            "case_5",
            "--config-dir",
            "cfg",
            "--test-threads",
            "4",
            "host",
            "--skip=udp",
            "-q",
            "--format",
            "terse",
            "throughput",
            "--junit=j.xml",
            "--list",
            "--exact",
        ]);
        assert_eq!(a.config_dir, PathBuf::from("cfg"));
        assert_eq!(a.junit, PathBuf::from("j.xml"));
        assert_eq!(a.filter.terms, ["case_5", "host", "throughput"]);
        assert_eq!(a.filter.skip, ["udp"]);
        assert!(a.filter.exact);
        assert_eq!(
            a.libtest,
            [
                "perf",
                "--test-threads",
                "4",
                "-q",
                "--format",
                "terse",
                "--list"
            ]
        );
    }

    #[test]
    fn env_is_default_and_options_win() {
        let env = |k: &str| match k {
            CONFIG_ENV => Some("from-env".to_string()),
            JUNIT_ENV => Some("env.xml".to_string()),
            _ => None,
        };
        let argv = ["perf", "--junit", "cli.xml"].map(String::from);
        let a = parse_args(argv, env).unwrap();
        assert_eq!(a.config_dir, PathBuf::from("from-env"));
        assert_eq!(a.junit, PathBuf::from("cli.xml"));
        let d = parse(&[]);
        assert_eq!(d.config_dir, PathBuf::from(DEFAULT_CONFIG_DIR));
        assert_eq!(d.junit, PathBuf::from(DEFAULT_JUNIT));
    }

    #[test]
    fn reconnect_wait_from_option_env_or_default() {
        use std::time::Duration;
        let env = |k: &str| (k == RECONNECT_WAIT_ENV).then(|| "7".to_string());
        let from_env = parse_args(["perf"].map(String::from), env).unwrap();
        assert_eq!(from_env.reconnect_wait, Duration::from_secs(7));
        let argv = ["perf", "--reconnect-wait=3"].map(String::from);
        assert_eq!(
            parse_args(argv, env).unwrap().reconnect_wait,
            Duration::from_secs(3)
        );
        assert_eq!(
            parse(&[]).reconnect_wait,
            Duration::from_secs(DEFAULT_RECONNECT_WAIT_S)
        );
        let bad = ["perf", "--reconnect-wait", "soon"].map(String::from);
        assert_eq!(
            parse_args(bad, |_| None).unwrap_err().to_string(),
            "--reconnect-wait takes a whole number of seconds, not \"soon\""
        );
    }

    #[test]
    fn missing_value_is_an_error() {
        let argv = ["perf", "--config-dir"].map(String::from);
        assert_eq!(
            parse_args(argv, |_| None).unwrap_err().to_string(),
            "option --config-dir needs a value"
        );
    }
}
