//! One attempt to deliver an outbound message (SPEC §21): when, how long, how it ended, the HTTP
//! status and the first 4 KiB of the answer. Written by the relay; deleted with its message.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbound_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub message_seq: i64,
    pub endpoint_id: Uuid,
    pub attempted_at: DateTimeUtc,
    pub duration_ms: i64,
    /// `delivered`, `retry`, `failed` (no attempt left) or `disabled` (410, or five days failing).
    pub outcome: String,
    pub http_status: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub response: Option<String>,
    pub node: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
