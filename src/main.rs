//! The `ebpf-perf` command: configuration checks and workflow generation
//! (trials themselves run under `cargo test --test perf`).

use clap::{Parser, Subcommand};
use ebpf_perf::{config, harness, matrix, workflow};
use std::io::Write;
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

#[derive(Subcommand)]
enum Command {
    /// Check a configuration directory without connecting anywhere.
    Validate {
        /// Configuration directory.
        #[arg(long, env = harness::CONFIG_ENV, default_value = harness::DEFAULT_CONFIG_DIR)]
        config_dir: PathBuf,
    },
    /// Write the generated workflow (cycles, tests, steps, result paths) as JSON.
    Workflow {
        /// Configuration directory.
        #[arg(long, env = harness::CONFIG_ENV, default_value = harness::DEFAULT_CONFIG_DIR)]
        config_dir: PathBuf,
        /// Output file; stdout when absent.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Indent the JSON.
        #[arg(long)]
        pretty: bool,
    },
}

fn main() -> ExitCode {
    ebpf_perf::logging::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { config_dir } => validate(&config_dir),
        Command::Workflow {
            config_dir,
            output,
            pretty,
        } => write_workflow(&config_dir, output, pretty),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(harness::EXIT_CONFIG)
        }
    }
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

fn validate(dir: &std::path::Path) -> CliResult {
    let cfg = config::load(dir)?;
    let m = matrix::build(&cfg);
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

fn write_workflow(dir: &std::path::Path, output: Option<PathBuf>, pretty: bool) -> CliResult {
    let cfg = config::load(dir)?;
    let m = matrix::build(&cfg);
    let wf = workflow::generate(&cfg, &m);
    let mut json = if pretty {
        serde_json::to_vec_pretty(&wf)?
    } else {
        serde_json::to_vec(&wf)?
    };
    json.push(b'\n');
    match output {
        Some(path) => {
            std::fs::write(&path, json)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!(
                "wrote {} ({} cycles, {} trials)",
                path.display(),
                m.cycles.len(),
                m.trials.len()
            );
        }
        None => match std::io::stdout().write_all(&json) {
            // A closed pipe (`| head`) is the reader's choice, not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other?,
        },
    }
    Ok(())
}
