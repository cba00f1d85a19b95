//! Tenants: creation (with its one-time admin token), lookups by MP `user_id` and by token hash,
//! updates and deletion. The admin API and the `cobro tenant` command both come through here, so
//! the rules (a secret must apply, `mp_user_id` is unique, tokens are stored hashed, tenant
//! secrets are sealed under `COBRO_SECRET_KEY`) live once.

use chrono::Utc;
use entity::tenant::{self, ActiveModel, Column, Entity as Tenant, Model};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::{MpConnection, TenantId};
use crate::secrets::SecretBox;

#[derive(Debug, Clone)]
pub struct GhlInput {
    pub api_key: String,
    pub location_id: String,
    pub tag: String,
}

#[derive(Debug, Clone)]
pub struct NewTenant {
    pub name: String,
    /// The seller's MercadoPago user id, already read to its digits; `None`: OAuth (or a
    /// `PATCH`) sets it later, and until then no webhook reaches the tenant.
    pub mp_user_id: Option<String>,
    /// `None`: the seller connects later through OAuth (SPEC §14); the tenant starts
    /// `disconnected`.
    pub mp_access_token: Option<String>,
    pub mp_webhook_secret: Option<String>,
    pub allow_unsigned: bool,
    pub ghl: Option<GhlInput>,
}

/// A change: `None` leaves a field as it is; `Some(None)` clears an optional one.
#[derive(Debug, Default)]
pub struct TenantPatch {
    pub name: Option<String>,
    /// The seller's MercadoPago user id (digits): links a tenant created by name alone.
    pub mp_user_id: Option<String>,
    pub mp_access_token: Option<String>,
    pub mp_webhook_secret: Option<Option<String>>,
    pub allow_unsigned: Option<bool>,
    pub ghl: Option<Option<GhlInput>>,
    pub rotate_admin_token: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("{0}")]
    Invalid(String),
    #[error("a tenant with mp_user_id {0} already exists")]
    Duplicate(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A new random admin token and the hash that is stored.
pub fn new_admin_token() -> (String, String) {
    let token = format!("cbt_{}", hex::encode(rand::random::<[u8; 32]>()));
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a tenant and answers it with its admin token, shown this once.
pub async fn create(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    new: NewTenant,
    global_secret: bool,
) -> Result<(Model, String), TenantError> {
    let id = crate::store::new_id();
    // Without an account no webhook reaches the tenant, whatever token it holds, until OAuth or
    // a `PATCH` links one.
    let mp_user_id = new.mp_user_id.unwrap_or_else(|| unlinked(id));
    require_non_empty("mp_user_id", &mp_user_id)?;
    require_non_empty("name", &new.name)?;
    if let Some(token) = &new.mp_access_token {
        require_non_empty("mp_access_token", token)?;
    }
    let connection = match new.mp_access_token {
        Some(_) => MpConnection::Manual,
        None => MpConnection::Disconnected,
    };
    let own_secret = new.mp_webhook_secret.filter(|s| !s.is_empty());
    if own_secret.is_none() && !global_secret && !new.allow_unsigned {
        return Err(TenantError::Invalid(
            "no webhook secret applies to this tenant: give mp_webhook_secret, set \
             COBRO_MP_WEBHOOK_SECRET, or say \"allow_unsigned\": true"
                .into(),
        ));
    }
    if let Some(ghl) = &new.ghl {
        validate_ghl(ghl)?;
    }
    let (token, hash) = new_admin_token();
    let now = Utc::now();
    let ghl = new.ghl;
    let model = ActiveModel {
        id: Set(id),
        name: Set(new.name),
        mp_user_id: Set(mp_user_id.clone()),
        // `''`: no token yet (the column is NOT NULL; see the OAuth migration).
        mp_access_token: Set(secrets.seal(new.mp_access_token.as_deref().unwrap_or_default())),
        mp_webhook_secret: Set(own_secret.map(|s| secrets.seal(&s))),
        allow_unsigned: Set(new.allow_unsigned),
        ghl_api_key: Set(ghl.as_ref().map(|g| secrets.seal(&g.api_key))),
        ghl_location_id: Set(ghl.as_ref().map(|g| g.location_id.clone())),
        ghl_tag: Set(ghl.map(|g| g.tag)),
        admin_token_hash: Set(hash),
        mp_connection: Set(connection.as_str().to_owned()),
        mp_refresh_token: Set(None),
        mp_token_expires_at: Set(None),
        mp_last_error: Set(None),
        mp_connected_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let model = model.insert(db).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => TenantError::Duplicate(mp_user_id),
        _ => TenantError::Db(e),
    })?;
    Ok((model, token))
}

/// Applies a patch; answers the new admin token when one was rotated.
pub async fn update(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    id: TenantId,
    patch: TenantPatch,
    global_secret: bool,
) -> Result<Option<(Model, Option<String>)>, TenantError> {
    let Some(current) = get(db, id).await? else {
        return Ok(None);
    };
    let mut model: ActiveModel = current.clone().into();
    if let Some(name) = patch.name {
        require_non_empty("name", &name)?;
        model.name = Set(name);
    }
    if let Some(mp_user_id) = &patch.mp_user_id {
        require_non_empty("mp_user_id", mp_user_id)?;
        model.mp_user_id = Set(mp_user_id.clone());
    }
    if let Some(token) = patch.mp_access_token {
        require_non_empty("mp_access_token", &token)?;
        // A token typed in replaces an OAuth connection: it is used as it is, never refreshed.
        model.mp_access_token = Set(secrets.seal(&token));
        model.mp_connection = Set(MpConnection::Manual.as_str().to_owned());
        model.mp_refresh_token = Set(None);
        model.mp_token_expires_at = Set(None);
        model.mp_last_error = Set(None);
    }
    if let Some(secret) = patch.mp_webhook_secret.clone() {
        model.mp_webhook_secret = Set(secret.filter(|s| !s.is_empty()).map(|s| secrets.seal(&s)));
    }
    if let Some(allow) = patch.allow_unsigned {
        model.allow_unsigned = Set(allow);
    }
    if let Some(ghl) = patch.ghl {
        if let Some(g) = &ghl {
            validate_ghl(g)?;
        }
        model.ghl_api_key = Set(ghl.as_ref().map(|g| secrets.seal(&g.api_key)));
        model.ghl_location_id = Set(ghl.as_ref().map(|g| g.location_id.clone()));
        model.ghl_tag = Set(ghl.map(|g| g.tag));
    }
    let secret_applies = match &patch.mp_webhook_secret {
        Some(secret) => secret.as_deref().is_some_and(|s| !s.is_empty()),
        None => current.mp_webhook_secret.is_some(),
    };
    let allow_unsigned = patch.allow_unsigned.unwrap_or(current.allow_unsigned);
    if !secret_applies && !global_secret && !allow_unsigned {
        return Err(TenantError::Invalid(
            "no webhook secret would apply to this tenant".into(),
        ));
    }
    let mut new_token = None;
    if patch.rotate_admin_token {
        let (token, hash) = new_admin_token();
        model.admin_token_hash = Set(hash);
        new_token = Some(token);
    }
    model.updated_at = Set(Utc::now());
    let updated = model.update(db).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            TenantError::Duplicate(patch.mp_user_id.clone().unwrap_or_default())
        }
        _ => TenantError::Db(e),
    })?;
    Ok(Some((updated, new_token)))
}

