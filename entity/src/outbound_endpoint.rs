//! Where the platform's backend listens for Cobro's signed events (SPEC §21): a tenant's endpoint,
//! or a platform-wide one (`tenant_id` null: every tenant's events). Written by the admin API,
//! read by the outbox (which endpoints a change goes to) and the relay (where and how to sign).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbound_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// The event types wanted, as a JSON array's text; `None`: all.
    #[sea_orm(column_type = "Text", nullable)]
    pub events: Option<String>,
    /// `whsec_…`, sealed at rest (SPEC §16).
    #[sea_orm(column_type = "Text")]
    pub secret: String,
    /// The secret before the last rotation, sealed; it signs too until `previous_secret_until`.
    #[sea_orm(column_type = "Text", nullable)]
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTimeUtc>,
    pub disabled: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub disabled_reason: Option<String>,
    /// The first failed attempt since the last success: five days of it disable the endpoint.
    pub failing_since: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
