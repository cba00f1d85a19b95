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

/// `mi_option_purge_delay` in mimalloc.h (v2 and v3); libmimalloc-sys names no constant for it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory freed on a thread goes back to the system at once rather than after mimalloc's delay
/// (1 s in mimalloc 3), which is only acted on when that thread allocates again: after a burst, the actors' threads
/// sit idle and kept 9–16 MB of freed pages resident with 10,000 live tenants (issue 23).
/// Measured no slower on the sustained scenario (docs/BENCHMARKS.md).
#[allow(unsafe_code)]
fn return_freed_memory_at_once() {
    // SAFETY: sets one of mimalloc's options, an integer it reads atomically.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

#[actix_web::main]
async fn main() -> ExitCode {
    return_freed_memory_at_once();
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
    let telemetry = cobro::telemetry::init(&config, default_level);
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
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    /// mimalloc 3's options.c sets `purge_delay`'s default to 1000 (ms), which no option next
    /// to it has: the index names the option meant.
    #[test]
    #[allow(unsafe_code)]
    fn the_option_set_is_the_purge_delay() {
        // SAFETY: reads one of mimalloc's options.
        let default = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(default, 1000);
    }
}
