//! Configuration: the commented `config/default.toml` (compiled in), then the file named by
//! `COBRO_CONFIG`, then `COBRO_*` environment variables, validated into [`Config`] before anything
//! starts. `main` loads it once; tests build one from [`Config::defaults`] plus overrides.

use std::num::NonZeroU32;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;
use url::Url;

mod checks;
mod outbound;
mod stripe;
mod values;
use checks::{
    base_url, database_kind, default_node_id, mp_oauth, non_zero, parse_schedule, positive_millis,
    seconds_or_never, secret_box,
};
pub use outbound::OutboundConfig;
pub use stripe::StripeConfig;
pub use values::{ConfigError, DatabaseKind, MpOAuth, Secret};
use values::{ENV_PREFIX, ScheduleInput};

const DEFAULTS: &str = include_str!("../../config/default.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

pub use crate::domain::RetrySchedule;

/// The validated configuration every part of Cobro reads.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    /// Set by `cobro demo` only: MercadoPago and GoHighLevel are the built-in sandbox.
    pub sandbox: bool,
    /// Where MercadoPago reaches this server (`notification_url` of checkout preferences).
    pub public_url: Url,
    pub database_url: String,
    pub database_kind: DatabaseKind,
    pub database_max_connections: u32,
    /// A pooled connection idle this long is closed (`None`: never).
    pub database_idle_timeout: Option<Duration>,
    /// A pooled connection is closed and replaced after this long (`None`: never).
    pub database_max_lifetime: Option<Duration>,
    /// Value of SQLite's `PRAGMA synchronous`, already checked.
    pub sqlite_synchronous: String,
    pub sqlite_busy_timeout: Duration,
    pub admin_token: Option<Secret>,
    /// Seals tenant secrets at rest (`COBRO_SECRET_KEY`, checked); without it they are plain.
    pub secrets: crate::secrets::SecretBox,
    pub mp_api_base: Url,
    pub mp_webhook_secret: Option<Secret>,
    /// The platform's MercadoPago application, when sellers connect through OAuth (SPEC §14).
    pub mp_oauth: Option<MpOAuth>,
    /// OAuth tokens are refreshed when they expire within this long.
    pub mp_token_refresh_before: Duration,
    /// How often each node looks for tokens to refresh.
    pub mp_token_refresh_interval: Duration,
    /// Stripe, the second provider (SPEC §19).
    pub stripe: StripeConfig,
    /// Signed events to the platform's backend (SPEC §21).
    pub outbound: OutboundConfig,
    pub ghl_api_base: Url,
    pub retry_schedule: RetrySchedule,
    pub http_timeout: Duration,
    pub log_format: LogFormat,
    /// The OpenTelemetry collector's OTLP/HTTP base (SPEC §20); `None`: no trace is exported.
    pub otlp_endpoint: Option<Url>,
    pub tenant_idle: Duration,
    /// `success` events older than this many days are deleted; 0 keeps them forever.
    pub retention_days: u64,
    pub retention_interval: Duration,
    /// Delivery-log rows older than this many days are deleted (SPEC §18); 0 keeps them.
    pub delivery_log_retention_days: u64,
    /// Audit-trail rows older than this many days are deleted (SPEC §20); 0 keeps them.
    pub audit_retention_days: u64,
    /// Most delivery-log rows per second for requests of no known tenant; the rest are counted
    /// only (`cobro_deliveries_unlogged_total`). 0 logs none of them.
    pub delivery_log_anon_per_second: u32,
    /// Threads the tenant actors run on (at least 1).
    pub tenant_threads: usize,
    pub mp_requests_per_second: NonZeroU32,
    pub ghl_requests_per_10s: NonZeroU32,
    /// GoHighLevel's 429 carries no documented `Retry-After`: wait at least this long.
    pub ghl_429_backoff: Duration,
    /// `None` turns the per-tenant ingest limit off.
    pub ingest_per_tenant_per_second: Option<NonZeroU32>,
    /// This node's name in a cluster (`COBRO_NODE_ID`; default `<host name>-<pid>`).
    pub node_id: String,
    /// A node whose heartbeat is older than this is dead (SPEC §13).
    pub cluster_lease_timeout: Duration,
    /// The backstop of LISTEN/NOTIFY: how often a node looks for unannounced pending events.
    pub cluster_poll_interval: Duration,
}

