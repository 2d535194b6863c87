//! The driver of one harness run, a sequence of trials: each is run by the
//! [`Runner`], judged by [`analysis`], counted, recorded for JUnit, and the
//! results file is rewritten (atomically) after every trial, so that a crash
//! or Ctrl-C loses at most the trial in flight. Ctrl-C tears down, writes
//! both files and exits 130.

use super::HarnessArgs;
use crate::analysis::{self, Earlier, Index, Settings, Sources};
use crate::config::Config;
use crate::exit::Exit;
use crate::junit::{self, TrialRecord};
use crate::report;
use crate::results::{self, Results, Status};
use crate::run::Runner;
use std::path::PathBuf;
use std::process::ExitCode;

pub struct Driver {
    runner: Runner,
    results: Results,
    results_path: PathBuf,
    junit: PathBuf,
    settings: Settings,
    /// This run's trials, indexed as they are appended.
    index: Index,
    baseline_from: Option<Earlier>,
    compare_to: Option<Earlier>,
    /// Each trial's monitoring lines, for its JUnit record (made when the
    /// file is written: the q-values change as trials are added).
    lines: Vec<Vec<String>>,
    /// Write report.html and summary.md next to the results file.
    report: bool,
    /// Baselines run only to be compared with (not in the selection).
    pub compared_only: std::collections::HashSet<usize>,
    /// When the baselines are measured again.
    pub bracket: Option<super::bracket::Bracket>,
    /// `--calibrate N`: blocks a baseline, and the last selected trial.
    pub calibrate: Option<(u32, usize)>,
    /// The line on stderr after each trial.
    pub progress: Option<super::progress::Progress>,
    /// The live line, when stderr is a terminal.
    pub live: Option<super::live::Live>,
    /// `--show-output` / `--nocapture`: each trial's JUnit lines on stderr.
    show_output: bool,
    /// Trials whose verdict changed after their line was printed (a later
    /// baseline block judged them again): name, then, now.
    changed: Vec<(String, Status, Status)>,
    /// Under nextest: this process's fragment, and the results file the
    /// run's fragments are merged into.
    nextest: Option<(super::nextest::Fragment, PathBuf)>,
}

