//! The driver of one harness run. libtest calls it once per trial, in the
//! schedule's order (baselines measured alone, the eBPF trials case by
//! case, then their baselines); the
//! first trial of a case runs the whole case in pairs ([`pairs`]), which
//! decides every trial of it; later calls report the verdict decided then,
//! which is final: libtest's line, JUnit, the results file and the exit
//! code all say it. The results file is rewritten (atomically) after every
//! pair, so that a crash or Ctrl-C loses at most the pair in flight.
//! Ctrl-C tears down, writes both files and exits 130.

mod pairs;

use super::HarnessArgs;
use crate::analysis::{Earlier, Index, Settings};
use crate::config::Config;
use crate::exit::Exit;
use crate::junit::{self, TrialRecord};
use crate::report;
use crate::results::{self, Results, Status};
use crate::run::Runner;
use crate::schedule::Schedule;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

pub struct Driver {
    runner: Runner,
    cfg: Arc<Config>,
    schedule: Schedule,
    /// Each selected trial's entry in the results (matrix index → index).
    slot: HashMap<usize, usize>,
    /// Trials whose verdict is decided (matrix indices): final.
    decided: HashSet<usize>,
    results: Results,
    results_path: PathBuf,
    junit: PathBuf,
    settings: Settings,
    /// This run's trials, indexed as they are appended.
    index: Index,
    baseline_from: Option<Earlier>,
    compare_to: Option<Earlier>,
    /// Each trial's last monitoring lines (by results index), for its
    /// JUnit record (made when the file is written: the q-values change as
    /// trials are added).
    lines: Vec<Vec<String>>,
    /// Write report.html and summary.md next to the results file.
    report: bool,
    /// Baselines run only to be compared with (not in the selection).
    pub compared_only: HashSet<usize>,
    /// `--calibrate N`: blocks of every baseline (measured alone).
    pub calibrate: Option<u32>,
    /// The line on stderr after each trial.
    pub progress: Option<super::progress::Progress>,
    /// The live line, when stderr is a terminal.
    pub live: Option<super::live::Live>,
    /// `--show-output` / `--nocapture`: each trial's JUnit lines on stderr.
    show_output: bool,
    /// Under nextest: this process's fragment, and the results file the
    /// run's fragments are merged into.
    nextest: Option<(super::nextest::Fragment, PathBuf)>,
}

impl Driver {
    pub fn new(
        args: &HarnessArgs,
        cfg: &Arc<Config>,
        schedule: Schedule,
        runner: Runner,
        pool: Option<usize>,
        baseline_from: Option<Earlier>,
        compare_to: Option<Earlier>,
    ) -> Driver {
        let mut selection = args.filter.terms.clone();
        selection.extend(args.filter.skip.iter().map(|s| format!("--skip {s}")));
        selection.extend(args.filter.tools.iter().map(|t| format!("--tool {t}")));
        selection.extend(args.filter.envs.iter().map(|e| format!("--env {e}")));
        if args.filter.exact {
            selection.push("--exact".into());
        }
        if let Some(l) = args.load {
            selection.push(format!(
                "--load {}",
                clap::ValueEnum::to_possible_value(&l)
                    .map_or_else(String::new, |v| v.get_name().to_string())
            ));
        }
        if let Some(p) = &args.partition {
            selection.push(format!("--partition {p}"));
        }
        if let Some(p) = pool {
            selection.push(format!("--pool {p}"));
        }
        let results = Results::new(results::Session {
            id: runner.session_id().to_string(),
            started: crate::naming::log_timestamp(chrono::Utc::now()),
            config_dir: cfg.dir.display().to_string(),
            selection,
            baseline_from: baseline_from.as_ref().map(|e| e.path.clone()),
            compare_to: compare_to.as_ref().map(|e| e.path.clone()),
            comparisons: cfg.comparisons.clone(),
            ratings: cfg.ratings,
            commit: args.commit.clone().or_else(|| super::commit::of(&cfg.dir)),
            seed: Some(schedule.seed),
            ..Default::default()
        });
        Driver {
            runner,
            cfg: cfg.clone(),
            schedule,
            slot: HashMap::new(),
            decided: HashSet::new(),
            results,
            results_path: args.results.clone(),
            junit: args.junit.clone(),
            settings: Settings {
                allow_mismatch: args.allow_mismatch,
                ..Settings::from_config(cfg, args.strict)
            },
            index: Index::default(),
            baseline_from,
            compare_to,
            lines: Vec::new(),
            report: !args.no_report,
            compared_only: Default::default(),
            calibrate: None,
            progress: None,
            live: None,
            show_output: args
                .libtest
                .iter()
                .any(|a| a == "--show-output" || a == "--nocapture"),
            nextest: None,
        }
    }

