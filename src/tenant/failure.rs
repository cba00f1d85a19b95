//! Why a processing attempt failed, classified by the retry policy (`domain::retry`, SPEC §6):
//! transient failures are retried on the schedule (a 429's `Retry-After` wins when longer),
//! permanent ones fail the event at once.
//! `message` is the sentence a person reads in `last_error`; `details` keeps status and body.

use std::time::Duration;

use sea_orm::DbErr;
use serde_json::{Value, json};

use crate::domain::retry;
use crate::ghl::GhlError;
use crate::mercadopago::client::MpError;
use crate::outbound::CallError;

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub permanent: bool,
    pub retry_after: Option<Duration>,
    pub message: String,
    pub details: Value,
}

impl Failure {
    pub fn permanent(message: impl Into<String>, details: Value) -> Self {
        Self {
            permanent: true,
            retry_after: None,
            message: message.into(),
            details,
        }
    }

    pub fn transient(message: impl Into<String>, details: Value) -> Self {
        Self {
            permanent: false,
            retry_after: None,
            message: message.into(),
            details,
        }
    }

    pub fn from_mp(err: MpError, payment_id: &str) -> Self {
        match err {
            MpError::Unreadable(_) | MpError::Call(CallError::Decode(_)) => Self::permanent(
                format!(
                    "MercadoPago answered payment {payment_id} with a body that cannot be read"
                ),
                json!({ "service": "mercadopago", "error": err.to_string() }),
            ),
            MpError::Call(call) => Self::from_call("MercadoPago", call, payment_id),
        }
    }

    /// GoHighLevel documents no `Retry-After`: its 429 waits at least `min_429_backoff`
    /// (`ghl_429_backoff_ms`, 10 s by default).
    pub fn from_ghl(err: GhlError, min_429_backoff: Duration) -> Self {
        match err {
            GhlError::NoContactId => Self::transient(
                "GoHighLevel created the contact but answered no contact id",
                json!({ "service": "gohighlevel" }),
            ),
            GhlError::Call(call) => {
                let mut failure = Self::from_call("GoHighLevel", call, "");
                if matches!(failure.details["status"].as_u64(), Some(429)) {
                    failure.retry_after =
                        Some(retry::at_least(failure.retry_after, min_429_backoff));
                }
                failure
            }
        }
    }

    pub fn from_db(err: DbErr) -> Self {
        Self::transient(
            "database error while processing; will retry",
            json!({ "service": "database", "error": err.to_string() }),
        )
    }

    fn from_call(service: &str, err: CallError, payment_id: &str) -> Self {
        let key = service.to_lowercase();
        match err {
            CallError::Timeout => Self::transient(
                format!("{service} did not answer in time"),
                json!({ "service": key, "error": "timeout" }),
            ),
            CallError::Connect(why) => Self::transient(
                format!("could not reach {service}: {why}"),
                json!({ "service": key, "error": why }),
            ),
            CallError::Decode(why) => Self::transient(
                format!("{service} answered with a body that is not JSON"),
                json!({ "service": key, "error": why }),
            ),
            CallError::Status {
                status,
                retry_after,
                body,
            } => {
                let details = json!({ "service": key, "status": status, "body": body });
                let (permanent, message) = status_message(service, status, payment_id);
                Self {
                    permanent,
                    retry_after,
                    message,
                    details,
                }
            }
        }
    }
}

/// Whether an HTTP status is final (the retry policy decides), and what to tell the person who
/// reads `last_error`.
fn status_message(service: &str, status: u16, payment_id: &str) -> (bool, String) {
    let mp = service == "MercadoPago";
    let permanent = !retry::status_is_transient(status, mp);
    (permanent, describe_status(service, mp, status, payment_id))
}

fn describe_status(service: &str, mp: bool, status: u16, payment_id: &str) -> String {
    match status {
        401 | 403 if mp => format!(
            "MercadoPago refused the tenant's access token ({status}): update mp_access_token, then retry"
        ),
        401 | 403 => format!(
            "GoHighLevel refused the tenant's API key ({status}): update the GHL settings, then retry"
        ),
        404 if mp => format!("MercadoPago does not know payment {payment_id} yet (404)"),
        408 | 429 => format!("{service} is rate limiting or timing out ({status})"),
        500..=599 => format!("{service} failed with {status}"),
        _ => format!("{service} refused the request with {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, retry_after: Option<Duration>) -> CallError {
        CallError::Status {
            status: code,
            retry_after,
            body: String::new(),
        }
    }

    #[test]
    fn mp_statuses_follow_the_spec() {
        let classify = |code| Failure::from_mp(MpError::Call(status(code, None)), "1").permanent;
        assert!(classify(401));
        assert!(classify(403));
        assert!(!classify(404));
        assert!(!classify(429));
        assert!(!classify(500));
        assert!(!classify(503));
        assert!(classify(400));
    }

    #[test]
    fn transport_failures_are_transient() {
        for err in [CallError::Timeout, CallError::Connect("refused".into())] {
            assert!(!Failure::from_mp(MpError::Call(err), "1").permanent);
        }
    }

    const GHL_MIN_BACKOFF: Duration = Duration::from_secs(10);

    #[test]
    fn ghl_429_waits_at_least_the_configured_backoff() {
        let failure = Failure::from_ghl(
            GhlError::Call(status(429, Some(Duration::from_secs(2)))),
            GHL_MIN_BACKOFF,
        );
        assert_eq!(failure.retry_after, Some(GHL_MIN_BACKOFF));
        let failure = Failure::from_ghl(
            GhlError::Call(status(429, Some(Duration::from_secs(30)))),
            GHL_MIN_BACKOFF,
        );
        assert_eq!(failure.retry_after, Some(Duration::from_secs(30)));
    }
}
