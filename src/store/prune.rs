//! Retention's deletes: old processed events (with their attempts, by cascade), old
//! delivery-log rows, old delivered outbound messages (with their attempts, by cascade) and old
//! audit-trail rows, a small batch at a time so that webhooks never wait long behind a prune.
//! `crate::retention` runs them; nothing else deletes these rows.

use chrono::{DateTime, Utc};
use entity::delivery::{Column as D, Entity as Delivery};
use entity::webhook_event::{Column, Entity as Event};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::search::id_floor;
use crate::domain::EventStatus;

/// Deletes up to `batch` events in `statuses` created before `before`; answers how many went.
/// Small batches keep each write transaction short, so webhooks never wait long behind a prune.
pub async fn events(
    db: &impl ConnectionTrait,
    statuses: &[EventStatus],
    before: DateTime<Utc>,
    batch: u64,
) -> Result<u64, DbErr> {
    let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    let old = Condition::all()
        .add(Column::Status.is_in(names))
        .add(Column::CreatedAt.lt(before));
    oldest_first::<Event>(db, Column::Id, old, batch).await
}

/// Deletes up to `batch` deliveries received before `before`; answers how many went.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    batch: u64,
) -> Result<u64, DbErr> {
    let old = Condition::all().add(D::Id.lt(id_floor(before)));
    oldest_first::<Delivery>(db, D::Id, old, batch).await
}

/// Deletes up to `batch` outbound messages delivered and created before `before`, oldest first;
/// `failed` and `pending` ones stay (a person may still send them again).
pub async fn outbound_messages(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    batch: u64,
) -> Result<u64, DbErr> {
    use entity::outbound_message::{Column as M, Entity as Message};
    let seqs: Vec<i64> = Message::find()
        .select_only()
        .column(M::Seq)
        .filter(M::Status.eq(crate::store::outbound::DELIVERED))
        .filter(M::CreatedAt.lt(before))
        .order_by_asc(M::Seq)
        .limit(batch)
        .into_tuple()
        .all(db)
        .await?;
    if seqs.is_empty() {
        return Ok(0);
    }
    let deleted = Message::delete_many()
        .filter(M::Seq.is_in(seqs))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

/// Deletes up to `batch` audit-trail rows appended before `before` (by their id's time), oldest
/// first; answers how many went. The only deletes `audit_log` ever sees.
pub async fn audit(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    batch: u64,
) -> Result<u64, DbErr> {
    use entity::audit_entry::{Column as A, Entity as Audit};
    let old = Condition::all().add(A::Id.lt(id_floor(before)));
    oldest_first::<Audit>(db, A::Id, old, batch).await
}

/// Deletes the `batch` rows of `E` matching `old` with the lowest ids (UUIDv7: the oldest).
async fn oldest_first<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id: E::Column,
    old: Condition,
    batch: u64,
) -> Result<u64, DbErr> {
    let ids: Vec<Uuid> = E::find()
        .select_only()
        .column(id)
        .filter(old)
        .order_by_asc(id)
        .limit(batch)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let deleted = E::delete_many().filter(id.is_in(ids)).exec(db).await?;
    Ok(deleted.rows_affected)
}
