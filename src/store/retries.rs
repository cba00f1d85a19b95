//! A person's retries (SPEC §8, §20): an event, or every failed event of a tenant, put back to
//! `pending` with a fresh schedule, in one transaction with its audit row (`event.retry`,
//! `events.retry_failed`). The admin API's retry endpoints come through here; Cobro's own
//! requeues (after a seller reconnects) call `store::events` directly, as nobody asked for them.

use entity::webhook_event::Model;
use sea_orm::{DatabaseConnection, DbErr};

use super::audit::{self, By, Entry};
use super::events;
use crate::domain::{EventId, TenantId};

/// Requeues one `failed` or `pending` event and records who did; `None` (nothing recorded) when
/// the event is in neither state or is not the tenant's.
pub async fn retry(
    db: &DatabaseConnection,
    tenant: TenantId,
    id: EventId,
    fresh_attempts: i32,
    by: &By,
) -> Result<Option<Model>, DbErr> {
    let txn = crate::store::db::begin_write(db).await?;
    let Some(event) = events::requeue(&txn, tenant, id, fresh_attempts).await? else {
        return Ok(None);
    };
    let entry = Entry {
        action: "event.retry",
        tenant_id: Some(tenant),
        target: Some(id.to_string()),
        changes: vec!["status"],
    };
    audit::append(&txn, by, entry).await?;
    txn.commit().await?;
    Ok(Some(event))
}

/// Requeues every `failed` event of the tenant and records who did and how many (nothing is
/// recorded when there were none); answers their ids in arrival order.
pub async fn retry_failed(
    db: &DatabaseConnection,
    tenant: TenantId,
    fresh_attempts: i32,
    by: &By,
) -> Result<Vec<EventId>, DbErr> {
    let txn = crate::store::db::begin_write(db).await?;
    let ids = events::requeue_failed(&txn, tenant, fresh_attempts).await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    let entry = Entry {
        action: "events.retry_failed",
        tenant_id: Some(tenant),
        target: Some(format!("{} failed events", ids.len())),
        changes: vec!["status"],
    };
    audit::append(&txn, by, entry).await?;
    txn.commit().await?;
    Ok(ids)
}
