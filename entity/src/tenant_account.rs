//! A tenant's account at a payment provider (SPEC §19): which provider, the seller's id there,
//! the credentials Cobro calls it with (sealed under `COBRO_SECRET_KEY`) and how they came. One
//! per tenant and provider; one tenant per provider account.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// `mercadopago`.
    pub provider: String,
    /// The seller's id at the provider (MP `user_id`, a payment's `collector_id`), as text;
    /// `None` until OAuth or a `PATCH` links one, and until then no webhook reaches the tenant.
    pub account_id: Option<String>,
    /// `''` when there is no token yet (created to be connected through OAuth).
    pub access_token: String,
    /// OAuth's refresh token, rotated at each refresh.
    pub refresh_token: Option<String>,
    pub webhook_secret: Option<String>,
    /// How the token came: `manual`, `connected` (OAuth), `disconnected` (never connected, or the
    /// seller revoked the application), `refresh_failed`.
    pub connection: String,
    pub token_expires_at: Option<DateTimeUtc>,
    /// Why the connection is not working, in words a person can act on.
    pub last_error: Option<String>,
    /// When the seller last connected through OAuth (SPEC §17: older revocations are stale).
    pub connected_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
