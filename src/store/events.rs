//! Webhook events: the deduplicating insert used by ingest, the state moves of one processing
//! attempt (claim, success, retry, fail) used by the tenant pipeline, and the reads and requeues
//! used by the admin API and by recovery at start-up.

use chrono::{DateTime, Utc};
use entity::webhook_event::{ActiveModel, Column, Entity as Event, Model};
use sea_orm::ActiveValue::{Set, Unchanged};
use sea_orm::sea_query::OnConflict;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

use super::run::{self, Run};
use crate::domain::{EventId, EventStatus, PaymentId, Provider, ResourceKind, TenantId};

pub struct NewEvent {
    pub tenant_id: TenantId,
    /// The provider it came from: processing calls that provider with the tenant's account there.
    pub provider: Provider,
    /// The request that brought it, kept on the row (the accepted delivery's record).
    pub received: Option<Received>,
    /// What the notification is about (SPEC §17).
    pub resource: EventResource,
    pub notification_id: String,
    pub request_id: Option<String>,
    pub webhook_type: String,
    pub action: String,
    pub mp_payment_id: String,
    pub raw_payload: Value,
    pub max_attempts: i32,
    /// The ingest span's `traceparent` (`telemetry::trace_context`), when traces are exported.
    pub trace_context: Option<String>,
}

/// What the delivery log keeps of the request that brought an event.
#[derive(Debug, Clone)]
pub struct Received {
    pub started: std::time::Instant,
    pub remote_addr: Option<String>,
    pub body_bytes: usize,
}

/// The `resource_type`, `resource_id` and `resource_version` of a new event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventResource {
    pub kind: ResourceKind,
    pub id: String,
    pub version: Option<i64>,
}

impl EventResource {
    /// A payment notification's resource: the payment.
    pub fn payment(id: impl Into<String>) -> Self {
        Self {
            kind: ResourceKind::Payment,
            id: id.into(),
            version: None,
        }
    }
}

/// What became of an event handed to [`insert_batch`]. The unique index decides, so of any number
/// of concurrent deliveries of one notification exactly one is `Accepted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Accepted(EventId),
    Duplicate(EventId),
}

/// The row of a freshly accepted event.
fn new_row(new: &NewEvent) -> ActiveModel {
    ActiveModel {
        id: Set(super::new_id()),
        tenant_id: Set(new.tenant_id.0),
        notification_id: Set(new.notification_id.clone()),
        request_id: Set(new.request_id.clone()),
        webhook_type: Set(new.webhook_type.clone()),
        action: Set(new.action.clone()),
        mp_payment_id: Set(new.mp_payment_id.clone()),
        payment_id: Set(None),
        raw_payload: Set(new.raw_payload.clone()),
        status: Set(EventStatus::Pending.as_str().into()),
        processed: Set(false),
        attempts: Set(0),
        max_attempts: Set(new.max_attempts),
        last_error: Set(None),
        error_details: Set(None),
        created_at: Set(Utc::now()),
        processed_at: Set(None),
        next_retry_at: Set(None),
        processing_ms: Set(None),
        resource_type: Set(new.resource.kind.as_str().into()),
        resource_id: Set(Some(new.resource.id.clone()).filter(|id| !id.is_empty())),
        resource_version: Set(new.resource.version),
        remote_addr: Set(new.received.as_ref().and_then(|r| r.remote_addr.clone())),
        body_bytes: Set(new
            .received
            .as_ref()
            .map(|r| i64::try_from(r.body_bytes).unwrap_or(i64::MAX))),
        ack_ms: Set(new
            .received
            .as_ref()
            .map(|r| i64::try_from(r.started.elapsed().as_millis()).unwrap_or(i64::MAX))),
        provider: Set(new.provider.key().to_owned()),
        trace_context: Set(new.trace_context.clone()),
    }
}

