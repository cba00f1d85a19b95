//! Reads a Stripe event body (SPEC §19): the envelope Cobro answers on (event id, type,
//! connected account, livemode) and what processing must fetch: a PaymentIntent (the event's
//! object, or the `payment_intent` of a charge or Checkout Session) or a dispute. Lenient: other
//! fields are ignored. `data.object` is read for ids only, never for state: Stripe does not order
//! its events, so processing fetches the current object.

use serde_json::Value;

use crate::domain::BodyError;

/// The event types Cobro takes (SPEC §19); others are answered `ignored`.
pub const TAKEN: [&str; 13] = [
    "payment_intent.succeeded",
    "payment_intent.processing",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.requires_action",
    "payment_intent.amount_capturable_updated",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
];

/// The envelope of every event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub id: String,
    pub kind: String,
    /// The connected account (`acct_…`) the event happened on; `None` for the platform's own.
    pub account: Option<String>,
    pub livemode: Option<bool>,
}

/// What processing fetches for a taken event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    PaymentIntent(String),
    /// A dispute, with the PaymentIntent it disputes when the event names it.
    Dispute {
        id: String,
        payment_intent: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    Taken(Envelope, Target),
    /// Not a type Cobro takes, or one without the object it needs; the text is the reason.
    Ignored(Envelope, String),
}

/// Parses and reads a body (the unit tests' way in).
#[cfg(test)]
pub fn read(body: &[u8]) -> Result<Read, BodyError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| BodyError::NotJson(e.to_string()))?;
    read_value(&value)
}

/// Reads a parsed body.
pub fn read_value(value: &Value) -> Result<Read, BodyError> {
    let event = value.as_object().ok_or(BodyError::NotObject)?;
    let text = |key: &'static str| {
        event
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(BodyError::Missing(key))
    };
    let envelope = Envelope {
        id: text("id")?.to_owned(),
        kind: text("type")?.to_owned(),
        account: event
            .get("account")
            .and_then(Value::as_str)
            .map(str::to_owned),
        livemode: event.get("livemode").and_then(Value::as_bool),
    };
    let object = value
        .pointer("/data/object")
        .filter(|o| o.is_object())
        .ok_or(BodyError::Missing("data.object"))?;
    if !TAKEN.contains(&envelope.kind.as_str()) {
        let reason = format!("unsupported type: {}", envelope.kind);
        return Ok(Read::Ignored(envelope, reason));
    }
    Ok(match target(&envelope.kind, object) {
        Some(target) => Read::Taken(envelope, target),
        None => {
            let reason = format!("{} names no payment_intent", envelope.kind);
            Read::Ignored(envelope, reason)
        }
    })
}

/// The object to fetch: `payment_intent.*` are one; charges and sessions name one; disputes are
/// fetched themselves.
fn target(kind: &str, object: &Value) -> Option<Target> {
    let field = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
    if kind.starts_with("payment_intent.") {
        field("id").map(Target::PaymentIntent)
    } else if kind.starts_with("charge.dispute.") {
        field("id").map(|id| Target::Dispute {
            id,
            payment_intent: field("payment_intent"),
        })
    } else {
        field("payment_intent").map(Target::PaymentIntent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/stripe/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn a_payment_intent_event_names_its_intent_and_account() {
        let read = read(&fixture("event_payment_intent_succeeded.json"));
        let Ok(Read::Taken(envelope, target)) = read else {
            panic!("not taken: {read:?}");
        };
        assert!(envelope.id.starts_with("evt_"));
        assert_eq!(envelope.kind, "payment_intent.succeeded");
        assert!(envelope.account.is_some_and(|a| a.starts_with("acct_")));
        assert_eq!(envelope.livemode, Some(true));
        assert!(matches!(target, Target::PaymentIntent(id) if id.starts_with("pi_")));
    }

    #[test]
    fn a_checkout_session_names_its_payment_intent() {
        let read = read(&fixture("event_checkout_session_completed.json"));
        let Ok(Read::Taken(_, target)) = read else {
            panic!("not taken: {read:?}");
        };
        assert_eq!(
            target,
            Target::PaymentIntent("pi_3QpXcobroFixture0001".into())
        );
    }

    #[test]
    fn disputes_refunds_and_the_rest() {
        let event = |kind: &str, object: Value| {
            let body =
                serde_json::json!({ "id": "evt_1", "type": kind, "data": { "object": object } });
            read(body.to_string().as_bytes())
        };
        let dispute = event(
            "charge.dispute.created",
            serde_json::json!({ "id": "dp_1", "payment_intent": "pi_1" }),
        );
        let Ok(Read::Taken(_, target)) = dispute else {
            panic!("{dispute:?}")
        };
        assert_eq!(
            target,
            Target::Dispute {
                id: "dp_1".into(),
                payment_intent: Some("pi_1".into())
            }
        );
        let refund = event(
            "charge.refunded",
            serde_json::json!({ "id": "ch_1", "payment_intent": "pi_2" }),
        );
        assert!(matches!(refund, Ok(Read::Taken(_, Target::PaymentIntent(id))) if id == "pi_2"));
        let other = event("customer.created", serde_json::json!({ "id": "cus_1" }));
        assert!(
            matches!(&other, Ok(Read::Ignored(_, reason)) if reason == "unsupported type: customer.created"),
            "{other:?}"
        );
        let session = event(
            "checkout.session.async_payment_failed",
            serde_json::json!({ "id": "cs_1", "payment_intent": null }),
        );
        assert!(matches!(session, Ok(Read::Ignored(..))), "{session:?}");
    }

    #[test]
    fn bodies_that_are_not_events() {
        assert!(matches!(read(b"nope"), Err(BodyError::NotJson(_))));
        assert_eq!(read(b"[]"), Err(BodyError::NotObject));
        assert_eq!(
            read(br#"{"type":"charge.refunded","data":{"object":{}}}"#),
            Err(BodyError::Missing("id"))
        );
        assert_eq!(
            read(br#"{"id":"evt_1","type":"charge.refunded","data":{}}"#),
            Err(BodyError::Missing("data.object"))
        );
    }
}