/// The file and environment as written, before validation.
#[derive(Deserialize)]
struct RawConfig {
    bind: String,
    public_url: String,
    database_url: String,
    database_max_connections: u32,
    database_idle_timeout_secs: u64,
    database_max_lifetime_secs: u64,
    sqlite_synchronous: String,
    sqlite_busy_timeout_ms: u64,
    admin_token: Option<Secret>,
    secret_key: Option<Secret>,
    mp_api_base: String,
    mp_webhook_secret: Option<Secret>,
    mp_client_id: Option<DigitsOrText>,
    mp_client_secret: Option<Secret>,
    mp_auth_base: String,
    mp_token_refresh_before_secs: u64,
    mp_token_refresh_interval_secs: u64,
    #[serde(flatten)]
    stripe: stripe::RawStripe,
    #[serde(flatten)]
    outbound: outbound::RawOutbound,
    ghl_api_base: String,
    retry_schedule: ScheduleInput,
    http_timeout_ms: u64,
    log_format: String,
    otlp_endpoint: String,
    tenant_idle_secs: u64,
    tenant_threads: usize,
    retention_days: u64,
    retention_interval_secs: u64,
    delivery_log_retention_days: u64,
    audit_retention_days: u64,
    delivery_log_anon_per_second: u32,
    mp_requests_per_second: u32,
    ghl_requests_per_10s: u32,
    ghl_429_backoff_ms: u64,
    ingest_per_tenant_per_second: u32,
    node_id: String,
    cluster_lease_timeout_ms: u64,
    cluster_poll_interval_ms: u64,
}

/// MercadoPago's client ids are digits, which the environment hands over as a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum DigitsOrText {
    Number(u64),
    Text(String),
}

impl DigitsOrText {
    fn into_text(self) -> String {
        match self {
            DigitsOrText::Number(n) => n.to_string(),
            DigitsOrText::Text(text) => text,
        }
    }
}

impl Config {
    /// Defaults, then `COBRO_CONFIG`'s file, then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let mut figment = Self::defaults();
        if let Ok(path) = std::env::var("COBRO_CONFIG") {
            if !std::path::Path::new(&path).is_file() {
                return Err(ConfigError::new("config", format!("no such file: {path}")));
            }
            figment = figment.merge(Toml::file(path));
        }
        let env = Env::prefixed(ENV_PREFIX).ignore(&["CONFIG"]);
        Self::from_figment(figment.merge(env))
    }

    /// Only the built-in defaults; tests merge their overrides onto this.
    pub fn defaults() -> Figment {
        Figment::from(Toml::string(DEFAULTS))
    }

    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let raw: RawConfig = figment.extract().map_err(|err| {
            let key = err.path.join(".");
            let key = if key.is_empty() { "config".into() } else { key };
            ConfigError::new(&key, err.kind)
        })?;
        raw.validate()
    }
}

