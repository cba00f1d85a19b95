//! Endpoints (SPEC §21): created, read, changed and deleted by the admin API within a scope (one
//! tenant's, or the platform-wide ones), their `whsec_` secret made here, shown once and sealed at
//! rest, rotated with a 24-hour overlap. The relay reads an endpoint to send, and disables it.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Utc;
use entity::outbound_endpoint::{ActiveModel, Column, Entity as Endpoint, Model};
use sea_orm::ActiveValue::{Set, Unchanged};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::domain::TenantId;
use crate::secrets::{SecretBox, SecretError};
use crate::store::run::{self, Run};

/// How long the secret before a rotation keeps signing beside the new one.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// Whose endpoints a request may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Tenant(TenantId),
    /// The platform-wide endpoints (every tenant's events), the super admin's.
    Platform,
}

impl Scope {
    fn tenant(self) -> Option<Uuid> {
        match self {
            Scope::Tenant(tenant) => Some(tenant.0),
            Scope::Platform => None,
        }
    }

    fn filter(self) -> sea_orm::Condition {
        match self.tenant() {
            Some(tenant) => sea_orm::Condition::all().add(Column::TenantId.eq(tenant)),
            None => sea_orm::Condition::all().add(Column::TenantId.is_null()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// What a new endpoint is made of (checked by the API).
pub struct NewEndpoint {
    pub url: String,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
}

/// A change to an endpoint; `None` leaves a field as it is.
#[derive(Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub events: Option<Option<Vec<String>>>,
    pub description: Option<Option<String>>,
    pub disabled: Option<bool>,
}

/// A fresh signing secret: `whsec_` and the base64 of 32 random bytes (Standard Webhooks).
pub fn new_secret() -> String {
    format!("whsec_{}", BASE64.encode(rand::random::<[u8; 32]>()))
}

fn events_text(events: Option<&Vec<String>>) -> Option<String> {
    events.map(|types| serde_json::Value::from(types.clone()).to_string())
}

/// Creates an endpoint; answers it and its secret in the clear (the only time it is shown).
pub async fn create(
    db: &impl ConnectionTrait,
    sealer: &SecretBox,
    scope: Scope,
    new: NewEndpoint,
) -> Result<(Model, String), EndpointError> {
    let secret = new_secret();
    let now = Utc::now();
    let row = ActiveModel {
        id: Set(crate::store::new_id()),
        tenant_id: Set(scope.tenant()),
        url: Set(new.url),
        description: Set(new.description),
        events: Set(events_text(new.events.as_ref())),
        secret: Set(sealer.seal(&secret)),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        disabled: Set(false),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok((row.insert(db).await?, secret))
}

pub async fn list(db: &impl ConnectionTrait, scope: Scope) -> Result<Vec<Model>, DbErr> {
    Endpoint::find()
        .filter(scope.filter())
        .order_by_asc(Column::CreatedAt)
        .all(db)
        .await
}

pub async fn get(
    db: &impl ConnectionTrait,
    scope: Scope,
    id: Uuid,
) -> Result<Option<Model>, DbErr> {
    Endpoint::find_by_id(id)
        .filter(scope.filter())
        .one(db)
        .await
}

/// Any endpoint by id (the relay's read).
pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Endpoint::find_by_id(id).one(db).await
}

pub async fn update(
    db: &impl ConnectionTrait,
    scope: Scope,
    id: Uuid,
    patch: EndpointPatch,
) -> Result<Option<Model>, DbErr> {
    if get(db, scope, id).await?.is_none() {
        return Ok(None);
    }
    let mut row = ActiveModel {
        id: Unchanged(id),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    if let Some(url) = patch.url {
        row.url = Set(url);
    }
    if let Some(events) = patch.events {
        row.events = Set(events_text(events.as_ref()));
    }
    if let Some(description) = patch.description {
        row.description = Set(description);
    }
    if let Some(disabled) = patch.disabled {
        row.disabled = Set(disabled);
        // Enabled again by a person: the failures before are forgiven.
        row.disabled_reason = Set(disabled.then(|| "disabled by hand".to_owned()));
        row.failing_since = Set(None);
    }
    Ok(Some(row.update(db).await?))
}

pub async fn delete(db: &impl ConnectionTrait, scope: Scope, id: Uuid) -> Result<bool, DbErr> {
    let done = Endpoint::delete_many()
        .filter(Column::Id.eq(id))
        .filter(scope.filter())
        .exec(db)
        .await?;
    Ok(done.rows_affected > 0)
}

/// A new secret; the current one keeps signing beside it for [`ROTATION_OVERLAP`]. Answers the
/// endpoint and the new secret in the clear.
pub async fn rotate(
    db: &impl ConnectionTrait,
    sealer: &SecretBox,
    scope: Scope,
    id: Uuid,
) -> Result<Option<(Model, String)>, EndpointError> {
    let Some(current) = get(db, scope, id).await? else {
        return Ok(None);
    };
    let secret = new_secret();
    let now = Utc::now();
    let overlap = chrono::Duration::from_std(ROTATION_OVERLAP).unwrap_or_default();
    let row = ActiveModel {
        id: Unchanged(id),
        secret: Set(sealer.seal(&secret)),
        previous_secret: Set(Some(current.secret)),
        previous_secret_until: Set(Some(now + overlap)),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok(Some((row.update(db).await?, secret)))
}

/// The secrets that sign a message now, newest first, opened.
pub fn signing_secrets(sealer: &SecretBox, endpoint: &Model) -> Result<Vec<String>, SecretError> {
    let mut secrets = vec![sealer.open(&endpoint.secret)?];
    let overlapping = endpoint
        .previous_secret_until
        .is_some_and(|until| until > Utc::now());
    if let (Some(previous), true) = (&endpoint.previous_secret, overlapping) {
        secrets.push(sealer.open(previous)?);
    }
    Ok(secrets)
}

/// Disables an endpoint the relay gave up on (410, or five days failing). Answers whether this
/// call disabled it (it was enabled).
pub async fn disable(db: &impl ConnectionTrait, id: Uuid, reason: &str) -> Result<bool, DbErr> {
    let done = Endpoint::update_many()
        .col_expr(Column::Disabled, true.into())
        .col_expr(Column::DisabledReason, reason.into())
        .col_expr(Column::UpdatedAt, Utc::now().into())
        .filter(Column::Id.eq(id))
        .filter(Column::Disabled.eq(false))
        .exec(db)
        .await?;
    Ok(done.rows_affected > 0)
}

/// Records whether the endpoint's last attempt failed: the start of a run of failures is kept
/// (five days of it disable the endpoint), a success ends the run.
pub async fn note_result(db: &impl Run, id: Uuid, failed: bool) -> Result<(), DbErr> {
    let update = Endpoint::update_many().filter(Column::Id.eq(id));
    let update = match failed {
        true => update
            .col_expr(Column::FailingSince, Utc::now().into())
            .filter(Column::FailingSince.is_null()),
        false => update
            .col_expr(
                Column::FailingSince,
                sea_orm::sea_query::Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .filter(Column::FailingSince.is_not_null()),
    };
    run::exec(db, &update).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_whsec_and_32_bytes() {
        let secret = new_secret();
        let key = secret.strip_prefix("whsec_").unwrap_or_default();
        assert_eq!(BASE64.decode(key).map(|k| k.len()).ok(), Some(32));
        assert_ne!(secret, new_secret());
    }
}
