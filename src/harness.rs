//! The custom test harness behind `cargo test --test perf` (DESIGN 4): parses
//! its own options and filter terms, builds the matrix, selects trials, and
//! hands the rest of the command line to libtest-mimic. Trials run one at a
//! time in matrix order.

use crate::config::{self, Config};
use crate::filter::Filter;
use crate::matrix::{self, Matrix};
use crate::report;
use crate::run::Runner;
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

pub const DEFAULT_CONFIG_DIR: &str = "config";
pub const DEFAULT_JUNIT: &str = "target/ebpf-perf/junit.xml";
pub const CONFIG_ENV: &str = "EBPF_PERF_CONFIG";
pub const JUNIT_ENV: &str = "EBPF_PERF_JUNIT";

/// Exit code of a run stopped by bad input (configuration or options).
pub const EXIT_CONFIG: u8 = 2;

/// The harness's view of its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarnessArgs {
    pub config_dir: PathBuf,
    pub junit: PathBuf,
    pub filter: Filter,
    /// What libtest-mimic gets: program name and libtest flags, no filters.
    pub libtest: Vec<String>,
    pub help: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("option {0} needs a value")]
pub struct MissingValue(pub String);

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
                .ok_or_else(|| MissingValue(flag.to_string()))
        };
        match flag.as_str() {
            "--" => positional_only = true,
            "--config-dir" => config_dir = Some(PathBuf::from(value(&flag)?)),
            "--junit" => junit = Some(PathBuf::from(value(&flag)?)),
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
        filter,
        libtest,
        help,
    })
}

const HELP: &str = "\
ebpf-perf harness options (before libtest's own):
    --config-dir DIR   configuration directory [env: EBPF_PERF_CONFIG] [default: config]
    --junit PATH       JUnit XML output [env: EBPF_PERF_JUNIT] [default: target/ebpf-perf/junit.xml]
    TERM...            select trials whose name contains every TERM on token boundaries
                       (tokens are separated by `::` and `_`: case_1 does not match case_15)
    --skip TERM        drop trials matching TERM (repeatable)
    --exact            TERMs and --skip compare whole trial names
";

/// Indices of the trials the filter selects, in matrix order.
pub fn select(matrix: &Matrix, filter: &Filter) -> Vec<usize> {
    (0..matrix.trials.len())
        .filter(|&i| filter.matches(&matrix.trials[i].name))
        .collect()
}

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
            match report::write_config_error(&args.junit, &e) {
                Ok(()) => eprintln!("JUnit: {}", args.junit.display()),
                Err(w) => eprintln!("error: cannot write JUnit {}: {w}", args.junit.display()),
            }
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    run(&args, cfg, monitor_exe)
}

fn run(args: &HarnessArgs, cfg: Config, monitor_exe: Option<PathBuf>) -> ExitCode {
    let cfg = Arc::new(cfg);
    let matrix = Arc::new(matrix::build(&cfg));
    let selected = select(&matrix, &args.filter);
    let mut largs = Arguments::from_iter(&args.libtest);
    // Trials share hosts: one at a time, in matrix order.
    largs.test_threads = Some(1);
    if largs.list {
        let trials: Vec<Trial> = selected
            .iter()
            .map(|&i| Trial::test(matrix.trials[i].name.clone(), || Ok(())))
            .collect();
        return libtest_mimic::run(&largs, trials).exit_code();
    }
    eprintln!(
        "ebpf-perf: {} of {} trials selected from {}",
        selected.len(),
        matrix.trials.len(),
        cfg.dir.display()
    );
    let runner = Runner::new(
        cfg.clone(),
        matrix.clone(),
        &selected,
        args.junit.clone(),
        monitor_exe.filter(|p| p.exists()),
    );
    if let Err(e) = watch_signals(&runner.cancel) {
        eprintln!("warning: cannot install the Ctrl-C handler ({e}); Ctrl-C will not tear down");
    }
    let runner = Arc::new(Mutex::new(runner));
    let trials: Vec<Trial> = selected
        .iter()
        .map(|&i| {
            let runner = runner.clone();
            Trial::test(matrix.trials[i].name.clone(), move || {
                let mut r = runner.lock().unwrap_or_else(|p| p.into_inner());
                r.run_trial(i).map_err(Failed::from)
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&largs, trials);
    let mut r = runner.lock().unwrap_or_else(|p| p.into_inner());
    r.finish();
    match r.write_junit() {
        Ok(()) => eprintln!("JUnit: {}", args.junit.display()),
        Err(e) => {
            eprintln!("error: cannot write JUnit {}: {e}", args.junit.display());
            return ExitCode::FAILURE;
        }
    }
    if r.teardown_failed() {
        eprintln!("error: a teardown failed (see JUnit teardown:: entries)");
        return ExitCode::FAILURE;
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
    fn missing_value_is_an_error() {
        let argv = ["perf", "--config-dir"].map(String::from);
        assert_eq!(
            parse_args(argv, |_| None).unwrap_err().to_string(),
            "option --config-dir needs a value"
        );
    }
}
