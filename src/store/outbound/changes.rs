//! A person's changes to outbound endpoints and their messages (SPEC §20, §21), each in one
//! transaction with its audit row: create, change, delete, rotate the secret, send a test
//! message, send a message again, send every failed message again. The admin API's endpoint
//! routes come through here; the relay's own writes (an endpoint disabled after a 410, an
//! attempt recorded) go to [`endpoints`] and [`messages`] directly, as nobody asked for them.

use entity::outbound_endpoint::Model as EndpointRow;
use entity::outbound_message::Model as MessageRow;
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use super::endpoints::{self, EndpointError, EndpointPatch, NewEndpoint, Scope};
use super::messages;
use super::outbox::{self, Notice};
use crate::secrets::SecretBox;
use crate::store::audit::{self, By, Entry};
use crate::store::db::begin_write;

/// The row for an action on one endpoint of `scope` (a platform-wide endpoint has no tenant).
fn on_endpoint(
    action: &'static str,
    scope: Scope,
    target: String,
    changes: Vec<&'static str>,
) -> Entry {
    Entry {
        action,
        tenant_id: match scope {
            Scope::Tenant(tenant) => Some(tenant),
            Scope::Platform => None,
        },
        target: Some(target),
        changes,
    }
}

/// A message as the API names it (`msg_` and the id without hyphens, SPEC §21's `webhook-id`).
fn message_target(message: Uuid) -> String {
    format!("msg_{}", message.simple())
}

/// The names of the fields a change sets, in the order of the API's body.
pub fn patched_fields(patch: &EndpointPatch) -> Vec<&'static str> {
    [
        ("url", patch.url.is_some()),
        ("events", patch.events.is_some()),
        ("description", patch.description.is_some()),
        ("disabled", patch.disabled.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// `endpoint.create`: answers the endpoint and its secret in the clear.
pub async fn create(
    db: &DatabaseConnection,
    sealer: &SecretBox,
    scope: Scope,
    new: NewEndpoint,
    by: &By,
) -> Result<(EndpointRow, String), EndpointError> {
    let mut changes = vec!["url", "secret"];
    changes.extend(new.events.is_some().then_some("events"));
    changes.extend(new.description.is_some().then_some("description"));
    let txn = begin_write(db).await?;
    let (row, secret) = endpoints::create(&txn, sealer, scope, new).await?;
    let entry = on_endpoint("endpoint.create", scope, row.id.to_string(), changes);
    audit::append(&txn, by, entry).await?;
    txn.commit().await?;
    Ok((row, secret))
}

/// `endpoint.update`; `None` (nothing recorded) when the endpoint is not in `scope`.
pub async fn update(
    db: &DatabaseConnection,
    scope: Scope,
    id: Uuid,
    patch: EndpointPatch,
    by: &By,
) -> Result<Option<EndpointRow>, DbErr> {
    let changes = patched_fields(&patch);
    let txn = begin_write(db).await?;
    let Some(row) = endpoints::update(&txn, scope, id, patch).await? else {
        return Ok(None);
    };
    let entry = on_endpoint("endpoint.update", scope, id.to_string(), changes);
    audit::append(&txn, by, entry).await?;
    txn.commit().await?;
    Ok(Some(row))
}

/// `endpoint.delete`; `false` (nothing recorded) when there was no such endpoint in `scope`.
pub async fn delete(
    db: &DatabaseConnection,
    scope: Scope,
    id: Uuid,
    by: &By,
) -> Result<bool, DbErr> {
    let txn = begin_write(db).await?;
    if !endpoints::delete(&txn, scope, id).await? {
        return Ok(false);
    }
    let entry = on_endpoint("endpoint.delete", scope, id.to_string(), Vec::new());
    audit::append(&txn, by, entry).await?;
    txn.commit().await?;
    Ok(true)
}

/// `endpoint.secret_rotated`: answers the endpoint and the new secret in the clear.
pub async fn rotate(
    db: &DatabaseConnection,
    sealer: &SecretBox,
    scope: Scope,
    id: Uuid,
    by: &By,
) -> Result<Option<(EndpointRow, String)>, EndpointError> {
    let txn = begin_write(db).await?;
    let Some(rotated) = endpoints::rotate(&txn, sealer, scope, id).await? else {
        return Ok(None);
    };
    let entry = on_endpoint(
        "endpoint.secret_rotated",
        scope,
        id.to_string(),
        vec!["secret"],
    );
    audit::append(&txn, by, entry).await?;
    txn.commit().await?;
    Ok(Some(rotated))
}

/// `endpoint.test_sent`: queues `notice` for the endpoint alone; answers the message's id.
pub async fn send_test(
    db: &DatabaseConnection,
    scope: Scope,
    endpoint: Uuid,
    notice: &Notice,
    by: &By,
) -> Result<Uuid, DbErr> {
    let txn = begin_write(db).await?;
    let message = outbox::enqueue_for(&txn, endpoint, notice).await?;
    let entry = on_endpoint(
        "endpoint.test_sent",
        scope,
        message_target(message),
        Vec::new(),
    );
    audit::append(&txn, by, entry).await?;
    txn.commit().await?;
    Ok(message)
}

/// `endpoint.message_retry`: one message of the endpoint sent again with `attempts` more; `None`
/// (nothing recorded) when the endpoint has no such message.
pub async fn retry_message(
    db: &DatabaseConnection,
    scope: Scope,
    endpoint: Uuid,
    message: Uuid,
    attempts: i32,
    by: &By,
) -> Result<Option<MessageRow>, DbErr> {
    let txn = begin_write(db).await?;
    let Some(row) = messages::retry(&txn, endpoint, message, attempts).await? else {
        return Ok(None);
    };
    let target = message_target(message);
    let entry = on_endpoint("endpoint.message_retry", scope, target, vec!["status"]);
    audit::append(&txn, by, entry).await?;
    txn.commit().await?;
    Ok(Some(row))
}

/// `endpoint.messages_retry_failed`: every failed message of the endpoint sent again; answers
/// how many (nothing is recorded when there were none).
pub async fn retry_failed(
    db: &DatabaseConnection,
    scope: Scope,
    endpoint: Uuid,
    attempts: i32,
    by: &By,
) -> Result<u64, DbErr> {
    let txn = begin_write(db).await?;
    let retried = messages::retry_failed(&txn, endpoint, attempts).await?;
    if retried == 0 {
        return Ok(0);
    }
    let target = format!("{endpoint}: {retried} failed messages");
    let entry = on_endpoint(
        "endpoint.messages_retry_failed",
        scope,
        target,
        vec!["status"],
    );
    audit::append(&txn, by, entry).await?;
    txn.commit().await?;
    Ok(retried)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_names_only_the_fields_it_sets() {
        let patch = EndpointPatch {
            events: Some(None),
            disabled: Some(false),
            ..Default::default()
        };
        assert_eq!(patched_fields(&patch), ["events", "disabled"]);
        assert!(patched_fields(&EndpointPatch::default()).is_empty());
    }
}