impl RawConfig {
    fn validate(self) -> Result<Config, ConfigError> {
        let database_kind = database_kind(&self.database_url)?;
        let sqlite_synchronous = self.sqlite_synchronous.to_ascii_lowercase();
        if !["off", "normal", "full", "extra"].contains(&sqlite_synchronous.as_str()) {
            return Err(ConfigError::new(
                "sqlite_synchronous",
                format!(
                    "{:?} is not one of off, normal, full, extra",
                    self.sqlite_synchronous
                ),
            ));
        }
        let log_format = match self.log_format.as_str() {
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => {
                return Err(ConfigError::new(
                    "log_format",
                    format!("{other:?} is not pretty or json"),
                ));
            }
        };
        if self.bind.parse::<std::net::SocketAddr>().is_err() && !self.bind.contains(':') {
            return Err(ConfigError::new(
                "bind",
                format!("{:?} is not host:port", self.bind),
            ));
        }
        let public_url = match self.public_url.trim() {
            "" => format!("http://{}", self.bind),
            url => url.to_owned(),
        };
        Ok(Config {
            sandbox: false,
            public_url: base_url("public_url", &public_url)?,
            bind: self.bind,
            database_url: self.database_url,
            database_kind,
            database_max_connections: self.database_max_connections.max(1),
            database_idle_timeout: seconds_or_never(self.database_idle_timeout_secs),
            database_max_lifetime: seconds_or_never(self.database_max_lifetime_secs),
            sqlite_synchronous,
            sqlite_busy_timeout: Duration::from_millis(self.sqlite_busy_timeout_ms),
            admin_token: self.admin_token.filter(|t| !t.expose().is_empty()),
            secrets: secret_box(self.secret_key)?,
            mp_api_base: base_url("mp_api_base", &self.mp_api_base)?,
            mp_webhook_secret: self.mp_webhook_secret.filter(|s| !s.expose().is_empty()),
            mp_oauth: mp_oauth(
                self.mp_client_id.map(DigitsOrText::into_text),
                self.mp_client_secret,
                &self.mp_auth_base,
            )?,
            mp_token_refresh_before: Duration::from_secs(self.mp_token_refresh_before_secs),
            mp_token_refresh_interval: Duration::from_secs(
                self.mp_token_refresh_interval_secs.max(1),
            ),
            stripe: self.stripe.validate()?,
            outbound: self.outbound.validate()?,
            ghl_api_base: base_url("ghl_api_base", &self.ghl_api_base)?,
            retry_schedule: parse_schedule(self.retry_schedule)?,
            http_timeout: positive_millis("http_timeout_ms", self.http_timeout_ms)?,
            log_format,
            otlp_endpoint: match self.otlp_endpoint.trim() {
                "" => None,
                url => Some(base_url("otlp_endpoint", url)?),
            },
            tenant_idle: Duration::from_secs(self.tenant_idle_secs.max(1)),
            retention_days: self.retention_days,
            retention_interval: Duration::from_secs(self.retention_interval_secs.max(1)),
            delivery_log_retention_days: self.delivery_log_retention_days,
            audit_retention_days: self.audit_retention_days,
            delivery_log_anon_per_second: self.delivery_log_anon_per_second,
            tenant_threads: match self.tenant_threads {
                0 => std::thread::available_parallelism().map_or(1, usize::from),
                n => n,
            },
            mp_requests_per_second: non_zero(
                "mp_requests_per_second",
                self.mp_requests_per_second,
            )?,
            ghl_requests_per_10s: non_zero("ghl_requests_per_10s", self.ghl_requests_per_10s)?,
            ghl_429_backoff: Duration::from_millis(self.ghl_429_backoff_ms),
            ingest_per_tenant_per_second: NonZeroU32::new(self.ingest_per_tenant_per_second),
            node_id: match self.node_id.trim() {
                "" => default_node_id(),
                id => id.to_owned(),
            },
            cluster_lease_timeout: positive_millis(
                "cluster_lease_timeout_ms",
                self.cluster_lease_timeout_ms,
            )?,
            cluster_poll_interval: positive_millis(
                "cluster_poll_interval_ms",
                self.cluster_poll_interval_ms,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Serialized;

    fn with(key: &str, value: &str) -> Result<Config, ConfigError> {
        Config::from_figment(Config::defaults().merge(Serialized::default(key, value)))
    }

    #[test]
    fn defaults_are_valid_and_match_the_spec() -> Result<(), ConfigError> {
        let config = Config::from_figment(Config::defaults())?;
        assert_eq!(config.bind, "127.0.0.1:8080");
        assert_eq!(config.database_kind, DatabaseKind::Sqlite);
        assert_eq!(config.retry_schedule.attempts(), 4);
        assert_eq!(config.http_timeout, Duration::from_secs(10));
        assert_eq!(config.sqlite_synchronous, "full");
        assert!(config.admin_token.is_none());
        Ok(())
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            ("retry_schedule", "", "COBRO_RETRY_SCHEDULE"),
            ("retry_schedule", "60,abc", "COBRO_RETRY_SCHEDULE"),
            ("database_url", "mysql://x", "COBRO_DATABASE_URL"),
            ("mp_api_base", "not a url", "COBRO_MP_API_BASE"),
            ("log_format", "xml", "COBRO_LOG_FORMAT"),
            (
                "sqlite_synchronous",
                "sometimes",
                "COBRO_SQLITE_SYNCHRONOUS",
            ),
        ];
        for (key, value, option) in cases {
            let err = with(key, value).err().map(|e| e.option);
            assert_eq!(err.as_deref(), Some(option), "{key}={value:?}");
        }
    }

    #[test]
    fn schedule_accepts_fractions_and_spaces() -> Result<(), ConfigError> {
        let config = with("retry_schedule", "0.5, 2")?;
        let delays = config.retry_schedule.delays();
        assert_eq!(delays, [Duration::from_millis(500), Duration::from_secs(2)]);
        Ok(())
    }

    #[test]
    fn stripe_defaults_and_a_rotation_list() -> Result<(), ConfigError> {
        let config = Config::from_figment(Config::defaults())?;
        assert!(config.stripe.secret_key.is_none());
        assert!(config.stripe.webhook_secrets.is_empty());
        assert_eq!(config.stripe.api_base.as_str(), "https://api.stripe.com/");
        assert_eq!(config.stripe.tolerance, Duration::from_secs(300));
        assert!(config.stripe.livemode);
        let config = with("stripe_webhook_secret", " whsec_old , whsec_new,")?;
        let secrets: Vec<&str> = config
            .stripe
            .webhook_secrets
            .iter()
            .map(Secret::expose)
            .collect();
        assert_eq!(secrets, ["whsec_old", "whsec_new"]);
        let config = Config::from_figment(
            Config::defaults()
                .merge(Serialized::default("stripe_livemode", false))
                .merge(Serialized::default("stripe_secret_key", "sk_test_hunter2")),
        )?;
        assert!(!config.stripe.livemode);
        assert!(
            !format!("{config:?}").contains("hunter2"),
            "the key is logged"
        );
        assert_eq!(
            with("stripe_api_base", "ftp://x")
                .err()
                .map(|e| e.option)
                .as_deref(),
            Some("COBRO_STRIPE_API_BASE")
        );
        Ok(())
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let text = format!("{:?}", Secret::new("hunter2"));
        assert!(!text.contains("hunter2"));
    }
}
