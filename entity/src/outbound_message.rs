//! The outbox (SPEC §21): one row per (change, endpoint), inserted in the same transaction as the
//! change it reports. `seq` orders one tenant's messages as their changes committed; the relay
//! sends each (endpoint, tenant) pair's messages in `seq` order, one at a time.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbound_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// The change's id: `webhook-id` is `msg_<message_id>`, the same on every endpoint and retry.
    pub message_id: Uuid,
    pub endpoint_id: Uuid,
    /// `None`: a notice about the platform itself (`endpoint.disabled`, a platform test message).
    pub tenant_id: Option<Uuid>,
    pub event_type: String,
    /// The exact body sent (and signed).
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    /// `None`: one retry schedule's worth; a manual retry adds a whole schedule to `attempts`.
    pub max_attempts: Option<i32>,
    pub next_attempt_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
