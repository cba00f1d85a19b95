//! One processing attempt of a webhook event (issue 13): when it started, how long it took, how it
//! ended, what MercadoPago and GoHighLevel answered, and the error a person reads. Written in the
//! same transaction as the attempt's result; deleted with its event.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "event_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: Uuid,
    pub tenant_id: Uuid,
    /// 1 for the first attempt; the event's `attempts` when this one ended.
    pub attempt: i32,
    /// The cluster node that made it (`None` on a single SQLite node).
    pub node: Option<String>,
    pub started_at: DateTimeUtc,
    pub duration_ms: i64,
    /// `success`, `retry` (failed, another attempt is scheduled) or `failed` (no attempt left).
    pub outcome: String,
    /// MercadoPago's HTTP status for the payment fetch, when it answered.
    pub mp_status: Option<i32>,
    /// GoHighLevel's HTTP status, when it was called and answered.
    pub ghl_status: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub details: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
