//! The custom test harness behind `cargo test --test perf` (docs/design.md §4): parses
//! its own options and filter terms, builds the matrix, selects trials (plus
//! the baselines they are compared with), lays out the interleaved schedule
//! (docs/design.md §7), and hands the rest of the command line to
//! libtest-mimic. Trials run one at a time through a [`driver::Driver`]:
//! baselines measured alone, the eBPF trials case by case (a case is
//! measured in pairs when its first trial runs), then their baselines.

mod options;
mod pool;
mod commit;
mod conditions;
mod driver;
mod live;
mod nextest;
pub mod progress;

pub use options::*;

use crate::analysis::Earlier;
use crate::config::{self, Config};
use crate::exit::Exit;
use crate::filter::{select, with_baselines};
use crate::junit;
use crate::matrix;
use crate::results;
use crate::run::Runner;
use driver::Driver;
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// Entry point of `harness/perf.rs`; `monitor_exe` is the monitor agent
/// binary that gets copied to the hosts.
pub fn main(monitor_exe: Option<PathBuf>) -> ExitCode {
    crate::restore_default_sigpipe();
    crate::logging::init();
    let args = match parse_args(std::env::args(), |k| std::env::var(k).ok()) {
        Ok(a) => a,
        Err(e @ MissingValue::Seed(_)) => {
            eprintln!("error: {e}");
            return Exit::Config.into();
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{}", help());
            return Exit::Config.into();
        }
    };
    if args.help {
        // Help works anywhere: no configuration is read, nothing is written.
        println!("{}", help());
        return Exit::Ok.into();
    }
    let cfg = match config::load(&args.config_dir) {
        Ok(c) => {
            // Before any child (git, strip) or thread starts.
            crate::host::remote::secrets::take_from_env(&c);
            c
        }
        Err(e) => {
            eprintln!("error: {e}");
            match junit::write_config_error(&args.junit, &e) {
                Ok(()) => eprintln!("JUnit: {}", args.junit.display()),
                Err(w) => eprintln!("error: cannot write JUnit {}: {w}", args.junit.display()),
            }
            return Exit::Config.into();
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
    } else if args.calibrate.is_some() {
        // Calibration needs each block's own spread (φ): three runs a block.
        cfg.override_repeats(3);
    }
    // A load scenario first: --duration still overrides its duration.
    if let Some(l) = args.load {
        cfg.apply_load(l);
    }
    if let Some(s) = args.duration {
        cfg.override_duration(s);
    }
    if let Some(n) = args.warmup {
        cfg.override_warmup(n);
    }
    cfg.override_precision(args.precision);
    let pool = match pool::choose(args.pool, args.partition.as_ref(), cfg.pool_count()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "error: {e} ({})",
                cfg.dir.join("test-env-config.yaml").display()
            );
            return Exit::Config.into();
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
            return Exit::Config.into();
        }
    };
    let mut filter = args.filter.clone();
    let tools = crate::filter::check_envs(&cfg, &filter.envs)
        .and_then(|()| crate::filter::resolve_tools(&cfg, &filter.tools));
    match tools {
        Ok(keys) => filter.tools = keys,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Config.into();
        }
    }
    let cfg = Arc::new(cfg);
    let matrix = Arc::new(matrix::build(&cfg));
    let mut filtered = select(&matrix, &filter);
    let matched = filtered.len();
    if let Some(p) = &args.partition {
        filtered = p.apply(&filtered, |t| {
            matrix.cycles[matrix.trials[t].cycle].id.as_str()
        });
    }
    let mut largs = Arguments::from_iter(&args.libtest);
    // Trials share hosts: one at a time, in matrix order.
    largs.test_threads = Some(1);
    // `--list` lists; `--ignored` runs the ignored trials, and none is:
    // neither touches the hosts or an earlier run's files.
    if largs.list || largs.ignored {
        let trials: Vec<Trial> = filtered
            .iter()
            .map(|&i| Trial::test(matrix.trials[i].name.clone(), || Ok(())))
            .collect();
        return libtest_mimic::run(&largs, trials).exit_code();
    }
    if filtered.is_empty() && args.no_tests != NoTests::Pass {
        let what = if let (Some(p), true) = (&args.partition, matched > 0) {
            format!("share {p} of the {matched} selected trials holds no cycle (fewer cycles than shards)")
        } else if filter == crate::filter::Filter::default() {
            "the configuration defines no trial".to_string()
        } else {
            let mut terms = filter.terms.join(" ");
            for s in &args.filter.skip {
                terms.push_str(&format!(" --skip {s}"));
            }
            for t in &args.filter.tools {
                terms.push_str(&format!(" --tool {t}"));
            }
            for e in &args.filter.envs {
                terms.push_str(&format!(" --env {e}"));
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
            return Exit::NoTests.into();
        }
        eprintln!("warning: {hint}");
    }
    // --calibrate: the selection's baselines only, measured in blocks.
    let filtered: Vec<usize> = match args.calibrate {
        Some(_) => filtered
            .into_iter()
            .filter(|&t| matrix.cycle_of(&matrix.trials[t]).case.is_none())
            .collect(),
        None => filtered,
    };
    if args.calibrate.is_some() && filtered.is_empty() {
        eprintln!("error: --calibrate measures baselines, and the filter selects none; `-- --list baseline` shows them");
        return Exit::NoTests.into();
    }
    let (selected, added) = with_baselines(&matrix, &filtered, |name| {
        baseline_from.as_ref().is_some_and(|e| {
            e.index
                .named(&e.results, name)
                .is_some_and(|t| t.status == results::Status::Passed)
        })
    });
    let mismatched = conditions::check(
        &cfg,
        &matrix,
        &selected,
        baseline_from.as_ref(),
        compare_to.as_ref(),
    );
    for m in &mismatched {
        if args.allow_mismatch {
            eprintln!("warning: {m}; comparing anyway (--allow-mismatch)");
        } else {
            eprintln!("error: {m}; measure it again under this configuration, or pass --allow-mismatch to compare anyway");
        }
    }
    if !mismatched.is_empty() && !args.allow_mismatch {
        return Exit::Config.into();
    }
    eprintln!(
        "ebpf-perf: {} of {} trials selected from {}{}{}",
        filtered.len(),
        matrix.trials.len(),
        cfg.dir.display(),
        match (added, filtered.len()) {
            (0, _) => String::new(),
            (1, 1) => ", plus the baseline trial it is compared with".to_string(),
            (1, _) => ", plus 1 baseline trial they are compared with".to_string(),
            (n, _) => format!(", plus {n} baseline trials they are compared with"),
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
    let mut cycles: Vec<usize> = selected.iter().map(|&t| matrix.trials[t].cycle).collect();
    cycles.dedup();
    for c in cycles {
        if let Some(w) = matrix::short_program(&cfg, &matrix, &matrix.cycles[c]) {
            eprintln!("warning: {w}");
        }
    }
    let seed = args.seed.unwrap_or_else(crate::schedule::fresh_seed);
    let schedule = crate::schedule::build(&matrix, &selected, seed);
    let order = crate::schedule::trial_order(&matrix, &schedule);
    let mut runner = Runner::new(
        cfg.clone(),
        matrix.clone(),
        &selected,
        monitor_exe.filter(|p| p.exists()),
    );
    runner.options.reconnect_wait = args.reconnect_wait;
    runner.options.no_wait = args.no_wait;
    if let Err(e) = watch_signals(&runner.cancel) {
        eprintln!("warning: cannot install the Ctrl-C handler ({e}); Ctrl-C will not tear down");
    }
    let mut driver = Driver::new(
        args,
        &cfg,
        schedule.clone(),
        runner,
        pool.pool,
        baseline_from,
        compare_to,
    );
    driver.compared_only = selected
        .iter()
        .copied()
        .filter(|t| !filtered.contains(t))
        .collect();
    driver.progress = Some(progress::Progress::new(&cfg, &matrix, &schedule));
    driver.live = live::Live::start();
    driver.calibrate = args.calibrate;
    if let Ok(run_id) = std::env::var(nextest::RUN_ID_ENV) {
        let first = filtered
            .first()
            .map_or("empty", |&t| &matrix.trials[t].name);
        driver.use_fragment(nextest::Fragment::new(&run_id, &args.results, first));
    }
    let driver = Arc::new(Mutex::new(driver));
    let trials: Vec<Trial> = order
        .iter()
        .map(|&i| {
            let driver = driver.clone();
            Trial::test(matrix.trials[i].name.clone(), move || {
                let mut s = driver.lock().unwrap_or_else(|p| p.into_inner());
                s.run_trial(i).map_err(Failed::from)
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&largs, trials);
    let mut s = driver.lock().unwrap_or_else(|p| p.into_inner());
    let code = s.finish();
    if code != ExitCode::from(Exit::Ok) {
        return code;
    }
    // Every verdict was final when libtest printed it: its exit code and
    // the results file agree.
    conclusion.exit_code()
}

/// Ctrl-C (SIGINT) or SIGTERM sets `flag`: the running trial stops, what was
/// set up is torn down, JUnit is written. A second signal exits at once.
fn watch_signals(flag: &Arc<std::sync::atomic::AtomicBool>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(
            sig,
            i32::from(Exit::Interrupted.code()),
            flag.clone(),
        )?;
        signal_hook::flag::register(sig, flag.clone())?;
    }
    Ok(())
}
