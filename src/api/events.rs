//! `/api/tenants/{tid}/events` (SPEC §9): the event log, one event, and the retries a person
//! asks for. A retry resets the schedule (`max_attempts` grows) and queues the event now.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::auth::Caller;
use crate::app::AppState;
use crate::domain::{EventStatus, TenantId};
use crate::error::AppError;
use crate::store::{PageQuery, events};
use crate::tenant::Enqueue;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/tenants/{tid}/events", web::get().to(list))
        .route(
            "/api/tenants/{tid}/events/retry-failed",
            web::post().to(retry_failed),
        )
        .route("/api/tenants/{tid}/events/{id}", web::get().to(read))
        .route(
            "/api/tenants/{tid}/events/{id}/retry",
            web::post().to(retry),
        );
}

/// `status` plus the paging fields (spelled out: `serde(flatten)` breaks numbers in query strings).
#[derive(Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
    limit: Option<u64>,
    cursor: Option<uuid::Uuid>,
}

#[utoipa::path(get, path = "/api/tenants/{tid}/events", tag = "events", security(("bearer" = [])),
    params(("tid" = String, Path, description = "tenant id"), ("status" = Option<String>, Query, description = "pending, processing, success or failed"), ("limit" = Option<u64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, description = "a page of events, newest first: {items, next_cursor}"), (status = 403, description = "another tenant")))]
pub(crate) async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let tenant = caller.tenant(&path)?;
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(EventStatus::parse(text).ok_or_else(|| {
            AppError::BadRequest(format!(
                "unknown status {text:?}: use pending, processing, success or failed"
            ))
        })?),
    };
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let page = events::list(&state.services.db, tenant, status, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(get, path = "/api/tenants/{tid}/events/{id}", tag = "events", security(("bearer" = [])), params(("tid" = String, Path, description = "tenant id"), ("id" = String, Path, description = "event id")),
    responses((status = 200, description = "the event"), (status = 404, description = "no such event for this tenant")))]
pub(crate) async fn read(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let tenant = caller.tenant(&path.0)?;
    let id = super::parse_id(&path.1, "event")?;
    let event = events::get(&state.services.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound("event"))?;
    Ok(HttpResponse::Ok().json(event))
}

#[utoipa::path(post, path = "/api/tenants/{tid}/events/{id}/retry", tag = "events", security(("bearer" = [])), params(("tid" = String, Path, description = "tenant id"), ("id" = String, Path, description = "event id")),
    responses((status = 202, description = "queued now with a fresh retry schedule"), (status = 409, description = "the event is neither failed nor pending")))]
pub(crate) async fn retry(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let tenant = caller.tenant(&path.0)?;
    let id = super::parse_id(&path.1, "event")?;
    let db = &state.services.db;
    let fresh = state.services.config.retry_schedule.attempts();
    let Some(event) = events::requeue(db, tenant, id, fresh).await? else {
        let current = events::get(db, tenant, id)
            .await?
            .ok_or(AppError::NotFound("event"))?;
        return Err(AppError::Conflict(format!(
            "event is {}; only failed or pending events can be retried",
            current.status
        )));
    };
    queue_now(&state, tenant, event.id);
    tracing::info!(%tenant, event = %event.id, "manual retry");
    Ok(HttpResponse::Accepted().json(event))
}

#[utoipa::path(post, path = "/api/tenants/{tid}/events/retry-failed", tag = "events", security(("bearer" = [])), params(("tid" = String, Path, description = "tenant id")),
    responses((status = 202, description = "{\"requeued\": n}")))]
pub(crate) async fn retry_failed(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let tenant = caller.tenant(&path)?;
    let fresh = state.services.config.retry_schedule.attempts();
    let ids = events::requeue_failed(&state.services.db, tenant, fresh).await?;
    for id in &ids {
        queue_now(&state, tenant, *id);
    }
    tracing::info!(%tenant, requeued = ids.len(), "retry of all failed events");
    Ok(HttpResponse::Accepted().json(json!({ "requeued": ids.len() })))
}

fn queue_now(state: &AppState, tenant: TenantId, event_id: uuid::Uuid) {
    state.supervisor.do_send(Enqueue {
        tenant,
        event_id,
        not_before: None,
    });
}
