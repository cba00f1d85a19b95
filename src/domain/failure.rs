//! Why a processing attempt failed, in the words the retry policy (`retry`) and a person need:
//! transient failures are retried on the schedule (a longer `Retry-After` wins), permanent ones
//! fail the event at once. Provider adapters, GoHighLevel and the database each build their own
//! (`provider::*`, `tenant::failure`); the pipeline only reads this.

use std::time::Duration;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub permanent: bool,
    pub retry_after: Option<Duration>,
    /// The sentence a person reads in `last_error`.
    pub message: String,
    /// What `error_details` keeps: service, status, body.
    pub details: Value,
    /// The service refused the credentials (a 401). For the provider's access token, an OAuth
    /// connection refreshes it
    /// once and tries again before the attempt counts as failed (SPEC §14).
    pub credentials_refused: bool,
}

impl Failure {
    pub fn permanent(message: impl Into<String>, details: Value) -> Self {
        Self {
            permanent: true,
            retry_after: None,
            message: message.into(),
            details,
            credentials_refused: false,
        }
    }

    pub fn transient(message: impl Into<String>, details: Value) -> Self {
        Self {
            permanent: false,
            retry_after: None,
            message: message.into(),
            details,
            credentials_refused: false,
        }
    }
}
