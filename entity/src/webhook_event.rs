//! One accepted MercadoPago notification and the state of its processing. Written by ingest
//! (once, deduplicated by `(tenant_id, notification_id)`), then only by the tenant's actor and
//! the retry endpoints.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The deduplication key: body `id`, else `req:<x-request-id>`, else `sha256:<body hash>`.
    pub notification_id: String,
    pub request_id: Option<String>,
    pub webhook_type: String,
    pub action: String,
    pub mp_payment_id: String,
    pub payment_id: Option<Uuid>,
    pub raw_payload: Json,
    /// `pending | processing | success | failed`
    pub status: String,
    pub processed: bool,
    pub attempts: i32,
    pub max_attempts: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub error_details: Option<Json>,
    pub created_at: DateTimeUtc,
    pub processed_at: Option<DateTimeUtc>,
    pub next_retry_at: Option<DateTimeUtc>,
    pub processing_ms: Option<i64>,
    /// What the notification is about (SPEC §17): `payment | order | chargeback | fraud_alert |
    /// claim | connection`.
    pub resource_type: String,
    /// The provider's id of that resource, as text (`ORD01…`, a chargeback case id, ...).
    pub resource_id: Option<String>,
    /// An order notification's `data.version`: a notification not above the last one processed
    /// for its order is stale.
    pub resource_version: Option<i64>,
    /// The request that brought it (SPEC §18: an accepted event is its delivery's row): the
    /// peer's address, the body's size, and the milliseconds from the request's start to the
    /// cycle that stored it.
    pub remote_addr: Option<String>,
    pub body_bytes: Option<i64>,
    pub ack_ms: Option<i64>,
    /// The provider it came from (`mercadopago`); processing calls that provider's account.
    pub provider: String,
    /// The W3C `traceparent` of the span that ingested it (SPEC §20): its attempts continue that
    /// trace. `None` when trace export was off.
    pub trace_context: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
