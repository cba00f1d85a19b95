//! The failures the pipeline builds itself: GoHighLevel's and the database's. A provider's are
//! its adapter's (`provider::*`); all are [`Failure`]s, classified by the retry policy
//! (`domain::retry`, SPEC §6).

use std::time::Duration;

use sea_orm::DbErr;
use serde_json::json;

pub use crate::domain::Failure;
use crate::domain::retry;
use crate::ghl::GhlError;
use crate::outbound::judge_status;

/// GoHighLevel documents no `Retry-After`: its 429 waits at least `min_429_backoff`
/// (`ghl_429_backoff_ms`, 10 s by default).
pub fn from_ghl(err: GhlError, min_429_backoff: Duration) -> Failure {
    match err {
        GhlError::NoContactId => Failure::transient(
            "GoHighLevel created the contact but answered no contact id",
            json!({ "service": "gohighlevel" }),
        ),
        GhlError::Call(call) => {
            let mut failure = call.into_failure("GoHighLevel", |status| match status {
                401 | 403 => (
                    true,
                    format!(
                        "GoHighLevel refused the tenant's API key ({status}): update the GHL settings, then retry"
                    ),
                ),
                _ => judge_status("GoHighLevel", status, false),
            });
            if matches!(failure.details["status"].as_u64(), Some(429)) {
                failure.retry_after = Some(retry::at_least(failure.retry_after, min_429_backoff));
            }
            failure
        }
    }
}

pub fn from_db(err: DbErr) -> Failure {
    Failure::transient(
        "database error while processing; will retry",
        json!({ "service": "database", "error": err.to_string() }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::CallError;

    fn status(code: u16, retry_after: Option<Duration>) -> CallError {
        CallError::Status {
            status: code,
            retry_after,
            body: String::new(),
        }
    }

    const GHL_MIN_BACKOFF: Duration = Duration::from_secs(10);

    #[test]
    fn ghl_429_waits_at_least_the_configured_backoff() {
        let failure = from_ghl(
            GhlError::Call(status(429, Some(Duration::from_secs(2)))),
            GHL_MIN_BACKOFF,
        );
        assert_eq!(failure.retry_after, Some(GHL_MIN_BACKOFF));
        let failure = from_ghl(
            GhlError::Call(status(429, Some(Duration::from_secs(30)))),
            GHL_MIN_BACKOFF,
        );
        assert_eq!(failure.retry_after, Some(Duration::from_secs(30)));
    }

    #[test]
    fn ghl_statuses_follow_the_policy() {
        let permanent =
            |code| from_ghl(GhlError::Call(status(code, None)), GHL_MIN_BACKOFF).permanent;
        assert!(permanent(401));
        assert!(permanent(404), "GoHighLevel's 404 is final");
        assert!(!permanent(500));
        assert!(!permanent(429));
    }
}
