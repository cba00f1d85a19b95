//! `/api/tenants/{tid}/events` (SPEC §9): the event log, one event, and the retries a person
//! asks for. A retry resets the schedule (`max_attempts` grows) and queues the event now.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::access::TenantAccess;
use super::page::PageOut;
use crate::domain::{EventId, EventStatus, ResourceKind, TenantId};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::store::audit::By;
use crate::store::search::{self, Filter};
use crate::store::{PageQuery, attempts, events, retries};
use crate::tenant::Enqueue;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/tenants/{tid}/events").route(web::get().to(list)))
        .service(
            web::resource("/tenants/{tid}/events/retry-failed").route(web::post().to(retry_failed)),
        )
        .service(web::resource("/tenants/{tid}/events/{id}").route(web::get().to(read)))
        .service(web::resource("/tenants/{tid}/events/{id}/retry").route(web::post().to(retry)));
}

/// An accepted webhook and where its processing stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The provider it came from: `mercadopago` or `stripe` (SPEC §19).
    pub provider: String,
    /// The deduplication key: the notification's `id`, else `req:<x-request-id>`, else
    /// `sha256:<body hash>`.
    pub notification_id: String,
    pub request_id: Option<String>,
    pub webhook_type: String,
    pub action: String,
    pub mp_payment_id: String,
    pub payment_id: Option<Uuid>,
    /// The notification as it was received.
    pub raw_payload: Value,
    pub status: EventStatusOut,
    pub processed: bool,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub error_details: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub processing_ms: Option<i64>,
    /// What the notification is about (SPEC §17).
    #[schema(pattern = "^(payment|order|chargeback|fraud_alert|claim|connection)$")]
    pub resource_type: String,
    /// The provider's id of it: a payment, an order (`ORD01…`), a chargeback, a claim; for a
    /// fraud alert, its payment.
    pub resource_id: Option<String>,
}

/// One event with its attempt history (issue 13).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDetailOut {
    #[serde(flatten)]
    pub event: EventOut,
    /// Every processing attempt, first to last.
    pub history: Vec<AttemptOut>,
    /// The requests that brought it (SPEC §18): the one that was accepted, then its duplicates.
    pub deliveries: Vec<super::deliveries::DeliveryOut>,
}

/// One processing attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    /// 1 for the first attempt.
    pub attempt: i32,
    /// The cluster node that made it (`null` on a single SQLite node).
    pub node: Option<String>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    /// `success`, `retry` (another attempt was scheduled) or `failed` (none left).
    #[schema(pattern = "^(success|retry|failed)$")]
    pub outcome: String,
    /// MercadoPago's HTTP status for the payment fetch, when it answered.
    pub mp_status: Option<i32>,
    /// GoHighLevel's HTTP status, when it was called and answered.
    pub ghl_status: Option<i32>,
    pub error: Option<String>,
    /// Service, status and an excerpt of the answer, for a failed attempt.
    pub details: Option<Value>,
}

impl From<entity::event_attempt::Model> for AttemptOut {
    fn from(a: entity::event_attempt::Model) -> Self {
        Self {
            attempt: a.attempt,
            node: a.node,
            started_at: a.started_at,
            duration_ms: a.duration_ms,
            outcome: a.outcome,
            mp_status: a.mp_status,
            ghl_status: a.ghl_status,
            error: a.error,
            details: a.details,
        }
    }
}

/// `pending → processing → success | failed` (SPEC §6).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventStatusOut {
    Pending,
    Processing,
    Success,
    Failed,
}

impl From<EventStatusOut> for EventStatus {
    fn from(status: EventStatusOut) -> Self {
        match status {
            EventStatusOut::Pending => EventStatus::Pending,
            EventStatusOut::Processing => EventStatus::Processing,
            EventStatusOut::Success => EventStatus::Success,
            EventStatusOut::Failed => EventStatus::Failed,
        }
    }
}

