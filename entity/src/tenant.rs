//! A seller: its name, optional GoHighLevel settings and the hash of its admin token. The
//! payment-provider accounts it takes payments with are rows of `tenant_accounts`
//! ([`super::tenant_account`]). Secrets live here and must never be serialised to clients; the API
//! answers with its own view type, which is why this model derives no `Serialize`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Accept notifications without a signature when no secret applies (MP does not sign QR).
    pub allow_unsigned: bool,
    pub ghl_api_key: Option<String>,
    pub ghl_location_id: Option<String>,
    pub ghl_tag: Option<String>,
    /// SHA-256 (hex) of the admin token; the token itself is shown once and never stored.
    #[sea_orm(unique)]
    pub admin_token_hash: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
