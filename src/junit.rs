//! Reporting (docs/design.md §7): the JUnit XML file CI reads, written for every run,
//! including runs stopped by a configuration error.

use crate::config::ConfigError;
use crate::results::{Results, Status, TeardownError, TrialResult};
use crate::untrusted;
use junit_report::{Duration as JDuration, Report, TestCase, TestSuite};
use std::io;
use std::path::Path;
use std::time::Duration;

/// Name of the single test case that reports a configuration error.
pub const CONFIG_CASE: &str = "config";

/// How one trial ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Passed {
        system_out: String,
    },
    Failed {
        message: String,
        detail: String,
    },
    /// Not a trial: a teardown that failed after its trials ended.
    Error {
        message: String,
        detail: String,
    },
}

/// One finished trial, as JUnit shows it.
#[derive(Debug, Clone)]
pub struct TrialRecord {
    pub name: String,
    pub cycle_id: String,
    pub duration: Duration,
    pub outcome: Outcome,
}

fn jdur(d: Duration) -> JDuration {
    JDuration::checked_seconds_f64(d.as_secs_f64()).unwrap_or(JDuration::MAX)
}

/// Writes one `<testsuite>` per cycle (in first-seen order), one `<testcase>`
/// per trial, atomically at `path`.
pub fn write_trials(path: &Path, records: &[TrialRecord]) -> io::Result<()> {
    let mut suites: Vec<TestSuite> = Vec::new();
    for r in records {
        let suite_name = untrusted::xml(&format!("ebpf_perf.{}", r.cycle_id));
        let idx = match suites.iter().position(|s| s.name == suite_name) {
            Some(i) => i,
            None => {
                suites.push(TestSuite::new(&suite_name));
                suites.len() - 1
            }
        };
        // Names, messages and output can hold what hosts printed: each is
        // made well-formed XML here, whatever it holds.
        let (name, d) = (untrusted::xml(&r.name), jdur(r.duration));
        let mut tc = match &r.outcome {
            Outcome::Passed { system_out } => {
                let mut tc = TestCase::success(&name, d);
                if !system_out.is_empty() {
                    tc.set_system_out(&untrusted::cdata(system_out));
                }
                tc
            }
            Outcome::Failed { message, detail } => {
                let mut tc = TestCase::failure(&name, d, "trial", &untrusted::xml(message));
                if !detail.is_empty() {
                    tc.set_system_err(&untrusted::cdata(detail));
                }
                tc
            }
            Outcome::Error { message, detail } => {
                let mut tc = TestCase::error(&name, d, "teardown", &untrusted::xml(message));
                tc.set_system_err(&untrusted::cdata(detail));
                tc
            }
        };
        tc.set_classname(&suite_name);
        suites[idx].add_testcase(tc);
    }
    let mut report = Report::new();
    report.add_testsuites(suites);
    write_report(path, &report)
}

/// The JUnit record of a judged trial: its verdict lines, the last run's
/// monitoring, and where its raw data lies.
pub fn record(t: &TrialResult, monitoring: &[String]) -> TrialRecord {
    let mut out = crate::readout::system_out(t);
    out.extend(monitoring.iter().cloned());
    for b in t.own_blocks() {
        out.extend(b.remote.iter().enumerate().map(|(i, r)| {
            let role = if i == 0 { "server" } else { "client" };
            format!("{role}: {r} (pair {})", b.pair)
        }));
    }
    let system_out = out.join("\n") + "\n";
    TrialRecord {
        name: t.name.clone(),
        cycle_id: t.cycle.clone(),
        duration: crate::untrusted::secs(t.duration_s),
        outcome: match t.status {
            Status::Passed => Outcome::Passed { system_out },
            Status::Failed => Outcome::Failed {
                message: crate::readout::failure_message(t),
                detail: format!("{}{system_out}", t.error_detail),
            },
        },
    }
}

/// The JUnit records of a whole results file (without the monitoring lines,
/// which the file keeps as metrics): every trial, then every failed
/// teardown, then every shard a merge could not use.
pub fn records_of(results: &Results) -> Vec<TrialRecord> {
    let mut recs: Vec<TrialRecord> = results.trials.iter().map(|t| record(t, &[])).collect();
    recs.extend(teardown_records(&results.session.teardown_errors));
    recs.extend(
        results
            .session
            .shards
            .iter()
            .filter(|s| s.status != crate::results::ShardStatus::Ok)
            .map(|s| TrialRecord {
                name: format!("merge::shard::{}", s.source),
                cycle_id: "merge".into(),
                duration: Duration::ZERO,
                outcome: Outcome::Error {
                    message: format!("shard {} is {}: {}", s.source, s.status, s.problem),
                    detail: s.problem.clone(),
                },
            }),
    );
    recs
}

/// Failed teardowns, as error test cases named `teardown::SCOPE`.
pub fn teardown_records(errors: &[TeardownError]) -> Vec<TrialRecord> {
    errors
        .iter()
        .map(|e| TrialRecord {
            name: format!("teardown::{}", e.scope),
            cycle_id: "session".into(),
            duration: Duration::ZERO,
            outcome: Outcome::Error {
                message: e.message.clone(),
                detail: e.detail.clone(),
            },
        })
        .collect()
}

/// Writes a report whose single error test case, `config`, says why the
/// configuration could not be used.
pub fn write_config_error(path: &Path, err: &ConfigError) -> io::Result<()> {
    let mut suite = TestSuite::new("ebpf_perf.config");
    let first = err
        .problems
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    // A problem quotes the configuration's own text (a seed's, an
    // import's): made well-formed XML like every other message.
    let mut tc = TestCase::error(
        CONFIG_CASE,
        JDuration::ZERO,
        "config",
        &untrusted::xml(&first),
    );
    tc.set_classname("ebpf_perf.config");
    tc.set_system_err(&untrusted::cdata(&err.to_string()));
    suite.add_testcase(tc);
    let mut report = Report::new();
    report.add_testsuite(suite);
    write_report(path, &report)
}

fn write_report(path: &Path, report: &Report) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut buf = Vec::new();
    report.write_xml(&mut buf).map_err(io::Error::other)?;
    crate::results::write_atomic(path, &buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigError, Problem};

    // Issue 31: a configuration problem quotes the file's text; the config
    // JUnit stays well-formed whatever that holds.
    #[test]
    fn a_config_error_report_is_well_formed_whatever_the_problem_quotes() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("junit.xml");
        let nasty = "\u{1b}[2J\u{0}]]></failure><x/>\u{ffff}";
        let err = ConfigError {
            problems: vec![Problem {
                file: "ebpf-tools-config.yaml".into(),
                line: Some(3),
                key: nasty.into(),
                message: nasty.into(),
            }],
        };
        write_config_error(&path, &err).unwrap();
        let xml = std::fs::read_to_string(&path).unwrap();
        let doc = roxmltree::Document::parse(&xml).expect("well-formed");
        assert_eq!(doc.descendants().filter(|n| n.has_tag_name("x")).count(), 0);
        assert!(!xml.contains('\u{1b}'), "{xml}");
    }
}
