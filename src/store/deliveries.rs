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

use super::events::NewEvent;
use super::page::{self, Page, PageQuery};
use super::run::{self, Run};
use super::search::id_floor;
use crate::domain::{DeliveryOutcome, EventId, TenantId};

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
    pub event_id: Option<EventId>,
    /// Kept only when the outcome keeps bodies and the tenant is known (see [`NewDelivery::row`]).
    pub body: Option<Value>,
}

impl NewDelivery {
    /// The row of a webhook found to be a duplicate of event `id`: what the event was built
    /// from, and its own body.
    pub fn duplicate_of(event: &NewEvent, id: EventId) -> Self {
        let received = event.received.as_ref();
        Self {
            received_at: chrono::Utc::now(),
            started: received.map_or_else(Instant::now, |r| r.started),
            provider: event.provider.key(),
            tenant_id: Some(event.tenant_id),
            outcome: DeliveryOutcome::Duplicate,
            reason: None,
            http_status: 200,
            webhook_type: Some(event.webhook_type.clone()),
            action: Some(event.action.clone()).filter(|a| !a.is_empty()),
            resource_id: Some(event.resource.id.clone()).filter(|r| !r.is_empty()),
            request_id: event.request_id.clone(),
            remote_addr: received.and_then(|r| r.remote_addr.clone()),
            body_bytes: received.map_or(0, |r| r.body_bytes),
            event_id: Some(id),
            body: Some(event.raw_payload.clone()),
        }
    }

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
            event_id: Set(self.event_id.map(Uuid::from)),
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

/// A page of the delivery log, newest first: the rows of `deliveries` and, as `accepted` rows,
/// the events (an accepted event is its delivery's record). Both are read by id (UUIDv7, so
/// arrival order) and merged.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &DeliveryFilter,
    query: &PageQuery,
) -> Result<Page<Model>, DbErr> {
    let logged = match filter.outcome {
        Some(DeliveryOutcome::Accepted) => None,
        _ => Some(logged_rows(db, filter, query).await?),
    };
    let accepted = match (filter.outcome, filter.tenant) {
        (None | Some(DeliveryOutcome::Accepted), Some(Some(_)) | None) => {
            Some(accepted_rows(db, filter, query).await?)
        }
        _ => None,
    };
    let limit = query
        .limit
        .unwrap_or(page::DEFAULT_LIMIT)
        .clamp(1, page::MAX_LIMIT) as usize;
    let more = [&logged, &accepted]
        .iter()
        .any(|p| p.as_ref().is_some_and(|p| p.next_cursor.is_some()));
    let mut items: Vec<Model> = [logged, accepted]
        .into_iter()
        .flatten()
        .flat_map(|p| p.items)
        .collect();
    items.sort_by_key(|d| std::cmp::Reverse(d.id));
    let next_cursor = match more || items.len() > limit {
        true => {
            items.truncate(limit);
            items.last().map(|d| d.id)
        }
        false => None,
    };
    Ok(Page { items, next_cursor })
}

async fn logged_rows(
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

/// The events in the filter, as their deliveries' rows.
async fn accepted_rows(
    db: &impl ConnectionTrait,
    filter: &DeliveryFilter,
    query: &PageQuery,
) -> Result<Page<Model>, DbErr> {
    use entity::webhook_event::{Column as E, Entity as Event};
    let mut select = Event::find();
    if let Some(Some(tenant)) = filter.tenant {
        select = select.filter(E::TenantId.eq(tenant.0));
    }
    if let Some(kind) = &filter.webhook_type {
        select = select.filter(E::WebhookType.eq(kind.as_str()));
    }
    if let Some(from) = filter.from {
        select = select.filter(E::Id.gte(id_floor(from)));
    }
    if let Some(to) = filter.to {
        select = select.filter(E::Id.lt(id_floor(to)));
    }
    let events = page::fetch(db, select, E::Id, |e| e.id, query).await?;
    Ok(events.map(accepted))
}

/// An accepted event as its delivery's row.
pub fn accepted(event: entity::webhook_event::Model) -> Model {
    Model {
        id: event.id,
        received_at: event.created_at,
        provider: event.provider,
        tenant_id: Some(event.tenant_id),
        outcome: DeliveryOutcome::Accepted.as_str().to_owned(),
        reason: None,
        http_status: 200,
        webhook_type: Some(event.webhook_type),
        action: Some(event.action).filter(|a| !a.is_empty()),
        resource_id: event.resource_id,
        request_id: event.request_id,
        remote_addr: event.remote_addr,
        body_bytes: event.body_bytes.unwrap_or_default(),
        ack_ms: event.ack_ms.unwrap_or_default(),
        event_id: Some(event.id),
        body: Some(event.raw_payload),
    }
}

/// The deliveries of one event: the accepted one (the event), then its duplicates, oldest
/// first.
pub async fn of_event(
    db: &impl ConnectionTrait,
    event: &entity::webhook_event::Model,
) -> Result<Vec<Model>, DbErr> {
    let duplicates = Delivery::find()
        .filter(Column::EventId.eq(event.id))
        .filter(Column::TenantId.eq(event.tenant_id))
        .order_by_asc(Column::Id)
        .limit(100)
        .all(db)
        .await?;
    Ok(std::iter::once(accepted(event.clone()))
        .chain(duplicates)
        .collect())
}