/// Inserts a batch (inside the caller's transaction), deduplicating on
/// `(tenant_id, notification_id)` against the table and within the batch. Answers, in the batch's
/// order, what became of each event.
pub async fn insert_batch(db: &impl Run, batch: &[NewEvent]) -> Result<Vec<Stored>, DbErr> {
    let keys: Vec<(Uuid, String)> = batch
        .iter()
        .map(|e| (e.tenant_id.0, e.notification_id.clone()))
        .collect();
    // The first event of each key in the batch is the candidate; later ones are its duplicates.
    let mut candidate_of: HashMap<(Uuid, String), usize> = HashMap::new();
    let mut rows = Vec::new();
    let mut ids = vec![Uuid::nil(); batch.len()];
    for (index, event) in batch.iter().enumerate() {
        if candidate_of.contains_key(&keys[index]) {
            continue;
        }
        candidate_of.insert(keys[index].clone(), index);
        let row = new_row(event);
        ids[index] = *row.id.as_ref();
        rows.push(row);
    }
    let candidates = rows.len();
    let insert = Event::insert_many(rows).on_conflict(
        OnConflict::columns([Column::TenantId, Column::NotificationId])
            .do_nothing()
            .to_owned(),
    );
    let inserted_count = run::exec(db, &insert).await?;
    let existing = if inserted_count as usize == candidates {
        HashMap::new()
    } else {
        existing_ids(db, candidate_of.keys().cloned().collect()).await?
    };
    Ok(keys
        .iter()
        .enumerate()
        .map(|(index, key)| {
            let candidate = candidate_of[key];
            let stored_id = existing.get(key).copied().unwrap_or(ids[candidate]);
            if candidate == index && stored_id == ids[candidate] {
                Stored::Accepted(EventId(stored_id))
            } else {
                Stored::Duplicate(EventId(stored_id))
            }
        })
        .collect())
}

/// The stored id of each key (after a conflicting insert, some are older rows).
async fn existing_ids(
    db: &impl Run,
    keys: Vec<(Uuid, String)>,
) -> Result<HashMap<(Uuid, String), Uuid>, DbErr> {
    #[derive(FromQueryResult, Deserialize)]
    struct Key {
        id: Uuid,
        tenant_id: Uuid,
        notification_id: String,
    }
    let tenants: Vec<Uuid> = keys.iter().map(|(t, _)| *t).collect();
    let notifications: Vec<String> = keys.iter().map(|(_, n)| n.clone()).collect();
    let query = Event::find()
        .select_only()
        .columns([Column::Id, Column::TenantId, Column::NotificationId])
        .filter(Column::TenantId.is_in(tenants))
        .filter(Column::NotificationId.is_in(notifications));
    let rows: Vec<Key> = run::select(db, &query).await?;
    Ok(rows
        .into_iter()
        .map(|k| ((k.tenant_id, k.notification_id), k.id))
        .collect())
}

/// An event that needs no processing (a connection notice): `success` at once, no attempt made.
pub async fn mark_handled(db: &impl Run, id: EventId) -> Result<(), DbErr> {
    let done = Event::update_many()
        .col_expr(Column::Status, Expr::value(EventStatus::Success.as_str()))
        .col_expr(Column::Processed, Expr::value(true))
        .col_expr(Column::ProcessedAt, Expr::value(Some(Utc::now())))
        .col_expr(Column::ProcessingMs, Expr::value(Some(0i64)))
        .filter(Column::Id.eq(id));
    run::exec(db, &done).await?;
    Ok(())
}

/// Moves a `pending` event to `processing` and counts the attempt. `None` when the event is not
/// pending any more (already done, failed, or claimed by someone else), so a stale queue entry
/// never processes an event twice.
pub async fn claim(db: &impl Run, id: EventId) -> Result<Option<Model>, DbErr> {
    Ok(super::many::claim_many(db, &[id]).await?.remove(&id))
}

