//! The `ebpf-perf` command: configuration checks and workflow generation
//! (trials themselves run under `cargo test --test perf`).

use clap::{Parser, Subcommand};
use ebpf_perf::exit::Exit;
use ebpf_perf::host::{fetch, lab, remote};
use ebpf_perf::{config, discover, harness, hosts, matrix, merge, report, results, workflow};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ebpf-perf",
    version,
    about = "What an eBPF tool costs the network traffic it watches"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The configuration directory, as every subcommand that reads one takes it.
#[derive(clap::Args)]
struct ConfigDir {
    /// Configuration directory.
    #[arg(long, global = true, env = harness::CONFIG_ENV, default_value = harness::DEFAULT_CONFIG_DIR)]
    config_dir: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Check a configuration directory without connecting anywhere.
    Validate {
        #[command(flatten)]
        config: ConfigDir,
        /// A calibration file (`ebpf-perf calibrate`): flag budgets tighter
        /// than the smallest effect these hosts can detect.
        #[arg(long, value_name = "FILE")]
        calibration: Option<PathBuf>,
    },
    /// How sensitive are these hosts? From results files whose baselines
    /// were measured in blocks (bracketing, or the harness's `--calibrate
    /// N`): per baseline and metric the run CV, the A/A interval, the
    /// minimum detectable effect (95 % confidence, 80 % power), the A/A
    /// false-positive rate, and the runs a side that 1/2/5/10 % effects
    /// need. Writes a calibration file.
    Calibrate {
        /// Results files.
        #[arg(long, required = true, num_args = 1..)]
        results: Vec<PathBuf>,
        /// The calibration file to write.
        #[arg(long, default_value = ebpf_perf::naming::CALIBRATION_FILE)]
        out: PathBuf,
    },
    /// Write the generated workflow (cycles, tests, steps, result paths) as JSON.
    Workflow {
        #[command(flatten)]
        config: ConfigDir,
        /// Output file; stdout when absent.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Indent the JSON.
        #[arg(long)]
        pretty: bool,
        /// The seed whose pair orders to show (a run draws its own unless
        /// given `--seed`)
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// The built-in lab of network namespaces with their own sshd (root
    /// only; the configuration's ssh-config.yaml must say `lab: netns`).
    Lab {
        #[command(subcommand)]
        action: LabAction,
        #[command(flatten)]
        config: ConfigDir,
    },
    /// Checks the configured hosts over SSH.
    Hosts {
        #[command(subcommand)]
        action: HostsAction,
        #[command(flatten)]
        config: ConfigDir,
    },
    /// Copies a host's results (or any remote path) to this machine.
    Fetch {
        #[command(flatten)]
        args: fetch::FetchArgs,
        #[command(flatten)]
        config: ConfigDir,
    },
    /// Writes report.html and summary.md from a results file.
    Report {
        /// Results file of the run to report on.
        #[arg(long, env = results::ENV, default_value = results::DEFAULT_PATH)]
        results: PathBuf,
        /// Output directory; default: the results file's directory.
        #[arg(long)]
        out: Option<PathBuf>,
        /// An earlier results file: show how each case's cost changed since.
        #[arg(long)]
        compare_to: Option<PathBuf>,
        /// Cases to put side by side (`case_1 case_3`, `tool_001::case_1 ...`, or tool ids).
        #[arg(long, num_args = 2..)]
        compare: Vec<String>,
        /// A calibration file: show what these hosts can detect beside the verdicts.
        #[arg(long, value_name = "FILE")]
        calibration: Option<PathBuf>,
    },
    /// Finds eBPF tools (*.bt, and *.py that use BCC or libbpf) in
    /// directories and prints a tools-file fragment: one program-shape tool
    /// per program, with one case and the parameters it found.
    Discover {
        /// Directories to scan (recursively).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the scanned directories lie on the hosts; default: the same path as here.
        #[arg(long)]
        hosts_dir: Option<String>,
        /// Environments the tools run in (repeat for more).
        #[arg(long = "env", default_value = "host")]
        environments: Vec<String>,
        /// Test types to run (repeat for more).
        #[arg(long = "test-type", default_values = ["throughput", "latency", "pps"])]
        test_types: Vec<String>,
        /// Id of the first case; the others follow.
        #[arg(long, default_value_t = 100)]
        first_id: u32,
    },
    /// One row per run and metric of a results file, as CSV or NDJSON (columns: docs/results.md).
    Export {
        #[arg(long, env = results::ENV, default_value = results::DEFAULT_PATH)]
        results: PathBuf,
        #[arg(long, value_enum)]
        format: ebpf_perf::export::Format,
        /// Output file; stdout when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Reads files written for the seeds' system and writes this project's
    /// configuration files: seed 001's layered hooks (--hooks) and seed 002's
    /// configuration directory (--from). Seed tasks that ebpf-perf does
    /// itself are left out, with a comment in their place.
    Import(ebpf_perf::import::Options),
    /// A trend page from many results files: each eBPF trial's cost per
    /// budget family from session to session, with change points flagged
    /// (E-divisive means); writes history.html and history.md.
    History(ebpf_perf::history::Args),
    /// Merges the results of sharded runs (`--partition`) into one results
    /// file, one JUnit file and one report; names every shard it could not use.
    Merge {
        /// Where merged results.json, junit.xml, report.html and summary.md go.
        out_dir: PathBuf,
        /// Each shard's results: a directory holding results.json, or the file.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum LabAction {
    /// Provision the lab (idempotent; repairs a half-present lab).
    Up,
    /// Remove the namespaces, links and sshd processes the lab made.
    Down,
    /// Show hosts, addresses, sshd PIDs and reachability.
    Status,
}

#[derive(Subcommand)]
enum HostsAction {
    /// Connect to every host: reachability, auth, host key, workdir, tools.
    Check,
    /// Stop what runs that were killed hard left running on the hosts (by
    /// recorded PID; nothing that is not ours), unless a live run holds them.
    Clean {
        /// Also take over leases that this machine cannot check (held from
        /// another controller, or from before a reboot).
        #[arg(long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    ebpf_perf::restore_default_sigpipe();
    ebpf_perf::logging::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate {
            config,
            calibration,
        } => validate(&config.config_dir, calibration.as_deref()),
        Command::Calibrate { results, out } => {
            ebpf_perf::calibration::command(&results, &out).map_err(Into::into)
        }
        Command::Workflow {
            config,
            output,
            pretty,
            seed,
        } => workflow::command(&config.config_dir, output.as_deref(), pretty, seed)
            .map_err(Into::into),
        Command::Lab { action, config } => lab_cmd(action, &config.config_dir),
        Command::Hosts {
            action: HostsAction::Check,
            config,
        } => hosts_check(&config.config_dir),
        Command::Hosts {
            action: HostsAction::Clean { force },
            config,
        } => hosts_clean(&config.config_dir, force),
        Command::Fetch { args, config } => fetch_cmd(&config.config_dir, &args),
        Command::Report {
            results,
            out,
            compare_to,
            compare,
            calibration,
        } => report_cmd(&results, out, compare_to, compare, calibration),
        Command::Merge { out_dir, shards } => return merge_cmd(&out_dir, &shards),
        Command::Import(o) => ebpf_perf::import::command(&o).map_err(Into::into),
        Command::History(a) => ebpf_perf::history::command(&a).map_err(Into::into),
        Command::Export {
            results,
            format,
            out,
        } => ebpf_perf::export::command(&results, format, out.as_deref()).map_err(Into::into),
        Command::Discover {
            dirs,
            hosts_dir,
            environments,
            test_types,
            first_id,
        } => discover::scan(&dirs)
            .map(|(found, skipped)| {
                skipped.iter().for_each(|s| problem("warning", s));
                let o = discover::Options {
                    hosts_dir,
                    environments,
                    test_types,
                    first_id,
                };
                print!("{}", discover::fragment(&found, &dirs, &o));
            })
            .map_err(Into::into),
    };
    match result {
        Ok(()) => Exit::Ok.into(),
        Err(e) => {
            problem("error", e);
            Exit::Config.into()
        }
    }
}

/// Every line the CLI prints about a problem goes through here: its text
/// may come from a results file, a scanned directory or a host, so what a
/// terminal would obey is shown instead (`untrusted::visible`).
fn problem(level: &str, msg: impl std::fmt::Display) {
    eprintln!(
        "{level}: {}",
        ebpf_perf::untrusted::visible(&msg.to_string())
    );
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

/// Exit 0 when every shard was usable and every trial passed, 1 otherwise.
fn merge_cmd(out: &std::path::Path, shards: &[PathBuf]) -> ExitCode {
    let merged = merge::merge(shards);
    let w = match merge::write(out, &merged) {
        Ok(w) => w,
        Err(e) => {
            problem(
                "error",
                format!("writing the merge into {}: {e}", out.display()),
            );
            return Exit::Failed.into();
        }
    };
    let used = merged.session.shards.len() - w.bad_shards.len();
    println!(
        "merged {} trials from {used} of {} shards ({} failed)",
        w.trials,
        shards.len(),
        w.failed
    );
    for s in &merged.session.shards {
        if !s.problem.is_empty() {
            problem(
                "warning",
                format!("shard {} ({}): {}", s.source, s.status, s.problem),
            );
        }
    }
    println!("JUnit: {}", w.junit.display());
    println!("Results: {}", w.results.display());
    match &w.report {
        Ok(html) => println!("Report: {}", html.display()),
        Err(e) => problem("warning", format!("no report: {e}")),
    }
    if w.passed() {
        Exit::Ok.into()
    } else {
        Exit::Failed.into()
    }
}

fn report_cmd(
    path: &std::path::Path,
    out: Option<PathBuf>,
    compare_to: Option<PathBuf>,
    compare: Vec<String>,
    calibration: Option<PathBuf>,
) -> CliResult {
    let r = results::read(path)?;
    let cal = calibration
        .map(|p| ebpf_perf::calibration::read(&p).map(|c| (p.display().to_string(), c)))
        .transpose()?;
    let earlier = compare_to
        .map(|p| results::read(&p).map(|e| (p.display().to_string(), e)))
        .transpose()?;
    let out = out.unwrap_or_else(|| {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."))
            .to_path_buf()
    });
    let opts = report::Options {
        compare: if compare.is_empty() {
            vec![]
        } else {
            vec![compare]
        },
        earlier: earlier.as_ref().map(|(p, e)| (p.as_str(), e)),
        calibration: cal.as_ref().map(|(p, c)| (p.as_str(), c)),
    };
    let w = report::write(&r, &out, &opts)?;
    println!("{}\n{}", w.html.display(), w.markdown.display());
    Ok(())
}

/// Loads the configuration and takes its passwords out of the environment
/// before anything starts a child.
fn load(dir: &std::path::Path) -> Result<config::Config, config::ConfigError> {
    let cfg = config::load(dir)?;
    ebpf_perf::host::remote::secrets::take_from_env(&cfg);
    Ok(cfg)
}

fn lab_cmd(action: LabAction, dir: &std::path::Path) -> CliResult {
    let cfg = load(dir)?;
    let plan = lab::Plan::from_config(&cfg)?;
    match action {
        LabAction::Up => {
            let r = lab::up(&plan)?;
            for p in &r.installed {
                println!("installed {p}");
            }
            for c in r.created.iter().chain(&r.started) {
                println!("made {c}");
            }
            if r.created.is_empty() && r.started.is_empty() {
                println!("lab already up");
            }
            print!("{}", lab::status_table(&plan));
        }
        LabAction::Down => {
            for r in lab::down(&plan)? {
                println!("removed {r}");
            }
        }
        LabAction::Status => {
            let table = lab::status_table(&plan);
            print!("{table}");
        }
    }
    Ok(())
}

fn fetch_cmd(dir: &std::path::Path, a: &fetch::FetchArgs) -> CliResult {
    let cfg = load(dir)?;
    let r = remote::Remote::new(&cfg);
    let mut progress = fetch::StderrProgress::default();
    let (dest, f) = fetch::fetch(
        &r,
        &a.host,
        &a.local_dir,
        (a.remote_path.as_deref(), a.compress),
        a.limits(),
        &mut progress,
    )?;
    for line in fetch::skipped_lines(&f) {
        problem("warning", &line);
    }
    eprintln!(
        "fetched {} files, {} bytes from {} into {}",
        f.files,
        f.bytes,
        a.host,
        dest.display()
    );
    Ok(())
}

fn hosts_clean(dir: &std::path::Path, force: bool) -> CliResult {
    let cfg = load(dir)?;
    if cfg.list_only {
        return Err(format!(
            "{}: list_only: true; these hosts are never connected to",
            dir.display()
        )
        .into());
    }
    let mut failed = 0;
    for (host, res) in ebpf_perf::run::leftovers::clean_hosts(&cfg, force) {
        match res {
            Ok(notes) if notes.is_empty() => println!("{host}: nothing left running"),
            Ok(notes) => notes
                .iter()
                .for_each(|n| println!("{host}: {}", ebpf_perf::untrusted::visible(n))),
            Err(e) => {
                failed += 1;
                problem(&host, e);
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} host(s) could not be cleaned").into());
    }
    Ok(())
}

fn hosts_check(dir: &std::path::Path) -> CliResult {
    let cfg = load(dir)?;
    let r = remote::Remote::new(&cfg);
    let rows = hosts::check(&cfg, &r);
    print!("{}", hosts::table(&rows));
    if rows.iter().all(hosts::HostCheck::ok) {
        Ok(())
    } else {
        Err("some hosts are unreachable or miss required tools (see the table)".into())
    }
}

fn validate(dir: &std::path::Path, calibration: Option<&std::path::Path>) -> CliResult {
    let cfg = load(dir)?;
    if let Some(path) = calibration {
        let cal = ebpf_perf::calibration::read(path)?;
        for (tool, t) in &cfg.tools {
            let mut said = Vec::new();
            for env in &t.environments {
                for &tt in &t.test_types {
                    let budgets = t.budgets.resolve(env, tt);
                    for x in
                        ebpf_perf::calibration::too_tight(&cal, &budgets, std::slice::from_ref(env))
                    {
                        if said.contains(&(env, x.budget.clone())) {
                            continue;
                        }
                        eprintln!(
                            "warning: {tool}: budget {} {} on {env} is tighter than these hosts can see: the smallest effect they detect is {:.2} ({}; {})",
                            x.budget,
                            x.limit,
                            x.detectable,
                            x.unit,
                            path.display()
                        );
                        said.push((env, x.budget));
                    }
                }
            }
        }
    }
    for w in &cfg.warnings {
        problem("warning", w);
    }
    let m = matrix::build(&cfg);
    for w in m
        .cycles
        .iter()
        .filter_map(|c| matrix::short_program(&cfg, &m, c))
    {
        problem("warning", w);
    }
    println!(
        "{}: valid: {} hosts, {} environments, {} tools, {} cycles, {} trials",
        dir.display(),
        cfg.ssh_hosts.len(),
        cfg.environments.len(),
        cfg.tools.len(),
        m.cycles.len(),
        m.trials.len()
    );
    Ok(())
}