pub async fn get(db: &DatabaseConnection, id: TenantId) -> Result<Option<Model>, DbErr> {
    Tenant::find_by_id(id.0).one(db).await
}

pub async fn list(db: &DatabaseConnection) -> Result<Vec<Model>, DbErr> {
    Tenant::find().order_by_asc(Column::Id).all(db).await
}

pub async fn delete(db: &DatabaseConnection, id: TenantId) -> Result<bool, DbErr> {
    Ok(Tenant::delete_by_id(id.0).exec(db).await?.rows_affected > 0)
}

/// What `mp_user_id` holds for a tenant created by name alone (the column is `NOT NULL UNIQUE`,
/// and changing it would mean rebuilding `tenants` on SQLite): never digits, so no webhook's
/// `user_id` and no API input can name it.
pub fn unlinked(id: Uuid) -> String {
    format!("{UNLINKED}{id}")
}

const UNLINKED: &str = "unlinked:";

/// The seller's account id, when the tenant has one.
pub fn linked_account(mp_user_id: &str) -> Option<&str> {
    Some(mp_user_id).filter(|id| !id.starts_with(UNLINKED))
}

pub async fn find_by_mp_user(
    db: &DatabaseConnection,
    mp_user_id: &str,
) -> Result<Option<Model>, DbErr> {
    if linked_account(mp_user_id).is_none() {
        return Ok(None);
    }
    Tenant::find()
        .filter(Column::MpUserId.eq(mp_user_id))
        .one(db)
        .await
}

/// The tenant whose admin token this is, if any. The hash is a unique index, so this is one probe.
pub async fn find_by_token(db: &DatabaseConnection, token: &str) -> Result<Option<Model>, DbErr> {
    Tenant::find()
        .filter(tenant::Column::AdminTokenHash.eq(hash_token(token)))
        .one(db)
        .await
}

fn require_non_empty(field: &str, value: &str) -> Result<(), TenantError> {
    if crate::domain::is_blank(value) {
        return Err(TenantError::Invalid(format!("{field} must not be empty")));
    }
    Ok(())
}

fn validate_ghl(ghl: &GhlInput) -> Result<(), TenantError> {
    require_non_empty("ghl.api_key", &ghl.api_key)?;
    require_non_empty("ghl.location_id", &ghl.location_id)?;
    require_non_empty("ghl.tag", &ghl.tag)
}
