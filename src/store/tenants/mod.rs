//! Tenants: creation (with its one-time admin token and its MercadoPago account), lookup by token
//! hash, updates and deletion. The admin API and the `cobro tenant` command both come through
//! here, so the rules (a secret must apply, a seller account has one tenant, tokens are stored
//! hashed, tenant secrets are sealed under `COBRO_SECRET_KEY`) live once. The `mp_*` fields of
//! the API are the tenant's MercadoPago account (SPEC §19), a row of `tenant_accounts`. A patch,
//! its validation and the Stripe account it may link are [`update`]'s.

use chrono::{DateTime, Utc};
use entity::tenant::{self, ActiveModel, Entity as Tenant, Model};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter,
};
use sha2::{Digest, Sha256};

mod update;
pub use update::update;

use super::accounts::{AccountRow, StoredTenant};
use super::audit::{self, By, Entry};
use crate::domain::{MpConnection, Provider, TenantId};
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
    /// The seller's connected Stripe account (`acct_…`, SPEC §19); `Some(None)` unlinks it.
    pub stripe_account_id: Option<Option<String>>,
}

impl NewTenant {
    /// The fields given, for the audit trail (names only: never a secret's value).
    fn fields_given(&self) -> Vec<&'static str> {
        let given = [
            ("name", true),
            ("mp_user_id", self.mp_user_id.is_some()),
            ("mp_access_token", self.mp_access_token.is_some()),
            ("mp_webhook_secret", self.mp_webhook_secret.is_some()),
            ("allow_unsigned", self.allow_unsigned),
            ("ghl", self.ghl.is_some()),
        ];
        given
            .into_iter()
            .filter(|(_, g)| *g)
            .map(|(n, _)| n)
            .collect()
    }
}

impl TenantPatch {
    /// The fields this patch changes, for the audit trail (the admin token's rotation is an
    /// action of its own, `tenant.token_rotated`).
    fn fields_changed(&self) -> Vec<&'static str> {
        let changed = [
            ("name", self.name.is_some()),
            ("mp_user_id", self.mp_user_id.is_some()),
            ("mp_access_token", self.mp_access_token.is_some()),
            ("mp_webhook_secret", self.mp_webhook_secret.is_some()),
            ("allow_unsigned", self.allow_unsigned.is_some()),
            ("ghl", self.ghl.is_some()),
            ("stripe_account_id", self.stripe_account_id.is_some()),
        ];
        changed
            .into_iter()
            .filter(|(_, c)| *c)
            .map(|(n, _)| n)
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("{0}")]
    Invalid(String),
    #[error("a tenant with mp_user_id {0} already exists")]
    Duplicate(String),
    #[error("a tenant with stripe_account_id {0} already exists")]
    DuplicateStripe(String),
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

/// Creates a tenant with its MercadoPago account, in one transaction with its audit row, and
/// answers it with its admin token, shown this once.
pub async fn create(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    new: NewTenant,
    global_secret: bool,
    by: &By,
) -> Result<(StoredTenant, String), TenantError> {
    if let Some(account) = &new.mp_user_id {
        require_non_empty("mp_user_id", account)?;
    }
    require_non_empty("name", &new.name)?;
    if let Some(token) = &new.mp_access_token {
        require_non_empty("mp_access_token", token)?;
    }
    let connection = match new.mp_access_token {
        Some(_) => MpConnection::Manual,
        None => MpConnection::Disconnected,
    };
    let fields = new.fields_given();
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
    let id = crate::store::new_id();
    let audited = Entry::on_tenant("tenant.create", TenantId(id), fields);
    let ghl = new.ghl;
    let tenant = ActiveModel {
        id: Set(id),
        name: Set(new.name),
        allow_unsigned: Set(new.allow_unsigned),
        ghl_api_key: Set(ghl.as_ref().map(|g| secrets.seal(&g.api_key))),
        ghl_location_id: Set(ghl.as_ref().map(|g| g.location_id.clone())),
        ghl_tag: Set(ghl.map(|g| g.tag)),
        admin_token_hash: Set(hash),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mut account = unlinked_account(TenantId(id), secrets, now);
    account.account_id = Set(new.mp_user_id.clone());
    if let Some(token) = &new.mp_access_token {
        account.access_token = Set(secrets.seal(token));
    }
    account.webhook_secret = Set(own_secret.map(|s| secrets.seal(&s)));
    account.connection = Set(connection.as_str().to_owned());
    let duplicate = || TenantError::Duplicate(new.mp_user_id.clone().unwrap_or_default());
    let txn = crate::store::db::begin_write(db).await?;
    let tenant = tenant.insert(&txn).await?;
    let account = account
        .insert(&txn)
        .await
        .map_err(|e| unique_or(e, duplicate))?;
    audit::append(&txn, by, audited).await?;
    txn.commit().await?;
    let stored = StoredTenant {
        tenant,
        accounts: vec![account],
    };
    Ok((stored, token))
}

/// A MercadoPago account not linked nor connected yet (no token: `''`), for a tenant that has
/// none; creation fills in what it was given.
fn unlinked_account(tenant: TenantId, secrets: &SecretBox, now: DateTime<Utc>) -> AccountRow {
    AccountRow {
        id: Set(crate::store::new_id()),
        tenant_id: Set(tenant.0),
        provider: Set(Provider::MercadoPago.key().to_owned()),
        account_id: Set(None),
        access_token: Set(secrets.seal("")),
        refresh_token: Set(None),
        webhook_secret: Set(None),
        connection: Set(MpConnection::Disconnected.as_str().to_owned()),
        token_expires_at: Set(None),
        last_error: Set(None),
        connected_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// A unique-index violation as `duplicate()`, any other error as itself.
fn unique_or(e: DbErr, duplicate: impl FnOnce() -> TenantError) -> TenantError {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => duplicate(),
        _ => TenantError::Db(e),
    }
}

pub async fn get(db: &DatabaseConnection, id: TenantId) -> Result<Option<Model>, DbErr> {
    Tenant::find_by_id(id.0).one(db).await
}

/// How many tenants there are.
pub async fn count(db: &DatabaseConnection) -> Result<u64, DbErr> {
    Tenant::find().count(db).await
}

/// Deletes the tenant (its events, payments and orders go with it, by cascade) with its audit
/// row, in one transaction; `false` if there was no such tenant (and nothing is recorded).
pub async fn delete(db: &DatabaseConnection, id: TenantId, by: &By) -> Result<bool, DbErr> {
    let txn = crate::store::db::begin_write(db).await?;
    if Tenant::delete_by_id(id.0).exec(&txn).await?.rows_affected == 0 {
        return Ok(false);
    }
    audit::append(&txn, by, Entry::on_tenant("tenant.delete", id, Vec::new())).await?;
    txn.commit().await?;
    Ok(true)
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