    /// Under nextest: results go to `f`, and every fragment of the run is
    /// merged into the results file, JUnit and report at the end.
    pub fn use_fragment(&mut self, f: super::nextest::Fragment) {
        let merged = std::mem::replace(&mut self.results_path, f.file.clone());
        self.nextest = Some((f, merged));
    }

    /// Decides trial `t` (running its case, or its baselines measured
    /// alone, when it is the first of them) and reports it; the error
    /// message fails it.
    pub fn run_trial(&mut self, t: usize) -> Result<(), String> {
        if self.runner.interrupted() {
            self.abort();
        }
        if !self.decided.contains(&t) {
            let case = self
                .schedule
                .cases
                .iter()
                .position(|c| c.trials.iter().any(|(x, _)| *x == t));
            let alone = self
                .schedule
                .alone
                .iter()
                .position(|a| a.trials.contains(&t));
            if let (Some(live), Some(p)) = (&self.live, &self.progress) {
                live.begin(&self.runner.matrix().trials[t].name, p.running());
            }
            match (case, alone) {
                (Some(c), _) => self.run_case(c),
                (None, Some(a)) => self.run_alone(a),
                (None, None) => {}
            }
            if let Some(live) = &self.live {
                live.clear();
            }
            if !self.decided.contains(&t) && self.unserved(t) {
                // Its cases ended before its first block: measured alone.
                self.run_unserved(t);
            }
            if !self.decided.contains(&t) {
                // A baseline whose blocks its cases measured.
                self.decide(t, false);
            }
            self.save_results();
        }
        if self.runner.interrupted() {
            self.abort();
        }
        self.report(t)
    }

    /// Prints trial `t`'s line (and with `--show-output` its JUnit lines);
    /// `Err` with its failure message when it failed.
    fn report(&mut self, t: usize) -> Result<(), String> {
        let Some(&idx) = self.slot.get(&t) else {
            return Err(format!(
                "{}: not measured (nothing in the schedule ran it)",
                self.runner.matrix().trials[t].name
            ));
        };
        let trial = &self.results.trials[idx];
        let passed = trial.status == Status::Passed;
        let message = (!passed).then(|| crate::readout::failure_message(trial));
        if self.show_output {
            let mut out = crate::readout::system_out(trial);
            out.extend(self.lines[idx].iter().cloned());
            let text = format!("\n---- {} ----\n{}\n", trial.name, out.join("\n"));
            eprint!("{}", crate::untrusted::visible(&text));
        }
        if let Some(p) = &mut self.progress {
            // What hosts printed (a failure's message) is shown, not obeyed.
            let shared = super::progress::shared_stream();
            let line = p.trial_done(t, trial, !shared);
            let line = crate::untrusted::visible(&line);
            if shared {
                if self.live.is_some() {
                    eprint!("test {} ... ", trial.name);
                }
                eprint!("{line} → ");
            } else {
                eprintln!("{line}");
            }
        }
        match message {
            None => Ok(()),
            Some(m) => Err(m),
        }
    }

    fn save_results(&mut self) {
        self.results.session.hosts = self.runner.facts().clone();
        self.results.decisions = crate::decision::of_session(&self.results);
        if let Err(e) = results::write(&self.results_path, &self.results) {
            eprintln!("ebpf-perf: error: {e}");
        }
    }

