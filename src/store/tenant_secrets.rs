//! The tenant secret columns as a whole (SPEC §16: `tenants.ghl_api_key`, the accounts' tokens
//! and webhook secrets, and the signing secrets of outbound endpoints, SPEC §21): the start-up check that the key opens every
//! sealed value, sealing the plain ones once a key is set, and re-sealing everything under a new
//! key. Each runs in one transaction, so a failure changes nothing. Called by `app::start` and
//! `cobro secrets rotate`; the per-tenant sealing on write is in `store::tenants`.

use entity::{outbound_endpoint, tenant, tenant_account};
use sea_orm::ActiveValue::{Set, Unchanged};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QuerySelect,
    TransactionTrait,
};
use uuid::Uuid;

use crate::secrets::{SecretBox, SecretError, is_sealed};

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

/// Where secret values are stored.
#[derive(Clone, Copy)]
enum Row {
    /// `tenants.ghl_api_key`.
    Tenant(Uuid),
    /// `tenant_accounts.access_token`, `refresh_token`, `webhook_secret`, in that order.
    Account(Uuid),
    /// `outbound_endpoints.secret`, `previous_secret`.
    Endpoint(Uuid),
}

/// One row's secret values as stored.
struct Stored {
    row: Row,
    values: Vec<Option<String>>,
}

impl Stored {
    fn values(&self) -> impl Iterator<Item = &str> {
        self.values.iter().flatten().map(String::as_str)
    }

    /// Every value opened with `from` and sealed with `to`; `only_plain` leaves sealed ones be.
    fn resealed(
        &self,
        from: &SecretBox,
        to: &SecretBox,
        only_plain: bool,
    ) -> Result<Vec<Option<String>>, SecretError> {
        let reseal = |stored: &str| -> Result<String, SecretError> {
            if only_plain && is_sealed(stored) {
                return Ok(stored.to_owned());
            }
            Ok(to.seal(&from.open(stored)?))
        };
        self.values
            .iter()
            .map(|value| value.as_deref().map(reseal).transpose())
            .collect()
    }

    /// Writes `values` (in [`Row`]'s order) back to the row.
    async fn save(
        &self,
        db: &impl ConnectionTrait,
        values: Vec<Option<String>>,
    ) -> Result<(), DbErr> {
        let mut values = values.into_iter();
        let mut next = || values.next().flatten();
        match self.row {
            Row::Tenant(id) => {
                let row = tenant::ActiveModel {
                    id: Unchanged(id),
                    ghl_api_key: Set(next()),
                    ..Default::default()
                };
                row.update(db).await?;
            }
            Row::Account(id) => {
                let row = tenant_account::ActiveModel {
                    id: Unchanged(id),
                    access_token: Set(next().unwrap_or_default()),
                    refresh_token: Set(next()),
                    webhook_secret: Set(next()),
                    ..Default::default()
                };
                row.update(db).await?;
            }
            Row::Endpoint(id) => {
                let row = outbound_endpoint::ActiveModel {
                    id: Unchanged(id),
                    secret: Set(next().unwrap_or_default()),
                    previous_secret: Set(next()),
                    ..Default::default()
                };
                row.update(db).await?;
            }
        }
        Ok(())
    }
}

/// Every stored secret value: the tenants' GoHighLevel keys, the accounts' credentials and the
/// endpoints' signing secrets.
async fn stored(db: &impl ConnectionTrait) -> Result<Vec<Stored>, DbErr> {
    let tenants: Vec<(Uuid, Option<String>)> = tenant::Entity::find()
        .select_only()
        .columns([tenant::Column::Id, tenant::Column::GhlApiKey])
        .into_tuple()
        .all(db)
        .await?;
    type AccountSecrets = (Uuid, String, Option<String>, Option<String>);
    let accounts: Vec<AccountSecrets> = tenant_account::Entity::find()
        .select_only()
        .columns([
            tenant_account::Column::Id,
            tenant_account::Column::AccessToken,
            tenant_account::Column::RefreshToken,
            tenant_account::Column::WebhookSecret,
        ])
        .into_tuple()
        .all(db)
        .await?;
    let tenants = tenants.into_iter().map(|(id, ghl)| Stored {
        row: Row::Tenant(id),
        values: vec![ghl],
    });
    let accounts = accounts
        .into_iter()
        .map(|(id, access, refresh, webhook)| Stored {
            row: Row::Account(id),
            values: vec![Some(access), refresh, webhook],
        });
    let endpoints: Vec<(Uuid, String, Option<String>)> = outbound_endpoint::Entity::find()
        .select_only()
        .columns([
            outbound_endpoint::Column::Id,
            outbound_endpoint::Column::Secret,
            outbound_endpoint::Column::PreviousSecret,
        ])
        .into_tuple()
        .all(db)
        .await?;
    let endpoints = endpoints.into_iter().map(|(id, secret, previous)| Stored {
        row: Row::Endpoint(id),
        values: vec![Some(secret), previous],
    });
    Ok(tenants.chain(accounts).chain(endpoints).collect())
}

/// What start-up found and did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Prepared {
    /// Plain values sealed now (0 without a key).
    pub sealed_now: usize,
    /// Plain values left plain because no key is set.
    pub plain: usize,
}

/// At start: every sealed value must open with the key (a wrong or missing key stops start-up);
/// with a key, plain values are sealed, all in one transaction.
pub async fn prepare(
    db: &DatabaseConnection,
    secrets: &SecretBox,
) -> Result<Prepared, SecretsError> {
    let txn = db.begin().await?;
    let rows = stored(&txn).await?;
    let mut prepared = Prepared::default();
    for row in &rows {
        for value in row.values() {
            secrets.open(value)?;
            if !is_sealed(value) {
                match secrets.has_key() {
                    true => prepared.sealed_now += 1,
                    false => prepared.plain += 1,
                }
            }
        }
        if secrets.has_key() && row.values().any(|v| !is_sealed(v)) {
            row.save(&txn, row.resealed(secrets, secrets, true)?)
                .await?;
        }
    }
    txn.commit().await?;
    Ok(prepared)
}

/// `cobro secrets rotate`: every value opened with `old` (plain ones as they are) and sealed
/// with `new`, in one transaction. Answers how many values were sealed. Authorizations in flight
/// (`oauth_states`, ten minutes at most) are dropped rather than resealed: their sellers start
/// the connection again. Recorded in the audit trail (`secrets.rotated`, made `by`) in the same
/// transaction.
pub async fn rotate(
    db: &DatabaseConnection,
    old: &SecretBox,
    new: &SecretBox,
    by: &super::audit::By,
) -> Result<usize, SecretsError> {
    let txn = db.begin().await?;
    let rows = stored(&txn).await?;
    let mut count = 0;
    for row in &rows {
        count += row.values().count();
        row.save(&txn, row.resealed(old, new, false)?).await?;
    }
    entity::oauth_state::Entity::delete_many()
        .exec(&txn)
        .await?;
    let entry = super::audit::Entry {
        action: "secrets.rotated",
        tenant_id: None,
        target: Some(format!("{count} sealed values")),
        changes: vec!["secret_key"],
    };
    super::audit::append(&txn, by, entry).await?;
    txn.commit().await?;
    Ok(count)
}
