//! The tenant secret columns as a whole (SPEC §16): the start-up check that the key opens every
//! sealed value, sealing the plain ones once a key is set, and re-sealing everything under a new
//! key. Each runs in one transaction, so a failure changes nothing. Called by `app::start` and
//! `cobro secrets rotate`; the per-tenant sealing on write is in `store::tenants`.

use entity::tenant::{ActiveModel, Column, Entity as Tenant};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, QuerySelect, TransactionTrait,
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

/// One tenant's secret columns as stored.
struct Stored {
    id: Uuid,
    mp_access_token: String,
    mp_webhook_secret: Option<String>,
    ghl_api_key: Option<String>,
    mp_refresh_token: Option<String>,
}

impl Stored {
    fn values(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.mp_access_token.as_str())
            .chain(self.mp_webhook_secret.as_deref())
            .chain(self.ghl_api_key.as_deref())
            .chain(self.mp_refresh_token.as_deref())
    }

    /// Every value opened with `from` and sealed with `to`; `only_plain` leaves sealed ones be.
    fn resealed(
        &self,
        from: &SecretBox,
        to: &SecretBox,
        only_plain: bool,
    ) -> Result<ActiveModel, SecretError> {
        let reseal = |stored: &str| -> Result<String, SecretError> {
            if only_plain && is_sealed(stored) {
                return Ok(stored.to_owned());
            }
            Ok(to.seal(&from.open(stored)?))
        };
        let optional = |stored: &Option<String>| stored.as_deref().map(reseal).transpose();
        Ok(ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(self.id),
            mp_access_token: Set(reseal(&self.mp_access_token)?),
            mp_webhook_secret: Set(optional(&self.mp_webhook_secret)?),
            ghl_api_key: Set(optional(&self.ghl_api_key)?),
            mp_refresh_token: Set(optional(&self.mp_refresh_token)?),
            ..Default::default()
        })
    }
}

async fn stored(db: &impl sea_orm::ConnectionTrait) -> Result<Vec<Stored>, DbErr> {
    type Row = (Uuid, String, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Row> = Tenant::find()
        .select_only()
        .columns([
            Column::Id,
            Column::MpAccessToken,
            Column::MpWebhookSecret,
            Column::GhlApiKey,
            Column::MpRefreshToken,
        ])
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, mp_access_token, mp_webhook_secret, ghl_api_key, mp_refresh_token)| Stored {
                id,
                mp_access_token,
                mp_webhook_secret,
                ghl_api_key,
                mp_refresh_token,
            },
        )
        .collect())
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
            row.resealed(secrets, secrets, true)?.update(&txn).await?;
        }
    }
    txn.commit().await?;
    Ok(prepared)
}

/// `cobro secrets rotate`: every value opened with `old` (plain ones as they are) and sealed
/// with `new`, in one transaction. Answers how many values were sealed. Authorizations in flight
/// (`oauth_states`, ten minutes at most) are dropped rather than resealed: their sellers start
/// the connection again.
pub async fn rotate(
    db: &DatabaseConnection,
    old: &SecretBox,
    new: &SecretBox,
) -> Result<usize, SecretsError> {
    let txn = db.begin().await?;
    let rows = stored(&txn).await?;
    let mut count = 0;
    for row in &rows {
        count += row.values().count();
        row.resealed(old, new, false)?.update(&txn).await?;
    }
    entity::oauth_state::Entity::delete_many()
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(count)
}
