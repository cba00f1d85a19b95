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
