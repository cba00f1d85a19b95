//! The `cobro` binary: parse the command line, load the configuration, start logging, and hand
//! over to the library. Configuration errors end the process with one line and exit code 2.

use std::process::ExitCode;

use clap::Parser;
use cobro::cli::{Cli, Command};
use cobro::config::Config;
use mimalloc::MiMalloc;

/// mimalloc instead of glibc's malloc: the writer thread builds and drops many short-lived
/// values per cycle (rows, JSON documents, statements), and under glibc it spent about a third
/// of its time in malloc/free (`_int_malloc`, `malloc_consolidate`, `unlink_chunk`; perf, issue 9).
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    let default_level = match command {
        // The demo's simulated outages would print a warning every few seconds and scroll the
        // banner away; its progress line says what happens. RUST_LOG shows everything.
        Command::Demo { .. } => "error",
        _ => "info",
    };
    cobro::telemetry::init(config.log_format, default_level);
    let result = match command {
        Command::Serve => cobro::run(config).await.map_err(|e| e.to_string()),
        Command::Demo { rate } => cobro::demo::run(config, rate)
            .await
            .map_err(|e| e.to_string()),
        Command::Prune(args) => cobro::cli::prune(&config, args)
            .await
            .map_err(|e| e.to_string()),
        Command::Migrate => cobro::cli::migrate(&config)
            .await
            .map_err(|e| e.to_string()),
        Command::Tenant(command) => cobro::cli::tenant(&config, command)
            .await
            .map_err(|e| e.to_string()),
        Command::Secrets(command) => cobro::cli::secrets(&config, command)
            .await
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
