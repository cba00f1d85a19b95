//! Which of MercadoPago's failures are worth another attempt (SPEC §6, through the retry policy
//! in `domain::retry`), and the sentence a person reads in `last_error` for each.

use serde_json::json;

use super::dispute::UnreadableDispute;
use super::order::UnreadableOrder;
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
    #[error("MercadoPago {0}")]
    UnreadableOrder(#[from] UnreadableOrder),
    #[error("MercadoPago {0}")]
    UnreadableDispute(#[from] UnreadableDispute),
}

/// The failure of an attempt whose fetch of `resource` (`payment 123`, `order ORD01…`) failed.
/// A body that cannot be read is final (asking again gets the same body); so is an order status
/// Cobro does not know (SPEC §17: retried by hand once Cobro learns it). MP answers 404 for a
/// resource it has just notified, so its 404 is retried; a refused token is final until a person
/// fixes it.
pub fn of_fetch(err: FetchError, resource: &str) -> Failure {
    match err {
        FetchError::UnreadableOrder(UnreadableOrder::UnknownStatus(word)) => Failure::permanent(
            format!("unknown MercadoPago order status '{word}'"),
            json!({ "service": "mercadopago", "status": 200, "order_status": word }),
        ),
        FetchError::Unreadable(_)
        | FetchError::UnreadableOrder(_)
        | FetchError::UnreadableDispute(_)
        | FetchError::Call(CallError::Decode(_)) => Failure::permanent(
            format!("MercadoPago answered {resource} with a body that cannot be read"),
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
                format!("MercadoPago does not know {resource} yet (404)"),
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
        let permanent = |code| of_fetch(FetchError::Call(status(code)), "payment 1").permanent;
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
            assert!(!of_fetch(FetchError::Call(err), "payment 1").permanent);
        }
        assert!(of_fetch(FetchError::Unreadable(UnreadablePayment), "payment 1").permanent);
        assert!(
            of_fetch(
                FetchError::Call(CallError::Decode("eof".into())),
                "payment 1"
            )
            .permanent
        );
        let unknown = UnreadableOrder::UnknownStatus("on_hold".into());
        let failed = of_fetch(FetchError::UnreadableOrder(unknown), "order ORD1");
        assert!(failed.permanent);
        assert_eq!(failed.message, "unknown MercadoPago order status 'on_hold'");
    }

    #[test]
    fn messages_name_what_to_do() {
        let refused = of_fetch(FetchError::Call(status(401)), "payment 7");
        assert!(
            refused.message.contains("update mp_access_token"),
            "{}",
            refused.message
        );
        let unknown = of_fetch(FetchError::Call(status(404)), "payment 7");
        assert_eq!(
            unknown.message,
            "MercadoPago does not know payment 7 yet (404)"
        );
        assert_eq!(unknown.details["service"], "mercadopago");
    }
}
