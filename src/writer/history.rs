//! The attempt history a cycle writes (issue 13): for each write that ended an attempt, one
//! `event_attempts` row built from what the write carried and the event as the cycle left it.
//! Both commit paths (`together`, `one_by_one`) insert these rows in the attempt's transaction.

use super::messages::{Write, Written, elapsed_ms};

/// The attempt-history row of a write that ended an attempt (issue 13), from what the write
/// carried and the event as the cycle left it; `None` for writes that end no attempt.
pub(super) fn attempt_row(
    node: Option<&str>,
    write: &Write,
    written: &Written,
) -> Option<entity::event_attempt::ActiveModel> {
    use crate::store::attempts::{Ended, row};
    let success = |event, duration_ms, ghl_status| Ended {
        event,
        node,
        duration_ms,
        outcome: "success",
        // A success fetched the payment: MercadoPago answered 200.
        mp_status: Some(200),
        ghl_status,
        error: None,
        details: None,
    };
    let ended = match (write, written) {
        (Write::Payment(update), Written::Payment(stored)) => {
            let event = stored.finished.as_ref()?;
            success(event, elapsed_ms(update.started), None)
        }
        (Write::Resource(write), Written::Resource(stored)) => {
            let event = stored.finished.as_ref()?;
            success(event, write.processing_ms, None)
        }
        (
            Write::Success {
                started, tagged, ..
            },
            Written::Event(event),
        ) => success(event, elapsed_ms(*started), tagged.then_some(200)),
        (Write::Failed(failed), Written::Event(event)) => {
            let status = failed.details["status"]
                .as_i64()
                .and_then(|s| i32::try_from(s).ok());
            let (mp_status, ghl_status) = match failed.details["service"].as_str() {
                Some("mercadopago") => (status, None),
                // GoHighLevel is called after the payment was fetched.
                Some("gohighlevel") => (Some(200), status),
                _ => (None, None),
            };
            let outcome = match event.status.as_str() {
                "failed" => "failed",
                _ => "retry",
            };
            Ended {
                event,
                node,
                duration_ms: failed.processing_ms,
                outcome,
                mp_status,
                ghl_status,
                error: Some(&failed.message),
                details: Some(&failed.details),
            }
        }
        _ => return None,
    };
    Some(row(ended))
}
