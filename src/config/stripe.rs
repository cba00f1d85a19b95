//! Stripe's settings (SPEC §19): the platform's secret key, the Connect endpoint's signing
//! secrets, the API base, the signature tolerance and the mode Cobro takes. Read with the rest of
//! the configuration (`COBRO_STRIPE_*`); only `config` builds them.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::checks::base_url;
use super::values::{ConfigError, Secret};

/// Validated Stripe settings. `Debug` shows no secret (both are [`Secret`]s).
#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// The platform's `sk_…` key (`COBRO_STRIPE_SECRET_KEY`): sent to Stripe, never logged or
    /// stored. `None`: Stripe is not configured.
    pub secret_key: Option<Secret>,
    /// The endpoint's `whsec_…` secrets (`COBRO_STRIPE_WEBHOOK_SECRET`, comma-separated): a
    /// delivery signed under any of them is genuine, so a rotation lists the old and the new.
    pub webhook_secrets: Vec<Secret>,
    pub api_base: Url,
    /// How far a signature's `t` may be from now, either side.
    pub tolerance: Duration,
    /// The `livemode` of the events taken; the others are ignored.
    pub livemode: bool,
}

/// The fields as written (flattened into the configuration's top level).
#[derive(Deserialize)]
pub(super) struct RawStripe {
    stripe_secret_key: Option<Secret>,
    stripe_webhook_secret: Option<Secret>,
    stripe_api_base: String,
    stripe_tolerance_secs: u64,
    stripe_livemode: bool,
}

impl RawStripe {
    pub(super) fn validate(self) -> Result<StripeConfig, ConfigError> {
        let webhook_secrets = self
            .stripe_webhook_secret
            .map(|list| {
                list.expose()
                    .split(',')
                    .map(str::trim)
                    .filter(|secret| !secret.is_empty())
                    .map(Secret::new)
                    .collect()
            })
            .unwrap_or_default();
        Ok(StripeConfig {
            secret_key: self.stripe_secret_key.filter(|k| !k.expose().is_empty()),
            webhook_secrets,
            api_base: base_url("stripe_api_base", &self.stripe_api_base)?,
            tolerance: Duration::from_secs(self.stripe_tolerance_secs),
            livemode: self.stripe_livemode,
        })
    }
}
