//! The configuration's plain types, shared by `config` and its checks: the error that names an
//! option, a secret that never shows in `Debug`, the database kind, the platform's MercadoPago
//! application, and a retry schedule as written. A leaf: it names no other part of `config`.

use std::fmt;

use serde::Deserialize;
use url::Url;

pub(super) const ENV_PREFIX: &str = "COBRO_";

/// A configuration problem, named by the environment variable a user would set to fix it.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {option}: {reason}")]
pub struct ConfigError {
    pub option: String,
    pub reason: String,
}

impl ConfigError {
    pub(super) fn new(key: &str, reason: impl fmt::Display) -> Self {
        Self {
            option: format!("{ENV_PREFIX}{}", key.to_uppercase()),
            reason: reason.to_string(),
        }
    }
}

/// A secret string whose `Debug` never shows the value, so a logged config leaks nothing.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

/// The platform's MercadoPago application (`COBRO_MP_CLIENT_ID`, `COBRO_MP_CLIENT_SECRET`) and
/// where its authorization page is (`COBRO_MP_AUTH_BASE`).
#[derive(Debug, Clone)]
pub struct MpOAuth {
    pub client_id: String,
    pub client_secret: Secret,
    pub auth_base: Url,
}

/// `COBRO_RETRY_SCHEDULE=60` arrives as a number, `60,300` as text, TOML may hold a list.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum ScheduleInput {
    Number(f64),
    Text(String),
    List(Vec<f64>),
}
