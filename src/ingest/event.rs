//! The stored event of an accepted notification (SPEC §5, §17, §19): its row, its deduplication
//! key, the body's `type` as each provider names it, and the `webhookEventUpdated` dashboards
//! see before it is processed. Pure functions; `ingest` writes what they build.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::{EventId, EventStatus, Notification, TenantId, Topic};
use crate::provider::Provider;
use crate::publish::WebhookEventUpdated;
use crate::store::events::{EventResource, NewEvent, Received};

/// The `webhookEventUpdated` of a freshly stored event, so dashboards see it before processing.
pub(super) fn pending_update(new: &NewEvent) -> WebhookEventUpdated {
    WebhookEventUpdated {
        id: EventId(Uuid::nil()),
        status: EventStatus::Pending.as_str().into(),
        attempts: 0,
        max_attempts: new.max_attempts,
        last_error: None,
        next_retry_at: None,
        mp_payment_id: new.mp_payment_id.clone(),
        action: new.action.clone(),
        processing_ms: None,
    }
}

/// The row of `n`, for `tenant`, with `max_attempts` attempts before it fails; `trace_context`
/// is the ingest span's `traceparent`, which every attempt continues.
pub(super) fn new_event(
    tenant: TenantId,
    provider: Provider,
    n: Notification,
    received: Received,
    trace_context: Option<String>,
    max_attempts: i32,
) -> NewEvent {
    let notification_id = dedup_key(&n);
    let webhook_type = webhook_type(provider, &n);
    let version = match n.topic {
        Topic::Order { version } => version,
        _ => None,
    };
    NewEvent {
        tenant_id: tenant,
        provider,
        received: Some(received),
        resource: EventResource {
            kind: n.topic.resource(),
            id: n.resource_id,
            version,
        },
        notification_id,
        request_id: n.delivery_id,
        webhook_type,
        action: n.action,
        mp_payment_id: n.payment_id,
        raw_payload: n.raw,
        max_attempts,
        trace_context,
    }
}

/// The body's `type`: MercadoPago's word for each topic; a Stripe event's own type.
pub(super) fn webhook_type(provider: Provider, n: &Notification) -> String {
    match provider {
        Provider::MercadoPago => mp_webhook_type(n.topic).to_owned(),
        Provider::Stripe => n.action.clone(),
    }
}

fn mp_webhook_type(topic: Topic) -> &'static str {
    match topic {
        Topic::Payment => "payment",
        Topic::Order { .. } => "order",
        Topic::Chargeback => "topic_chargebacks_wh",
        Topic::FraudAlert => "stop_delivery_op_wh",
        Topic::Claim => "topic_claims_integration_wh",
        Topic::Connection { .. } => "mp-connect",
    }
}

/// SPEC §5 and §17: an order notification with a version is one per (order, version); else the
/// body id; without one, the delivery id; without both, the exact body.
fn dedup_key(n: &Notification) -> String {
    match (n.topic, &n.notification_id, &n.delivery_id) {
        (Topic::Order { version: Some(v) }, _, _) => format!("order:{}:{v}", n.resource_id),
        (_, Some(id), _) => id.clone(),
        (_, None, Some(rid)) => format!("req:{rid}"),
        (_, None, None) => format!("sha256:{}", hex::encode(Sha256::digest(n.raw.to_string()))),
    }
}
