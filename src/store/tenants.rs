//! Tenants: creation (with its one-time admin token and its MercadoPago account), lookup by token
//! hash, updates and deletion. The admin API and the `cobro tenant` command both come through
//! here, so the rules (a secret must apply, a seller account has one tenant, tokens are stored
//! hashed, tenant secrets are sealed under `COBRO_SECRET_KEY`) live once. The `mp_*` fields of
//! the API are the tenant's MercadoPago account (SPEC §19), a row of `tenant_accounts`.

use chrono::{DateTime, Utc};
use entity::tenant::{self, ActiveModel, Entity as Tenant, Model};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, TransactionTrait,
};
use sha2::{Digest, Sha256};

use super::accounts::{self, AccountRow, StoredTenant};
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
    let txn = db
        .begin_with_options(super::db::write_transaction())
        .await?;
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

/// Applies a patch to the tenant and its MercadoPago account, in one transaction with its audit
/// rows (`tenant.update`, and `tenant.token_rotated` when the admin token was rotated); answers
/// the new admin token when one was rotated.
pub async fn update(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    id: TenantId,
    patch: TenantPatch,
    global_secret: bool,
    by: &By,
) -> Result<Option<(StoredTenant, Option<String>)>, TenantError> {
    let txn = db
        .begin_with_options(super::db::write_transaction())
        .await?;
    let Some(current) = accounts::get(&txn, id).await? else {
        return Ok(None);
    };
    let mp = current.account(Provider::MercadoPago).cloned();
    let secret_applies = match &patch.mp_webhook_secret {
        Some(secret) => secret.as_deref().is_some_and(|s| !s.is_empty()),
        None => mp.as_ref().is_some_and(|a| a.webhook_secret.is_some()),
    };
    let allow_unsigned = patch
        .allow_unsigned
        .unwrap_or(current.tenant.allow_unsigned);
    if !secret_applies && !global_secret && !allow_unsigned {
        return Err(TenantError::Invalid(
            "no webhook secret would apply to this tenant".into(),
        ));
    }
    let mut tenant: ActiveModel = current.tenant.clone().into();
    patch_tenant(&mut tenant, secrets, &patch)?;
    let mut new_token = None;
    if patch.rotate_admin_token {
        let (token, hash) = new_admin_token();
        tenant.admin_token_hash = Set(hash);
        new_token = Some(token);
    }
    let now = Utc::now();
    tenant.updated_at = Set(now);
    let tenant = tenant.update(&txn).await?;
    let mut account: AccountRow = match mp {
        Some(row) => row.into(),
        None => unlinked_account(id, secrets, now),
    };
    let changed = patch_account(&mut account, secrets, &patch)?;
    let duplicate = || TenantError::Duplicate(patch.mp_user_id.clone().unwrap_or_default());
    if changed {
        account.updated_at = Set(now);
        account
            .save(&txn)
            .await
            .map_err(|e| unique_or(e, duplicate))?;
    }
    if let Some(stripe) = &patch.stripe_account_id {
        let row = current.account(Provider::Stripe).cloned();
        link_stripe(&txn, secrets, id, row, stripe.as_deref(), now).await?;
    }
    let changes = patch.fields_changed();
    if !changes.is_empty() || !patch.rotate_admin_token {
        audit::append(&txn, by, Entry::on_tenant("tenant.update", id, changes)).await?;
    }
    if patch.rotate_admin_token {
        let rotated = Entry::on_tenant("tenant.token_rotated", id, vec!["admin_token"]);
        audit::append(&txn, by, rotated).await?;
    }
    txn.commit().await?;
    let updated = accounts::get(db, id).await?.ok_or(DbErr::RecordNotFound(
        "the tenant was deleted while it was updated".into(),
    ))?;
    Ok(Some((StoredTenant { tenant, ..updated }, new_token)))
}

/// The tenant's own fields of a patch.
fn patch_tenant(
    tenant: &mut ActiveModel,
    secrets: &SecretBox,
    patch: &TenantPatch,
) -> Result<(), TenantError> {
    if let Some(name) = &patch.name {
        require_non_empty("name", name)?;
        tenant.name = Set(name.clone());
    }
    if let Some(allow) = patch.allow_unsigned {
        tenant.allow_unsigned = Set(allow);
    }
    if let Some(ghl) = &patch.ghl {
        if let Some(g) = ghl {
            validate_ghl(g)?;
        }
        tenant.ghl_api_key = Set(ghl.as_ref().map(|g| secrets.seal(&g.api_key)));
        tenant.ghl_location_id = Set(ghl.as_ref().map(|g| g.location_id.clone()));
        tenant.ghl_tag = Set(ghl.as_ref().map(|g| g.tag.clone()));
    }
    Ok(())
}

/// The `mp_*` fields of a patch, on the MercadoPago account; answers whether any was given.
fn patch_account(
    account: &mut AccountRow,
    secrets: &SecretBox,
    patch: &TenantPatch,
) -> Result<bool, TenantError> {
    let mut changed = false;
    if let Some(mp_user_id) = &patch.mp_user_id {
        require_non_empty("mp_user_id", mp_user_id)?;
        account.account_id = Set(Some(mp_user_id.clone()));
        changed = true;
    }
    if let Some(token) = &patch.mp_access_token {
        require_non_empty("mp_access_token", token)?;
        // A token typed in replaces an OAuth connection: it is used as it is, never refreshed.
        account.access_token = Set(secrets.seal(token));
        account.connection = Set(MpConnection::Manual.as_str().to_owned());
        account.refresh_token = Set(None);
        account.token_expires_at = Set(None);
        account.last_error = Set(None);
        changed = true;
    }
    if let Some(secret) = &patch.mp_webhook_secret {
        let secret = secret.as_deref().filter(|s| !s.is_empty());
        account.webhook_secret = Set(secret.map(|s| secrets.seal(s)));
        changed = true;
    }
    Ok(changed)
}

/// Links the tenant's Stripe account (a new row, or its row's id changed) or, with `None`,
/// removes it. Stripe calls carry the platform's key, so the account holds no token (`''`) and
/// is `manual`: linked by a person.
async fn link_stripe(
    txn: &sea_orm::DatabaseTransaction,
    secrets: &SecretBox,
    tenant: TenantId,
    row: Option<entity::tenant_account::Model>,
    account_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), TenantError> {
    use sea_orm::ModelTrait;
    let Some(account_id) = account_id else {
        if let Some(row) = row {
            row.delete(txn).await?;
        }
        return Ok(());
    };
    if !is_stripe_account(account_id) {
        return Err(TenantError::Invalid(format!(
            "stripe_account_id must look like acct_ followed by letters and digits, not '{account_id}'"
        )));
    }
    let duplicate = || TenantError::DuplicateStripe(account_id.to_owned());
    let saved = match row {
        Some(row) => {
            let mut account: AccountRow = row.into();
            account.account_id = Set(Some(account_id.to_owned()));
            account.updated_at = Set(now);
            account.update(txn).await
        }
        None => {
            let account = AccountRow {
                provider: Set(Provider::Stripe.key().to_owned()),
                account_id: Set(Some(account_id.to_owned())),
                connection: Set(MpConnection::Manual.as_str().to_owned()),
                ..unlinked_account(tenant, secrets, now)
            };
            account.insert(txn).await
        }
    };
    saved.map_err(|e| unique_or(e, duplicate))?;
    Ok(())
}

/// `acct_` and letters or digits: Stripe's connected account ids.
fn is_stripe_account(id: &str) -> bool {
    id.strip_prefix("acct_")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()))
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
    let txn = db
        .begin_with_options(super::db::write_transaction())
        .await?;
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
