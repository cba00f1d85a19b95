//! Tenants' provider accounts (`tenant_accounts`, SPEC §19) as stored, secrets still sealed:
//! a tenant read with its accounts, the tenant an account belongs to, one account's row. Accounts
//! are created and changed with their tenant by `store::tenants` (one transaction) and by
//! `store::connections` (OAuth); `store::directory` opens the secrets for the processing core.

use std::collections::HashMap;

use entity::tenant;
use entity::tenant_account::{self, Column, Entity as Account, Model};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::domain::{Provider, TenantId};

/// A tenant row with its account rows, as stored.
#[derive(Debug, Clone)]
pub struct StoredTenant {
    pub tenant: tenant::Model,
    pub accounts: Vec<Model>,
}

impl StoredTenant {
    /// The tenant's account at `provider`, if it has one.
    pub fn account(&self, provider: Provider) -> Option<&Model> {
        self.accounts.iter().find(|a| a.provider == provider.key())
    }

    pub fn id(&self) -> TenantId {
        TenantId(self.tenant.id)
    }
}

/// A tenant with its accounts.
pub async fn get(db: &impl ConnectionTrait, id: TenantId) -> Result<Option<StoredTenant>, DbErr> {
    let Some(tenant) = tenant::Entity::find_by_id(id.0).one(db).await? else {
        return Ok(None);
    };
    let accounts = Account::find()
        .filter(Column::TenantId.eq(id.0))
        .order_by_asc(Column::Provider)
        .all(db)
        .await?;
    Ok(Some(StoredTenant { tenant, accounts }))
}

/// Every tenant with its accounts, by tenant id: two queries whatever the number of tenants.
pub async fn list(db: &DatabaseConnection) -> Result<Vec<StoredTenant>, DbErr> {
    let tenants = tenant::Entity::find()
        .order_by_asc(tenant::Column::Id)
        .all(db)
        .await?;
    let mut by_tenant: HashMap<Uuid, Vec<Model>> = HashMap::new();
    let accounts = Account::find()
        .order_by_asc(Column::Provider)
        .all(db)
        .await?;
    for account in accounts {
        by_tenant
            .entry(account.tenant_id)
            .or_default()
            .push(account);
    }
    Ok(tenants
        .into_iter()
        .map(|tenant| StoredTenant {
            accounts: by_tenant.remove(&tenant.id).unwrap_or_default(),
            tenant,
        })
        .collect())
}

/// The tenant whose account at `provider` is `account_id` (a webhook's seller), if any.
pub async fn holder(
    db: &impl ConnectionTrait,
    provider: Provider,
    account_id: &str,
) -> Result<Option<TenantId>, DbErr> {
    let found: Option<Uuid> = Account::find()
        .select_only()
        .column(Column::TenantId)
        .filter(Column::Provider.eq(provider.key()))
        .filter(Column::AccountId.eq(account_id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(found.map(TenantId))
}

/// The row of a tenant's account at `provider`.
pub async fn row(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    provider: Provider,
) -> Result<Option<Model>, DbErr> {
    Account::find()
        .filter(Column::TenantId.eq(tenant.0))
        .filter(Column::Provider.eq(provider.key()))
        .one(db)
        .await
}

/// The condition "the account at `provider` of `tenant`", for updates.
pub fn of(tenant: TenantId, provider: Provider) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(Column::TenantId.eq(tenant.0))
        .add(Column::Provider.eq(provider.key()))
}

/// Whether a stored provider key names a provider this build knows; an account of another
/// (a newer version's) is left out of the processing core rather than misread.
pub fn known(account: &Model) -> Option<Provider> {
    let provider = Provider::from_key(&account.provider);
    if provider.is_none() {
        tracing::warn!(tenant = %account.tenant_id, provider = %account.provider,
            "tenant account of an unknown provider ignored");
    }
    provider
}

pub use tenant_account::ActiveModel as AccountRow;
