//! A tenant's patch (`PATCH /api/tenants/{tid}`): its own fields, its MercadoPago account's
//! (`mp_*`), and the Stripe account it links or unlinks, in one transaction with its audit rows.
//! The rules shared with creation (non-empty names, GoHighLevel settings, duplicates) are the
//! parent's.

use chrono::{DateTime, Utc};
use entity::tenant::ActiveModel;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr};

use super::{
    TenantError, TenantPatch, new_admin_token, require_non_empty, unique_or, unlinked_account,
    validate_ghl,
};
use crate::domain::{MpConnection, Provider, TenantId};
use crate::secrets::SecretBox;
use crate::store::accounts::{self, AccountRow, StoredTenant};
use crate::store::audit::{self, By, Entry};

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
    let txn = crate::store::db::begin_write(db).await?;
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
