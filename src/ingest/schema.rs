//! The webhook's bodies as the OpenAPI document describes them. The notification is read
//! leniently by `classify` (any JSON object is taken, and answered `ignored` when it is not a V1
//! payment notification), so its schema is an object whose known fields are listed, not required.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A MercadoPago notification (V1: `type`, `action`, `data.id`, `user_id`). Taken types (SPEC §5,
/// §17): `payment`, `order`, `topic_chargebacks_wh`, `stop_delivery_op_wh`,
/// `topic_claims_integration_wh`, `mp-connect`. Other objects are answered `ignored`; a body
/// that is not a JSON object is refused with 400.
#[derive(ToSchema)]
#[allow(dead_code)] // described, never built: `classify` reads the raw JSON
/// Every field is any JSON value: one of an unexpected type makes the notification `ignored`.
pub struct NotificationIn {
    /// The notification's id: the deduplication key.
    id: Option<serde_json::Value>,
    /// `payment`, `order`, `topic_chargebacks_wh`, `stop_delivery_op_wh`,
    /// `topic_claims_integration_wh` or `mp-connect`; other types are ignored.
    #[serde(rename = "type")]
    kind: Option<serde_json::Value>,
    /// `payment.created`, `payment.updated`, `order.processed`, ...
    action: Option<serde_json::Value>,
    /// A chargeback notice's actions (`["changed_case_status"]`), in place of `action`.
    actions: Option<serde_json::Value>,
    api_version: Option<serde_json::Value>,
    /// `{"id": <resource id>}`, the id equal to the signed query `data.id`; an order's also
    /// carries `version`, a chargeback's and a fraud alert's `payment_id` (a fraud alert has no
    /// `id`).
    data: Option<serde_json::Value>,
    /// The seller's MercadoPago user id: picks the tenant.
    user_id: Option<serde_json::Value>,
    live_mode: Option<serde_json::Value>,
    date_created: Option<serde_json::Value>,
}

/// A Stripe event (SPEC §19) as a Connect endpoint receives it. Taken types:
/// `payment_intent.succeeded | processing | payment_failed | canceled | requires_action |
/// amount_capturable_updated`, `charge.refunded`, `charge.dispute.created | updated | closed`,
/// `checkout.session.completed | async_payment_succeeded | async_payment_failed`; others are
/// answered `ignored`. `data.object` is read for ids only: processing fetches the current state.
#[derive(ToSchema)]
#[allow(dead_code)] // described, never built: `provider::stripe::event` reads the raw JSON
pub struct StripeEventIn {
    /// `evt_…`: with the tenant, the deduplication key.
    id: String,
    #[serde(rename = "type")]
    kind: String,
    /// The connected account (`acct_…`): picks the tenant.
    account: Option<String>,
    /// Must equal `COBRO_STRIPE_LIVEMODE`, else the event is ignored.
    livemode: Option<bool>,
    /// `{"object": {…}}`: a PaymentIntent, a charge, a dispute or a Checkout Session.
    data: serde_json::Value,
    created: Option<i64>,
}

/// What ingest decided: `accepted` (stored, `event_id`), `duplicate` (already stored,
/// `event_id`) or `ignored` (not stored, `reason`).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