impl EventStatusOut {
    /// A row's status; a word no release wrote reads as `failed` rather than failing the page.
    fn of_row(text: &str) -> Self {
        match EventStatus::parse(text) {
            Some(EventStatus::Pending) => EventStatusOut::Pending,
            Some(EventStatus::Processing) => EventStatusOut::Processing,
            Some(EventStatus::Success) => EventStatusOut::Success,
            Some(EventStatus::Failed) | None => EventStatusOut::Failed,
        }
    }
}

impl From<entity::webhook_event::Model> for EventOut {
    fn from(e: entity::webhook_event::Model) -> Self {
        Self {
            id: e.id,
            tenant_id: e.tenant_id,
            notification_id: e.notification_id,
            request_id: e.request_id,
            webhook_type: e.webhook_type,
            action: e.action,
            mp_payment_id: e.mp_payment_id,
            payment_id: e.payment_id,
            raw_payload: e.raw_payload,
            status: EventStatusOut::of_row(&e.status),
            processed: e.processed,
            attempts: e.attempts,
            max_attempts: e.max_attempts,
            last_error: e.last_error,
            error_details: e.error_details,
            created_at: e.created_at,
            processed_at: e.processed_at,
            next_retry_at: e.next_retry_at,
            processing_ms: e.processing_ms,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            provider: e.provider,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequeuedOut {
    /// How many failed events were queued again.
    pub requeued: usize,
}

/// What an event is about, as a search filter (SPEC §17).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceTypeIn {
    Payment,
    Order,
    Chargeback,
    FraudAlert,
    Claim,
    Connection,
}

impl From<ResourceTypeIn> for ResourceKind {
    fn from(kind: ResourceTypeIn) -> Self {
        match kind {
            ResourceTypeIn::Payment => ResourceKind::Payment,
            ResourceTypeIn::Order => ResourceKind::Order,
            ResourceTypeIn::Chargeback => ResourceKind::Chargeback,
            ResourceTypeIn::FraudAlert => ResourceKind::FraudAlert,
            ResourceTypeIn::Claim => ResourceKind::Claim,
            ResourceTypeIn::Connection => ResourceKind::Connection,
        }
    }
}

/// The filters plus the paging fields (spelled out: `serde(flatten)` breaks numbers in query
/// strings). Every filter narrows the search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventListIn {
    /// Only events from this provider.
    #[param(inline)]
    pub provider: Option<super::input::ProviderIn>,
    /// Only events in this status.
    pub status: Option<EventStatusOut>,
    /// Only events with this action (`payment.created`, `payment.updated`, ...).
    #[param(pattern = r"^[^\x00]*$")]
    pub action: Option<String>,
    /// Only events of this MercadoPago payment.
    #[param(pattern = r"^[^\x00]*$")]
    pub mp_payment_id: Option<String>,
    /// Only events about this kind of resource (SPEC §17).
    #[param(inline)]
    pub resource_type: Option<ResourceTypeIn>,
    /// Only events about this resource (an order `ORD01…`, a chargeback, a claim, a payment).
    #[param(pattern = r"^[^\x00]*$")]
    pub resource_id: Option<String>,
    /// Only events of payments by this buyer (the email exactly as MercadoPago sent it).
    #[param(pattern = r"^[^\x00]*$")]
    pub email: Option<String>,
    /// Only events of payments for this order (its id, the payment's `external_reference`).
    #[param(pattern = r"^[^\x00]*$")]
    pub order_id: Option<String>,
    /// Received at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Received before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// How many items: 50 when absent; 0 counts as 1 and anything over 500 as 500.
    #[param(minimum = 0)]
    pub limit: Option<i64>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/tenants/{tid}/events", tag = "events", security(("bearer" = [])),
    params(("tid" = Uuid, Path, description = "tenant id"), EventListIn),
    responses((status = 200, description = "a page of events, newest first", body = PageOut<EventOut>)))]
