//! The tenant as the API answers it (SPEC §4, §19): no secret, no token, no token hash. The
//! `mp_*` fields repeat the tenant's MercadoPago account, as they did before tenants had
//! accounts; `accounts` lists every provider's. `api::tenants` answers these.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{MpConnection, Provider};
use crate::store::accounts::StoredTenant;

/// A tenant as the API shows it: no secret, no token, no token hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantOut {
    pub id: Uuid,
    pub name: String,
    /// `null` until OAuth or a `PATCH` links the seller's MercadoPago account.
    pub mp_user_id: Option<String>,
    pub has_webhook_secret: bool,
    pub allow_unsigned: bool,
    pub ghl: Option<GhlOut>,
    /// How the MercadoPago token came: `manual` (typed in), `connected` (OAuth, refreshed by
    /// Cobro), `disconnected` (not connected yet, or revoked), `refresh_failed`.
    #[schema(pattern = "^(manual|connected|disconnected|refresh_failed)$")]
    pub mp_connection: String,
    /// When the OAuth access token expires (`null` for a manual token).
    pub mp_token_expires_at: Option<DateTime<Utc>>,
    /// Why the connection does not work, in words a person can act on.
    pub mp_last_error: Option<String>,
    /// The tenant's provider accounts (SPEC §19); the `mp_*` fields repeat its MercadoPago one.
    pub accounts: Vec<AccountOut>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Only in the answer to a `PATCH` that rotated it: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GhlOut {
    pub location_id: String,
    pub tag: String,
}

/// A tenant's account at one payment provider (SPEC §19), without its secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOut {
    /// `mercadopago` or `stripe`.
    pub provider: String,
    /// The seller's id at the provider; `null` until linked.
    pub account_id: Option<String>,
    #[schema(pattern = "^(manual|connected|disconnected|refresh_failed)$")]
    pub connection: String,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub has_webhook_secret: bool,
}

impl From<&entity::tenant_account::Model> for AccountOut {
    fn from(a: &entity::tenant_account::Model) -> Self {
        Self {
            provider: a.provider.clone(),
            account_id: a.account_id.clone(),
            connection: a.connection.clone(),
            token_expires_at: a.token_expires_at,
            last_error: a.last_error.clone(),
            has_webhook_secret: a.webhook_secret.is_some(),
        }
    }
}

impl From<StoredTenant> for TenantOut {
    fn from(stored: StoredTenant) -> Self {
        let accounts: Vec<AccountOut> = stored.accounts.iter().map(AccountOut::from).collect();
        // The `mp_*` fields are the MercadoPago account's, as before accounts existed.
        let mp = stored.account(Provider::MercadoPago).cloned();
        let mp = mp.as_ref();
        let t = stored.tenant;
        let ghl = match (t.ghl_location_id, t.ghl_tag) {
            (Some(location_id), Some(tag)) if t.ghl_api_key.is_some() => {
                Some(GhlOut { location_id, tag })
            }
            _ => None,
        };
        Self {
            id: t.id,
            name: t.name,
            mp_user_id: mp.and_then(|a| a.account_id.clone()),
            has_webhook_secret: mp.is_some_and(|a| a.webhook_secret.is_some()),
            mp_connection: mp.map_or_else(
                || MpConnection::Disconnected.as_str().to_owned(),
                |a| a.connection.clone(),
            ),
            mp_token_expires_at: mp.and_then(|a| a.token_expires_at),
            mp_last_error: mp.and_then(|a| a.last_error.clone()),
            allow_unsigned: t.allow_unsigned,
            ghl,
            accounts,
            created_at: t.created_at,
            updated_at: t.updated_at,
            admin_token: None,
        }
    }
}

/// The answer to a creation: the admin token is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantCreatedOut {
    pub id: Uuid,
    pub name: String,
    pub mp_user_id: Option<String>,
    pub admin_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantListOut {
    pub items: Vec<TenantOut>,
    /// Always `null`: every tenant is in one answer.
    pub next_cursor: Option<Uuid>,
}
