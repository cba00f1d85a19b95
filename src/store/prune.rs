//! Retention's deletes: old processed events (with their attempts, by cascade) and old
//! delivery-log rows, a small batch at a time so that webhooks never wait long behind a prune.
//! `crate::retention` runs them; nothing else deletes these rows.

use chrono::{DateTime, Utc};
use entity::delivery::{Column as D, Entity as Delivery};
use entity::webhook_event::{Column, Entity as Event};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
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
    let ids: Vec<Uuid> = Event::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Status.is_in(names))
        .filter(Column::CreatedAt.lt(before))
        .order_by_asc(Column::Id)
        .limit(batch)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(Event::delete_many()
        .filter(Column::Id.is_in(ids))
        .exec(db)
        .await?
        .rows_affected)
}

/// Deletes up to `batch` deliveries received before `before`; answers how many went.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    batch: u64,
) -> Result<u64, DbErr> {
    let ids: Vec<Uuid> = Delivery::find()
        .select_only()
        .column(D::Id)
        .filter(D::Id.lt(id_floor(before)))
        .order_by_asc(D::Id)
        .limit(batch)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(Delivery::delete_many()
        .filter(D::Id.is_in(ids))
        .exec(db)
        .await?
        .rows_affected)
}