impl Driver {
    pub fn new(
        args: &HarnessArgs,
        cfg: &Config,
        runner: Runner,
        pool: Option<usize>,
        baseline_from: Option<Earlier>,
        compare_to: Option<Earlier>,
    ) -> Driver {
        let mut selection = args.filter.terms.clone();
        selection.extend(args.filter.skip.iter().map(|s| format!("--skip {s}")));
        selection.extend(args.filter.tools.iter().map(|t| format!("--tool {t}")));
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
            ..Default::default()
        });
        Driver {
            runner,
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
            bracket: None,
            calibrate: None,
            progress: None,
            live: None,
            show_output: args
                .libtest
                .iter()
                .any(|a| a == "--show-output" || a == "--nocapture"),
            changed: Vec::new(),
            nextest: None,
        }
    }

    /// Under nextest: results go to `f`, and every fragment of the run is
    /// merged into the results file, JUnit and report at the end.
    pub fn use_fragment(&mut self, f: super::nextest::Fragment) {
        let merged = std::mem::replace(&mut self.results_path, f.file.clone());
        self.nextest = Some((f, merged));
    }

    /// Runs, judges and records trial `t`; the error message fails it.
    pub fn run_trial(&mut self, t: usize) -> Result<(), String> {
        if self.runner.interrupted() {
            self.abort();
        }
        let baseline = self.baseline_headline(t);
        if let (Some(live), Some(p)) = (&self.live, &self.progress) {
            live.begin(&self.runner.matrix().trials[t].name, p.running());
        }
        let mut run = self.runner.run_trial(t, baseline);
        if let Some(live) = &self.live {
            live.clear();
        }
        run.result.compared_only = self.compared_only.contains(&t);
        self.results.trials.push(run.result);
        let idx = self.results.trials.len() - 1;
        self.index.add(&self.results, idx);
        let sources = Sources {
            baseline_from: self.baseline_from.as_ref(),
            compare_to: self.compare_to.as_ref(),
        };
        analysis::analyze(
            &mut self.results,
            &self.index,
            idx,
            &self.settings,
            &sources,
            self.runner.is_case_last(t),
        );
        analysis::control_fdr(&mut self.results);
        let trial = &self.results.trials[idx];
        let passed = trial.status == Status::Passed;
        self.runner.note_outcome(passed);
        self.lines.push(run.lines);
        let message = (!passed).then(|| crate::readout::failure_message(trial));
        let case_last = self.runner.is_case_last(t);
        let due = !trial.is_baseline()
            && self
                .bracket
                .as_mut()
                .is_some_and(|b| b.after(t, idx, case_last));
        // Teardown of the scopes this trial ends (the summary counts it).
        self.runner.leave_after(t);
        if due {
            self.block();
        }
        if let Some((n, last)) = self.calibrate {
            if t == last {
                self.calibrate_blocks(n);
            }
        }
        self.save_results();
        if self.runner.interrupted() {
            self.abort();
        }
        let trial = &self.results.trials[idx];
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
                // libtest's `ok` ends the line (which the live line erased).
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

    /// Measures again the baselines of the eBPF trials since the last
    /// block, stores each as a block of its baseline trial, and judges
    /// those trials again with the blocks around them.
    fn block(&mut self) {
        let Some(pending) = self.bracket.as_mut().map(|b| b.reset()) else {
            return;
        };
        let mut todo: Vec<(usize, usize)> = Vec::new();
        for &(i, _) in &pending {
            let t = &self.results.trials[i];
            let name = crate::naming::trial_name_of(None, &t.env, t.test_type, &t.variant);
            // Only baselines this run measured: a file's cannot be bracketed.
            let Some(idx) = self
                .index
                .named(&self.results, &name)
                .filter(|b| b.ran())
                .and_then(|_| self.results.trials.iter().position(|x| x.name == name))
            else {
                continue;
            };
            let Some(m) = self
                .runner
                .matrix()
                .trials
                .iter()
                .position(|x| x.name == name)
            else {
                continue;
            };
            if !todo.contains(&(m, idx)) {
                todo.push((m, idx));
            }
        }
        self.remeasure(todo);
        let sources = Sources {
            baseline_from: self.baseline_from.as_ref(),
            compare_to: self.compare_to.as_ref(),
        };
        for (i, case_last) in pending {
            let then = self.results.trials[i].status;
            analysis::analyze(
                &mut self.results,
                &self.index,
                i,
                &self.settings,
                &sources,
                case_last,
            );
            let now = self.results.trials[i].status;
            if now != then {
                self.changed
                    .push((self.results.trials[i].name.clone(), then, now));
            }
        }
        analysis::control_fdr(&mut self.results);
        self.save_results();
    }

    /// Measures baseline trials again, each as one more block of its entry
    /// in the results: `todo` holds (matrix index, results index) pairs.
    fn remeasure(&mut self, mut todo: Vec<(usize, usize)>) {
        todo.sort();
        for (k, &(m, idx)) in todo.iter().enumerate() {
            if self.runner.interrupted() {
                self.abort();
            }
            let n = self.results.trials[idx].blocks.len() + 2;
            eprintln!(
                "ebpf-perf: {} again (block {n})",
                self.results.trials[idx].name
            );
            let run = self.runner.run_trial(m, None).result;
            let cycle = self.runner.matrix().trials[m].cycle;
            if todo
                .get(k + 1)
                .is_none_or(|&(next, _)| self.runner.matrix().trials[next].cycle != cycle)
            {
                self.runner.leave_cycle(cycle);
            }
            if let Some(e) = &run.error {
                eprintln!("ebpf-perf: warning: block {n} of {} failed: {e}", run.name);
            }
            self.results.trials[idx].blocks.push(results::Block {
                runs: run.runs,
                stop: run.stop,
                remote: run.remote,
                duration_s: run.duration_s,
                error: run.error,
            });
        }
    }

    /// `--calibrate N`: after the last selected baseline, every baseline
    /// that ran is measured N - 1 more times, block after block; the
    /// calibration file is written at the end.
    fn calibrate_blocks(&mut self, n: u32) {
        let todo: Vec<(usize, usize)> = self
            .results
            .trials
            .iter()
            .enumerate()
            .filter(|(_, t)| t.is_baseline() && t.ran())
            .filter_map(|(i, t)| {
                let m = self
                    .runner
                    .matrix()
                    .trials
                    .iter()
                    .position(|x| x.name == t.name)?;
                Some((m, i))
            })
            .collect();
        for _ in 1..n {
            self.remeasure(todo.clone());
            self.save_results();
        }
    }

    /// Trials whose verdict a later block changed (name, then, now).
    pub fn changed(&self) -> &[(String, Status, Status)] {
        &self.changed
    }

    /// Did every trial pass in the end?
    pub fn all_passed(&self) -> bool {
        self.results
            .trials
            .iter()
            .all(|t| t.status == Status::Passed)
    }

    /// The headline metric's summary in the baseline that trial `t` will be
    /// compared with (this run's, else `--baseline-from`'s), if any.
    fn baseline_headline(&self, t: usize) -> Option<crate::stats::Summary> {
        let trial = &self.runner.matrix().trials[t];
        let cycle = self.runner.matrix().cycle_of(trial);
        cycle.case.as_ref()?;
        let tt = trial.variant.test_type();
        let mut probe =
            results::TrialResult::new(&trial.name, &cycle.id, &cycle.env, tt, trial.variant.name());
        probe.case_id = Some(0);
        let sources = Sources {
            baseline_from: self.baseline_from.as_ref(),
            compare_to: None,
        };
        let (b, _) = analysis::find_baseline(&self.results, &self.index, &probe, &sources).ok()?;
        b.analysis
            .stats
            .get(crate::metrics::headline(tt).name)
            .cloned()
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
        // Teardown must run to completion: later Ctrl-C presses no longer cancel.
        let _ = self.finish();
        std::process::exit(i32::from(Exit::Interrupted.code()));
    }

    fn write_junit(&self) -> std::io::Result<()> {
        let mut recs: Vec<TrialRecord> = self
            .results
            .trials
            .iter()
            .zip(&self.lines)
            .map(|(t, l)| junit::record(t, l))
            .collect();
        recs.extend(junit::teardown_records(
            &self.results.session.teardown_errors,
        ));
        junit::write_trials(&self.junit, &recs)
    }
}
