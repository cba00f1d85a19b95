//! `POST /webhooks/stripe` as Stripe sends it (SPEC §19): the `Stripe-Signature` check over the
//! raw body under the platform endpoint's secrets (a Connect endpoint signs every connected
//! account's events with one secret, so it runs before the body is read and before any tenant
//! is looked up), then the event read into a neutral [`Notification`] in the answer table's
//! order: `livemode`, the connected `account`, the type.

use serde_json::Value;

use super::event::{self, Envelope, Read, Target};
use super::signature;
use crate::config::StripeConfig;
use crate::domain::{BodyError, Classified, Notification, Topic};
use crate::provider::{Delivery, Refused};

/// The reason answered for an event of a mode Cobro does not take.
pub const LIVEMODE_MISMATCH: &str = "livemode mismatch";
/// The reason answered for an event of no account, or of an account no tenant holds.
pub const UNKNOWN_ACCOUNT: &str = "unknown account";

/// Checks the signature of a delivery's raw body at `now` (unix seconds).
pub fn verify(
    delivery: &impl Delivery,
    body: &[u8],
    config: &StripeConfig,
    now: i64,
) -> Result<(), Refused> {
    if config.webhook_secrets.is_empty() {
        return Err(Refused(
            "no Stripe webhook secret is configured (COBRO_STRIPE_WEBHOOK_SECRET)".into(),
        ));
    }
    let secrets: Vec<&str> = config.webhook_secrets.iter().map(|s| s.expose()).collect();
    let header = delivery.header("stripe-signature");
    let tolerance = config.tolerance.as_secs();
    signature::check(&secrets, header, body, now, tolerance).map_err(|e| Refused(e.to_string()))
}

/// Reads a verified body: a notification to store, or why it is ignored.
pub fn read(body: &[u8], livemode: bool) -> Result<Classified, BodyError> {
    let raw: Value = serde_json::from_slice(body).map_err(|e| BodyError::NotJson(e.to_string()))?;
    let read = event::read_value(&raw)?;
    let (envelope, target) = match read {
        Read::Taken(envelope, target) => (envelope, target),
        Read::Ignored(envelope, reason) => {
            return Ok(Classified::Ignored(
                first_reason(&envelope, livemode).unwrap_or(reason),
            ));
        }
    };
    if let Some(reason) = first_reason(&envelope, livemode) {
        return Ok(Classified::Ignored(reason));
    }
    Ok(Classified::Payment(notification(
        envelope,
        Some(target),
        raw,
    )))
}

/// The envelope of an ignored body, so a known account's ignored deliveries are its own in the
/// delivery log.
pub fn envelope(body: &[u8]) -> Option<Notification> {
    let raw: Value = serde_json::from_slice(body).ok()?;
    let (envelope, target) = match event::read_value(&raw).ok()? {
        Read::Taken(envelope, target) => (envelope, Some(target)),
        Read::Ignored(envelope, _) => (envelope, None),
    };
    envelope.account.as_ref()?;
    Some(notification(envelope, target, raw))
}

/// The order a notification names itself, for a PaymentIntent without `metadata.cobro_order_id`:
/// a Checkout Session's `client_reference_id` (SPEC §19). Stripe signs the body, and this id
/// never changes, so it may be read from it (unlike state).
pub fn order_named_by(raw: &Value) -> Option<String> {
    let kind = raw.get("type").and_then(Value::as_str)?;
    if !kind.starts_with("checkout.session.") {
        return None;
    }
    raw.pointer("/data/object/client_reference_id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

/// The rows of the answer table that come before the type: another mode, then no account.
/// An event without `livemode` is not taken as live (nor as test): it is not Stripe's.
fn first_reason(envelope: &Envelope, livemode: bool) -> Option<String> {
    if envelope.livemode != Some(livemode) {
        return Some(LIVEMODE_MISMATCH.into());
    }
    if envelope.account.is_none() {
        return Some(UNKNOWN_ACCOUNT.into());
    }
    None
}

/// The notification of an event; `target: None` (an ignored type) names no resource.
fn notification(envelope: Envelope, target: Option<Target>, raw: Value) -> Notification {
    let (topic, resource_id, payment_id) = match target {
        Some(Target::PaymentIntent(id)) => (Topic::Payment, id.clone(), id),
        Some(Target::Dispute { id, payment_intent }) => {
            (Topic::Chargeback, id, payment_intent.unwrap_or_default())
        }
        None => (Topic::Payment, String::new(), String::new()),
    };
    Notification {
        topic,
        notification_id: Some(envelope.id),
        delivery_id: None,
        seller_account_id: envelope.account.unwrap_or_default(),
        action: envelope.kind,
        signed_id: None,
        resource_id,
        payment_id,
        raw,
    }
}