pub(crate) async fn list(
    access: TenantAccess,
    state: web::Data<AppState>,
    query: web::Query<EventListIn>,
) -> Result<HttpResponse, AppError> {
    let page = PageQuery {
        limit: super::page::limit(query.limit)?,
        cursor: query.cursor,
    };
    let query = query.into_inner();
    let filter = Filter {
        provider: query.provider.map(super::input::ProviderIn::key),
        status: query
            .status
            .map(|s| EventStatus::from(s).as_str().to_owned()),
        action: super::input::search_text("action", query.action)?,
        mp_payment_id: super::input::search_text("mp_payment_id", query.mp_payment_id)?,
        resource_type: query
            .resource_type
            .map(|k| ResourceKind::from(k).as_str().to_owned()),
        resource_id: super::input::search_text("resource_id", query.resource_id)?,
        email: super::input::search_text("email", query.email)?,
        order_id: super::input::search_text("order_id", query.order_id)?,
        from: query.from,
        to: query.to,
    };
    let rows = search::events(&state.services.db, access.0, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(PageOut::from_rows(rows, EventOut::from)))
}

#[utoipa::path(get, path = "/api/tenants/{tid}/events/{id}", tag = "events", security(("bearer" = [])),
    params(("tid" = Uuid, Path, description = "tenant id"), ("id" = Uuid, Path, description = "event id")),
    responses((status = 200, description = "the event and its attempts", body = EventDetailOut)))]
pub(crate) async fn read(
    access: TenantAccess,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let id = EventId(super::input::parse_id(&path.1, "event")?);
    let db = &state.services.db;
    let event = events::get(db, access.0, id)
        .await?
        .ok_or(AppError::NotFound("event"))?;
    let history = attempts::of_event(db, access.0, id).await?;
    let deliveries = crate::store::deliveries::of_event(db, &event).await?;
    let deliveries = deliveries
        .into_iter()
        .map(super::deliveries::DeliveryOut::from)
        .collect();
    Ok(HttpResponse::Ok().json(EventDetailOut {
        event: EventOut::from(event),
        history: history.into_iter().map(AttemptOut::from).collect(),
        deliveries,
    }))
}

#[utoipa::path(post, path = "/api/tenants/{tid}/events/{id}/retry", tag = "events", security(("bearer" = [])),
    params(("tid" = Uuid, Path, description = "tenant id"), ("id" = Uuid, Path, description = "event id")),
    responses((status = 202, description = "queued now with a fresh retry schedule", body = EventOut),
        (status = 409, description = "the event is neither failed nor pending", body = ErrorBody)))]
pub(crate) async fn retry(
    access: TenantAccess,
    by: By,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let tenant = access.0;
    let id = EventId(super::input::parse_id(&path.1, "event")?);
    let db = &state.services.db;
    let fresh = state.services.config.retry_schedule.attempts();
    let Some(event) = retries::retry(db, tenant, id, fresh, &by).await? else {
        let current = events::get(db, tenant, id)
            .await?
            .ok_or(AppError::NotFound("event"))?;
        return Err(AppError::Conflict(format!(
            "event is {}; only failed or pending events can be retried",
            current.status
        )));
    };
    queue_now(&state, tenant, id);
    tracing::info!(%tenant, event = %event.id, "manual retry");
    Ok(HttpResponse::Accepted().json(EventOut::from(event)))
}

#[utoipa::path(post, path = "/api/tenants/{tid}/events/retry-failed", tag = "events", security(("bearer" = [])),
    params(("tid" = Uuid, Path, description = "tenant id")),
    responses((status = 202, description = "every failed event queued again", body = RequeuedOut)))]
pub(crate) async fn retry_failed(
    access: TenantAccess,
    by: By,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let tenant = access.0;
    let fresh = state.services.config.retry_schedule.attempts();
    let ids = retries::retry_failed(&state.services.db, tenant, fresh, &by).await?;
    for id in &ids {
        queue_now(&state, tenant, *id);
    }
    tracing::info!(%tenant, requeued = ids.len(), "retry of all failed events");
    Ok(HttpResponse::Accepted().json(RequeuedOut {
        requeued: ids.len(),
    }))
}

fn queue_now(state: &AppState, tenant: TenantId, event_id: EventId) {
    state.supervisor.do_send(Enqueue {
        tenant,
        event_id,
        not_before: None,
        // A person asked for it: it waits its turn.
        urgent: false,
    });
}
