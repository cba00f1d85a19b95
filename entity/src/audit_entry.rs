//! One change a person made (or Cobro itself, `system`), SPEC §20: appended in the same
//! transaction as the change by `store::audit`, read by the admin API, deleted only by retention.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub at: DateTimeUtc,
    /// `super_admin`, `tenant:<id>`, `cli` or `system`.
    pub actor: String,
    /// `tenant.create`, `event.retry`, … (docs/API.md lists them).
    pub action: String,
    pub tenant_id: Option<Uuid>,
    /// What the action was on, beyond the tenant: an event's or an order's id.
    pub target: Option<String>,
    /// The names of the fields changed (a JSON array of strings), never their values.
    pub changes: Option<Json>,
    pub remote_addr: Option<String>,
    /// `x-request-id`, as answered to the request that made the change.
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
