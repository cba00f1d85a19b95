//! Which of MercadoPago's failures are worth another attempt (SPEC §6, through the retry policy
//! in `domain::retry`), and the sentence a person reads in `last_error` for each.

use serde_json::json;

use super::payment::UnreadablePayment;
use crate::domain::Failure;
use crate::outbound::{CallError, judge_status};

const SERVICE: &str = "MercadoPago";

/// Why fetching a payment failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("MercadoPago {0}")]
    Call(#[from] CallError),
    #[error("MercadoPago {0}")]
    Unreadable(#[from] UnreadablePayment),
}

/// The failure of an attempt whose fetch of `payment_id` failed. A body that cannot be read is
/// final (asking again gets the same body); MP answers 404 for a payment it has just notified, so
/// its 404 is retried; a refused token is final until a person fixes it.
pub fn of_fetch(err: FetchError, payment_id: &str) -> Failure {
    match err {
        FetchError::Unreadable(_) | FetchError::Call(CallError::Decode(_)) => Failure::permanent(
            format!("MercadoPago answered payment {payment_id} with a body that cannot be read"),
            json!({ "service": "mercadopago", "error": err.to_string() }),
        ),
        FetchError::Call(call) => call.into_failure(SERVICE, |status| match status {
            401 | 403 => (
                true,
                format!(
                    "MercadoPago refused the tenant's access token ({status}): update mp_access_token, then retry"
                ),
            ),
            404 => (
                false,
                format!("MercadoPago does not know payment {payment_id} yet (404)"),
            ),
            _ => judge_status(SERVICE, status, true),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> CallError {
        CallError::Status {
            status: code,
            retry_after: None,
            body: String::new(),
        }
    }

    #[test]
    fn mp_statuses_follow_the_spec() {
        let permanent = |code| of_fetch(FetchError::Call(status(code)), "1").permanent;
        assert!(permanent(401));
        assert!(permanent(403));
        assert!(!permanent(404));
        assert!(!permanent(429));
        assert!(!permanent(500));
        assert!(!permanent(503));
        assert!(permanent(400));
    }

    #[test]
    fn transport_failures_are_transient_and_unreadable_bodies_final() {
        for err in [CallError::Timeout, CallError::Connect("refused".into())] {
            assert!(!of_fetch(FetchError::Call(err), "1").permanent);
        }
        assert!(of_fetch(FetchError::Unreadable(UnreadablePayment), "1").permanent);
        assert!(of_fetch(FetchError::Call(CallError::Decode("eof".into())), "1").permanent);
    }

    #[test]
    fn messages_name_what_to_do() {
        let refused = of_fetch(FetchError::Call(status(401)), "7");
        assert!(
            refused.message.contains("update mp_access_token"),
            "{}",
            refused.message
        );
        let unknown = of_fetch(FetchError::Call(status(404)), "7");
        assert_eq!(
            unknown.message,
            "MercadoPago does not know payment 7 yet (404)"
        );
        assert_eq!(unknown.details["service"], "mercadopago");
    }
}
