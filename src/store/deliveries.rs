//! The delivery log (SPEC §18): rows appended by the writer (an acknowledged webhook's in the
//! same statement group and transaction as its event), read by the admin API, pruned by
//! retention.

use std::time::Instant;

use chrono::{DateTime, Utc};
use entity::delivery::{ActiveModel, Column, Entity as Delivery, Model};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::page::{self, Page, PageQuery};
use super::run::{self, Run};
use super::search::id_floor;
use crate::domain::{DeliveryOutcome, TenantId};

/// A delivery as ingest saw it. For a webhook handed to the writer, `outcome` and `event_id` are
/// set by the cycle that stores its event (accepted or duplicate).
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub received_at: DateTime<Utc>,
    /// When the request began, for `ack_ms`.
    pub started: Instant,
    pub provider: &'static str,
    pub tenant_id: Option<TenantId>,
    pub outcome: DeliveryOutcome,
    pub reason: Option<String>,
    pub http_status: u16,
    pub webhook_type: Option<String>,
    pub action: Option<String>,
    pub resource_id: Option<String>,
    pub request_id: Option<String>,
    pub remote_addr: Option<String>,
    pub body_bytes: usize,
    pub event_id: Option<Uuid>,
    /// Kept only when the outcome keeps bodies and the tenant is known (see [`NewDelivery::row`]).
    pub body: Option<Value>,
}

impl NewDelivery {
    fn row(&self) -> ActiveModel {
        let keep_body = self.outcome.keeps_body() && self.tenant_id.is_some();
        ActiveModel {
            id: Set(super::new_id()),
            received_at: Set(self.received_at),
            provider: Set(self.provider.to_owned()),
            tenant_id: Set(self.tenant_id.map(|t| t.0)),
            outcome: Set(self.outcome.as_str().to_owned()),
            reason: Set(self.reason.clone()),
            http_status: Set(i32::from(self.http_status)),
            webhook_type: Set(self.webhook_type.clone()),
            action: Set(self.action.clone()),
            resource_id: Set(self.resource_id.clone()),
            request_id: Set(self.request_id.clone()),
            remote_addr: Set(self.remote_addr.clone()),
            body_bytes: Set(i64::try_from(self.body_bytes).unwrap_or(i64::MAX)),
            ack_ms: Set(i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX)),
            event_id: Set(self.event_id),
            body: Set(self.body.clone().filter(|_| keep_body)),
        }
    }
}

/// Appends the rows in one statement (inside the caller's transaction).
pub async fn insert_many(db: &impl Run, deliveries: &[NewDelivery]) -> Result<(), DbErr> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let rows: Vec<ActiveModel> = deliveries.iter().map(NewDelivery::row).collect();
    run::exec(db, &Delivery::insert_many(rows)).await?;
    Ok(())
}

/// What to look for; `None` leaves a field open.
#[derive(Debug, Default, Clone)]
pub struct DeliveryFilter {
    /// `Some(None)`: only the tenant-less deliveries; `None`: every tenant's (super admin).
    pub tenant: Option<Option<TenantId>>,
    pub outcome: Option<DeliveryOutcome>,
    pub webhook_type: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A page of deliveries, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &DeliveryFilter,
    query: &PageQuery,
) -> Result<Page<Model>, DbErr> {
    let mut select = Delivery::find();
    match filter.tenant {
        Some(Some(tenant)) => select = select.filter(Column::TenantId.eq(tenant.0)),
        Some(None) => select = select.filter(Column::TenantId.is_null()),
        None => {}
    }
    if let Some(outcome) = filter.outcome {
        select = select.filter(Column::Outcome.eq(outcome.as_str()));
    }
    if let Some(kind) = &filter.webhook_type {
        select = select.filter(Column::WebhookType.eq(kind.as_str()));
    }
    if let Some(from) = filter.from {
        select = select.filter(Column::Id.gte(id_floor(from)));
    }
    if let Some(to) = filter.to {
        select = select.filter(Column::Id.lt(id_floor(to)));
    }
    page::fetch(db, select, Column::Id, |d| d.id, query).await
}

/// An accepted delivery's body is its event's `raw_payload` (stored once): read back for the
/// rows of a page in one query.
pub async fn with_event_bodies(
    db: &impl ConnectionTrait,
    mut page: Page<Model>,
) -> Result<Page<Model>, DbErr> {
    use entity::webhook_event::{Column as E, Entity as Event};
    let wanted = |d: &Model| {
        d.body.is_none() && d.tenant_id.is_some() && d.outcome == DeliveryOutcome::Accepted.as_str()
    };
    let ids: Vec<Uuid> = page
        .items
        .iter()
        .filter(|d| wanted(d))
        .filter_map(|d| d.event_id)
        .collect();
    if ids.is_empty() {
        return Ok(page);
    }
    let bodies: Vec<(Uuid, Uuid, Value)> = Event::find()
        .select_only()
        .columns([E::Id, E::TenantId, E::RawPayload])
        .filter(E::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    let bodies: std::collections::HashMap<Uuid, (Uuid, Value)> = bodies
        .into_iter()
        .map(|(id, tenant, body)| (id, (tenant, body)))
        .collect();
    for delivery in page.items.iter_mut().filter(|d| wanted(d)) {
        let found = delivery.event_id.and_then(|id| bodies.get(&id));
        if let Some((_, body)) = found.filter(|(tenant, _)| Some(*tenant) == delivery.tenant_id) {
            delivery.body = Some(body.clone());
        }
    }
    Ok(page)
}

/// The deliveries of one event, oldest first (the first is the one that was accepted).
pub async fn of_event(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    event: Uuid,
) -> Result<Vec<Model>, DbErr> {
    Delivery::find()
        .filter(Column::EventId.eq(event))
        .filter(Column::TenantId.eq(tenant.0))
        .order_by_asc(Column::Id)
        .limit(100)
        .all(db)
        .await
}

/// Deletes up to `batch` deliveries received before `before`; answers how many went.
pub async fn prune_batch(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    batch: u64,
) -> Result<u64, DbErr> {
    let ids: Vec<Uuid> = Delivery::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Id.lt(id_floor(before)))
        .order_by_asc(Column::Id)
        .limit(batch)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(Delivery::delete_many()
        .filter(Column::Id.is_in(ids))
        .exec(db)
        .await?
        .rows_affected)
}