pub async fn mark_success(
    db: &impl Run,
    id: EventId,
    payment_id: Option<PaymentId>,
    processing_ms: i64,
) -> Result<Model, DbErr> {
    let row = ActiveModel {
        id: Unchanged(id.0),
        status: Set(EventStatus::Success.as_str().into()),
        processed: Set(true),
        processed_at: Set(Some(Utc::now())),
        processing_ms: Set(Some(processing_ms)),
        payment_id: Set(payment_id.map(Uuid::from)),
        last_error: Set(None),
        error_details: Set(None),
        next_retry_at: Set(None),
        ..Default::default()
    };
    run::update_one(db, row).await
}

/// The highest `data.version` of the order notifications of `order` processed so far (SPEC
/// §17): a notification not above it is stale.
pub async fn last_version_processed(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    order: &str,
) -> Result<Option<i64>, DbErr> {
    #[derive(FromQueryResult)]
    struct Last {
        version: Option<i64>,
    }
    let last = Event::find()
        .select_only()
        .column_as(Column::ResourceVersion.max(), "version")
        .filter(Column::TenantId.eq(tenant.0))
        .filter(Column::ResourceType.eq(ResourceKind::Order.as_str()))
        .filter(Column::ResourceId.eq(order))
        .filter(Column::Status.eq(EventStatus::Success.as_str()))
        .into_model::<Last>()
        .one(db)
        .await?;
    Ok(last.and_then(|l| l.version))
}

/// A success that fetched nothing keeps why in `last_error` ("superseded by version N").
pub async fn note_success(db: &impl Run, id: EventId, note: &str) -> Result<Model, DbErr> {
    let row = ActiveModel {
        id: Unchanged(id.0),
        last_error: Set(Some(note.to_owned())),
        ..Default::default()
    };
    run::update_one(db, row).await
}

/// A claimed event that was not processed goes back to `pending` with its claim's attempt
/// uncounted. Only a `processing` event moves; anything else is left as it is.
pub async fn release(db: &impl Run, id: EventId) -> Result<(), DbErr> {
    let release = Event::update_many()
        .col_expr(Column::Status, Expr::value(EventStatus::Pending.as_str()))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).sub(1))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(EventStatus::Processing.as_str()));
    run::exec(db, &release).await?;
    Ok(())
}

/// Records a failed attempt: `pending` again with `next_retry_at`, or `failed` when `None`.
pub async fn mark_attempt_failed(
    db: &impl Run,
    id: EventId,
    next_retry_at: Option<DateTime<Utc>>,
    last_error: String,
    error_details: Value,
    processing_ms: i64,
) -> Result<Model, DbErr> {
    let status = match next_retry_at {
        Some(_) => EventStatus::Pending,
        None => EventStatus::Failed,
    };
    let row = ActiveModel {
        id: Unchanged(id.0),
        status: Set(status.as_str().into()),
        next_retry_at: Set(next_retry_at),
        last_error: Set(Some(last_error)),
        error_details: Set(Some(error_details)),
        processing_ms: Set(Some(processing_ms)),
        ..Default::default()
    };
    run::update_one(db, row).await
}

pub async fn get(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    id: EventId,
) -> Result<Option<Model>, DbErr> {
    Event::find_by_id(id.0)
        .filter(Column::TenantId.eq(tenant.0))
        .one(db)
        .await
}

/// A person's retry: a `failed` (or waiting `pending`) event becomes `pending` now, with a fresh
/// schedule: `max_attempts` grows so that as many attempts as a new event gets remain.
/// Answers `None` when the event is not in a state that can be retried.
pub async fn requeue(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    id: EventId,
    fresh_attempts: i32,
) -> Result<Option<Model>, DbErr> {
    let requeued = requeue_where(fresh_attempts)
        .filter(Column::TenantId.eq(tenant.0))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.is_in([EventStatus::Failed.as_str(), EventStatus::Pending.as_str()]))
        .exec(db)
        .await?;
    if requeued.rows_affected == 0 {
        return Ok(None);
    }
    get(db, tenant, id).await
}

