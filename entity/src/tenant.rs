//! A seller: its MercadoPago identity and credentials, optional GoHighLevel settings and the
//! hash of its admin token. Secrets live here and must never be serialised to clients; the API
//! answers with its own view type, which is why this model derives no `Serialize`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// The webhook `user_id` and the payments' `collector_id`, normalised to a string.
    #[sea_orm(unique)]
    pub mp_user_id: String,
    /// `''` when the tenant has no token yet (created to be connected through OAuth).
    pub mp_access_token: String,
    pub mp_webhook_secret: Option<String>,
    /// Accept notifications without a signature when no secret applies (MP does not sign QR).
    pub allow_unsigned: bool,
    pub ghl_api_key: Option<String>,
    pub ghl_location_id: Option<String>,
    pub ghl_tag: Option<String>,
    /// SHA-256 (hex) of the admin token; the token itself is shown once and never stored.
    #[sea_orm(unique)]
    pub admin_token_hash: String,
    /// How the MercadoPago token came: `manual`, `connected` (OAuth), `disconnected` (never
    /// connected, or the seller revoked the application), `refresh_failed`.
    pub mp_connection: String,
    /// OAuth's refresh token, rotated at each refresh (sealed like the access token).
    pub mp_refresh_token: Option<String>,
    pub mp_token_expires_at: Option<DateTimeUtc>,
    /// Why the connection is not working, in words a person can act on.
    pub mp_last_error: Option<String>,
    /// When the seller last connected through OAuth (SPEC §17: older revocations are stale).
    pub mp_connected_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
