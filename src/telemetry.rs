//! Logging setup: `tracing` to stderr, human-readable or one JSON object per line
//! (`COBRO_LOG_FORMAT`), filtered by `RUST_LOG` (default `info`; `cobro demo` defaults to
//! `error`, so its banner and its compact progress line are not scrolled away by a line per
//! request).

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat, default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