/// Requeues every `failed` event of a tenant; answers their ids in arrival order.
pub async fn requeue_failed(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    fresh_attempts: i32,
) -> Result<Vec<EventId>, DbErr> {
    requeue_failed_matching(db, tenant, None, fresh_attempts).await
}

/// Requeues a tenant's `failed` events whose `last_error` ends with `reason` (those only a
/// reconnection could clear); answers their ids in arrival order.
pub async fn requeue_failed_because(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    reason: &str,
    fresh_attempts: i32,
) -> Result<Vec<EventId>, DbErr> {
    let ending = Column::LastError.like(format!("%{reason}"));
    requeue_failed_matching(db, tenant, Some(ending), fresh_attempts).await
}

async fn requeue_failed_matching(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    also: Option<sea_orm::sea_query::SimpleExpr>,
    fresh_attempts: i32,
) -> Result<Vec<EventId>, DbErr> {
    let mut select = Event::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::TenantId.eq(tenant.0))
        .filter(Column::Status.eq(EventStatus::Failed.as_str()));
    if let Some(also) = also {
        select = select.filter(also);
    }
    let failed: Vec<Uuid> = select.order_by_asc(Column::Id).into_tuple().all(db).await?;
    if failed.is_empty() {
        return Ok(Vec::new());
    }
    requeue_where(fresh_attempts)
        .filter(Column::Id.is_in(failed.clone()))
        .filter(Column::Status.eq(EventStatus::Failed.as_str()))
        .exec(db)
        .await?;
    Ok(failed.into_iter().map(EventId).collect())
}

fn requeue_where(fresh_attempts: i32) -> sea_orm::UpdateMany<Event> {
    Event::update_many()
        .col_expr(Column::Status, Expr::value(EventStatus::Pending.as_str()))
        .col_expr(
            Column::NextRetryAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            Column::MaxAttempts,
            Expr::col(Column::Attempts).add(fresh_attempts),
        )
}

/// An event waiting to be processed, for recovery at start-up.
#[derive(Debug, Clone, Copy)]
pub struct Unfinished {
    pub id: EventId,
    pub tenant_id: TenantId,
    pub next_retry_at: Option<DateTime<Utc>>,
    /// A fraud alert: processed ahead of the tenant's other pending events.
    pub urgent: bool,
}

/// Whether an event of this `resource_type` goes ahead of its tenant's queue: a fraud alert,
/// which MercadoPago never resends and which must stop a delivery (SPEC §17).
pub fn is_urgent(resource_type: &str) -> bool {
    resource_type == ResourceKind::FraudAlert.as_str()
}

/// How many events are in each status (metrics, the demo's progress line).
pub async fn count_by_status(db: &impl ConnectionTrait) -> Result<Vec<(String, i64)>, DbErr> {
    Event::find()
        .select_only()
        .column(Column::Status)
        .column_as(Expr::col(Column::Id).count(), "count")
        .group_by(Column::Status)
        .into_tuple()
        .all(db)
        .await
}

/// After a crash: `processing` events go back to `pending` (their attempt was counted), then all
/// `pending` events are answered in arrival order.
pub async fn recover_unfinished(db: &impl ConnectionTrait) -> Result<Vec<Unfinished>, DbErr> {
    Event::update_many()
        .col_expr(Column::Status, Expr::value(EventStatus::Pending.as_str()))
        .filter(Column::Status.eq(EventStatus::Processing.as_str()))
        .exec(db)
        .await?;
    let rows: Vec<(Uuid, Uuid, Option<DateTime<Utc>>, String)> = Event::find()
        .select_only()
        .columns([
            Column::Id,
            Column::TenantId,
            Column::NextRetryAt,
            Column::ResourceType,
        ])
        .filter(Column::Status.eq(EventStatus::Pending.as_str()))
        .order_by_asc(Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, tenant, next_retry_at, resource)| Unfinished {
            id: EventId(id),
            tenant_id: TenantId(tenant),
            next_retry_at,
            urgent: is_urgent(&resource),
        })
        .collect())
}
