//! One request to a webhook path, whatever its answer (SPEC §18): the delivery log that answers
//! "MercadoPago says it sent it: did it arrive?". Appended by ingest (an acknowledged webhook's
//! row in the same commit as its event), read by the admin API, pruned by retention.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub received_at: DateTimeUtc,
    /// `mercadopago` (the provider whose path was called).
    pub provider: String,
    /// The tenant, when the request was authenticated as one of its deliveries.
    pub tenant_id: Option<Uuid>,
    /// `accepted | duplicate | ignored | refused | rate_limited | too_large | bad_request | error`
    pub outcome: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    pub http_status: i32,
    /// The body's `type` (the API calls it `type`).
    pub webhook_type: Option<String>,
    pub action: Option<String>,
    pub resource_id: Option<String>,
    /// `x-request-id`.
    pub request_id: Option<String>,
    pub remote_addr: Option<String>,
    pub body_bytes: i64,
    pub ack_ms: i64,
    /// The event stored for it (accepted, or the one it duplicates).
    pub event_id: Option<Uuid>,
    /// The body, only for accepted, duplicate and ignored deliveries of a known tenant.
    pub body: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
