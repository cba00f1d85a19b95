//! The checks that turn raw configuration values into validated ones, each failing with the
//! environment variable a user would set to fix it. Only `config` calls them.

use std::num::NonZeroU32;
use std::time::Duration;

use url::Url;

use super::values::{ConfigError, DatabaseKind, MpOAuth, ScheduleInput, Secret};
use crate::domain::RetrySchedule;

/// OAuth is on when both the client id and secret are set; one without the other is a mistake.
pub(super) fn mp_oauth(
    client_id: Option<String>,
    client_secret: Option<Secret>,
    auth_base: &str,
) -> Result<Option<MpOAuth>, ConfigError> {
    let client_id = client_id.filter(|id| !id.trim().is_empty());
    let client_secret = client_secret.filter(|s| !s.expose().is_empty());
    match (client_id, client_secret) {
        (None, None) => Ok(None),
        (Some(client_id), Some(client_secret)) => Ok(Some(MpOAuth {
            client_id: client_id.trim().to_owned(),
            client_secret,
            auth_base: base_url("mp_auth_base", auth_base)?,
        })),
        (Some(_), None) => Err(ConfigError::new(
            "mp_client_secret",
            "is required when COBRO_MP_CLIENT_ID is set",
        )),
        (None, Some(_)) => Err(ConfigError::new(
            "mp_client_id",
            "is required when COBRO_MP_CLIENT_SECRET is set",
        )),
    }
}

/// `<host name>-<pid>`: unique on one machine, readable in `GET /api/cluster`. A process that
/// loads a second configuration (tests embedding several nodes) gets `-2`, `-3`... after it.
pub(super) fn default_node_id() -> String {
    static LOADED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let host = gethostname::gethostname();
    let base = format!("{}-{}", host.to_string_lossy(), std::process::id());
    match LOADED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
        0 => base,
        n => format!("{base}-{}", n + 1),
    }
}

pub(super) fn database_kind(url: &str) -> Result<DatabaseKind, ConfigError> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(DatabaseKind::Sqlite),
        "postgres" | "postgresql" => Ok(DatabaseKind::Postgres),
        _ => Err(ConfigError::new(
            "database_url",
            format!("unknown database scheme {scheme:?} (use sqlite:// or postgres://)"),
        )),
    }
}

pub(super) fn base_url(key: &str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|e| ConfigError::new(key, format!("{value:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::new(
            key,
            format!("{value:?} is not an http(s) URL"),
        ));
    }
    Ok(url)
}

/// `COBRO_SECRET_KEY`: base64 of 32 bytes, or unset (or empty) for plain storage.
pub(super) fn secret_box(key: Option<Secret>) -> Result<crate::secrets::SecretBox, ConfigError> {
    match key.filter(|k| !k.expose().trim().is_empty()) {
        None => Ok(crate::secrets::SecretBox::plain()),
        Some(key) => crate::secrets::SecretBox::from_base64(key.expose()).map_err(|_| {
            ConfigError::new(
                "secret_key",
                "must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)",
            )
        }),
    }
}

pub(super) fn parse_schedule(input: ScheduleInput) -> Result<RetrySchedule, ConfigError> {
    schedule_of("retry_schedule", input)
}

/// A retry schedule under the name of its option.
pub(super) fn schedule_of(key: &str, input: ScheduleInput) -> Result<RetrySchedule, ConfigError> {
    let seconds: Vec<f64> = match input {
        ScheduleInput::Number(n) => vec![n],
        ScheduleInput::List(list) => list,
        ScheduleInput::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<f64>().map_err(|_| {
                    ConfigError::new(key, format!("{part:?} is not a number of seconds"))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let delays = seconds
        .into_iter()
        .map(|s| {
            Duration::try_from_secs_f64(s)
                .map_err(|_| ConfigError::new(key, format!("{s} is not a valid delay")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    RetrySchedule::new(delays)
        .ok_or_else(|| ConfigError::new(key, "empty: give at least one delay in seconds"))
}

pub(super) fn positive_millis(key: &str, value: u64) -> Result<Duration, ConfigError> {
    if value == 0 {
        return Err(ConfigError::new(key, "must be greater than 0"));
    }
    Ok(Duration::from_millis(value))
}

pub(super) fn non_zero(key: &str, value: u32) -> Result<NonZeroU32, ConfigError> {
    NonZeroU32::new(value).ok_or_else(|| ConfigError::new(key, "must be greater than 0"))
}

/// `0` means never: the pool's idle timeout and lifetime may be switched off.
pub(super) fn seconds_or_never(value: u64) -> Option<Duration> {
    (value > 0).then(|| Duration::from_secs(value))
}