    /// Leaves every scope, writes JUnit and the results file; says where.
    /// A failure to write, or a failed teardown, is a failed run.
    pub fn finish(&mut self) -> ExitCode {
        self.runner.finish();
        self.results.session.teardown_errors = self
            .runner
            .teardown_errors()
            .iter()
            .map(|(scope, e)| results::TeardownError {
                scope: scope.clone(),
                message: e.to_string(),
                detail: e.detail(),
            })
            .collect();
        self.results.session.finished = Some(crate::naming::log_timestamp(chrono::Utc::now()));
        self.save_results();
        if self.progress.is_some() {
            for line in super::progress::costliest(&self.results, 10) {
                eprintln!("{}", crate::untrusted::visible(&line));
            }
        }
        let mut code = ExitCode::from(Exit::Ok);
        if let Some((f, merged)) = &self.nextest {
            eprintln!("Results of this process: {}", f.file.display());
            match f.merge(merged, &self.junit, self.report) {
                Ok((trials, n)) => eprintln!(
                    "nextest run: {trials} trials from {n} processes merged into {} (JUnit: {})",
                    merged.display(),
                    self.junit.display()
                ),
                Err(e) => {
                    eprintln!(
                        "error: cannot merge the nextest run's results ({}) into {}: {e}",
                        f.dir.display(),
                        merged.display()
                    );
                    code = ExitCode::from(Exit::Failed);
                }
            }
            if self.runner.teardown_failed() {
                eprintln!("error: a teardown failed (see JUnit teardown:: entries)");
                code = ExitCode::from(Exit::Failed);
            }
            return code;
        }
        match self.write_junit() {
            Ok(()) => eprintln!("JUnit: {}", self.junit.display()),
            Err(e) => {
                eprintln!("error: cannot write JUnit {}: {e}", self.junit.display());
                code = ExitCode::from(Exit::Failed);
            }
        }
        eprintln!("Results: {}", self.results_path.display());
        if self.calibrate.is_some() {
            self.write_calibration();
        }
        if self.report {
            self.write_report();
        }
        if self.runner.teardown_failed() {
            eprintln!("error: a teardown failed (see JUnit teardown:: entries)");
            code = ExitCode::from(Exit::Failed);
        }
        code
    }

    /// `calibration.json` next to the results file, and its table.
    fn write_calibration(&self) {
        let cal = crate::calibration::from_results(std::slice::from_ref(&self.results));
        let path = self
            .results_path
            .with_file_name(crate::naming::CALIBRATION_FILE);
        eprint!("{}", crate::calibration::table(&cal));
        match crate::calibration::write(&cal, &path) {
            Ok(()) => eprintln!("Calibration: {}", path.display()),
            Err(e) => eprintln!("error: {e}"),
        }
    }

    /// report.html and summary.md next to the results file. A report that
    /// cannot be written is said, but the run's verdict does not change.
    fn write_report(&self) {
        let out = self
            .results_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let opts = report::Options {
            compare: Vec::new(),
            earlier: self
                .compare_to
                .as_ref()
                .map(|e| (e.path.as_str(), &e.results)),
            calibration: None,
        };
        match report::write(&self.results, out, &opts) {
            Ok(w) => eprintln!(
                "Report: {} (summary: {})",
                w.html.display(),
                w.markdown.display()
            ),
            Err(e) => eprintln!("warning: no report: {e}"),
        }
    }

    /// Ctrl-C: tear everything down, write both files, exit 130.
    fn abort(&mut self) -> ! {
        eprintln!("\nebpf-perf: interrupted; tearing down what was set up");
        self.results.session.interrupted = true;
        // Trials whose pairs were under way have no verdict: they say so.
        let undecided: Vec<usize> = self
            .slot
            .iter()
            .filter(|(t, _)| !self.decided.contains(t))
            .map(|(_, &i)| i)
            .collect();
        for i in undecided {
            let t = &mut self.results.trials[i];
            t.status = Status::Failed;
            t.error
                .get_or_insert_with(|| "interrupted before its pairs were done: no verdict".into());
        }
        // Teardown must run to completion: later Ctrl-C presses no longer cancel.
        let _ = self.finish();
        std::process::exit(i32::from(Exit::Interrupted.code()));
    }

    /// JUnit in libtest's order (the results file keeps the order the
    /// trials were first measured in: a baseline with its case's first
    /// pair).
    fn write_junit(&self) -> std::io::Result<()> {
        let order = crate::schedule::trial_order(self.runner.matrix(), &self.schedule);
        let mut by_order: Vec<(usize, usize)> = (self.slot.iter())
            .map(|(&t, &i)| (order.iter().position(|&x| x == t).unwrap_or(usize::MAX), i))
            .collect();
        by_order.sort_unstable();
        let mut recs: Vec<TrialRecord> = by_order
            .iter()
            .map(|&(_, i)| junit::record(&self.results.trials[i], &self.lines[i]))
            .collect();
        recs.extend(junit::teardown_records(
            &self.results.session.teardown_errors,
        ));
        junit::write_trials(&self.junit, &recs)
    }
}
