//! Endpoints of signed outbound events (SPEC §21): a tenant's under `/api/tenants/{tid}/endpoints`
//! (the super admin or the tenant), the platform-wide ones under `/api/endpoints` (super admin:
//! every tenant's events). Create (the secret is shown once), read, change, delete, rotate the
//! secret, send a test message, list messages with their attempts, send again one or every failed
//! one. The routes of each scope are in [`tenant_routes`] and [`platform_routes`], their bodies and
//! answers in [`wire`]; what they do is here, once, by [`Scope`].

pub(crate) mod platform_routes;
pub(crate) mod tenant_routes;
mod wire;

use actix_web::{HttpResponse, web};
use serde_json::json;
use uuid::Uuid;

use crate::domain::OutboundType;
use crate::error::AppError;
use crate::relay::address::check_url;
use crate::state::AppState;
use crate::store::audit::By;
use crate::store::outbound::changes;
use crate::store::outbound::endpoints::{self, EndpointError, EndpointPatch, NewEndpoint, Scope};
use crate::store::outbound::messages;
use crate::store::outbound::outbox::{self, Notice};
pub use wire::*;
use wire::{URL_SHAPE_RE, type_names};

pub fn configure(cfg: &mut web::ServiceConfig) {
    tenant_routes::configure(cfg);
    platform_routes::configure(cfg);
}

fn endpoint_error(err: EndpointError) -> AppError {
    match err {
        EndpointError::Database(err) => err.into(),
        EndpointError::Secret(err) => AppError::Internal(err.to_string()),
    }
}

fn checked_url(state: &AppState, url: &str) -> Result<String, AppError> {
    if url.contains('\0') {
        return Err(AppError::Unprocessable(
            "url must not contain a NUL character".into(),
        ));
    }
    let shaped = URL_SHAPE_RE
        .as_ref()
        .is_some_and(|shape| shape.is_match(url));
    if !shaped {
        return Err(AppError::Unprocessable(
            "url must be http(s)://host[:port][/path][?query] with URL characters only".into(),
        ));
    }
    let allow_private = state.services.config.outbound.allow_private;
    check_url(url, allow_private)
        .map(|_| url.to_owned())
        .map_err(|err| AppError::Unprocessable(format!("url {err}")))
}

async fn create(
    state: &AppState,
    scope: Scope,
    body: EndpointIn,
    by: &By,
) -> Result<HttpResponse, AppError> {
    super::input::refuse_nul(&[("description", body.description.as_ref())])?;
    let new = NewEndpoint {
        url: checked_url(state, &body.url)?,
        events: body.events.map(type_names),
        description: body.description,
    };
    let sealer = &state.services.config.secrets;
    let (row, secret) = changes::create(&state.services.db, sealer, scope, new, by)
        .await
        .map_err(endpoint_error)?;
    Ok(HttpResponse::Created().json(EndpointOut::of(row, Some(secret))))
}

async fn list(state: &AppState, scope: Scope) -> Result<HttpResponse, AppError> {
    let rows = endpoints::list(&state.services.db, scope).await?;
    let out: Vec<EndpointOut> = rows.into_iter().map(|r| EndpointOut::of(r, None)).collect();
    Ok(HttpResponse::Ok().json(out))
}

async fn found(
    state: &AppState,
    scope: Scope,
    id: &str,
) -> Result<entity::outbound_endpoint::Model, AppError> {
    let id = super::input::parse_id(id, "endpoint")?;
    endpoints::get(&state.services.db, scope, id)
        .await?
        .ok_or(AppError::NotFound("endpoint"))
}

async fn read(state: &AppState, scope: Scope, id: &str) -> Result<HttpResponse, AppError> {
    let row = found(state, scope, id).await?;
    Ok(HttpResponse::Ok().json(EndpointOut::of(row, None)))
}

async fn patch(
    state: &AppState,
    scope: Scope,
    id: &str,
    body: EndpointPatchIn,
    by: &By,
) -> Result<HttpResponse, AppError> {
    let endpoint = found(state, scope, id).await?;
    let description = body.description.clone().flatten();
    super::input::refuse_nul(&[("description", description.as_ref())])?;
    let change = EndpointPatch {
        url: body.url.map(|url| checked_url(state, &url)).transpose()?,
        events: body.events.map(|types| types.map(type_names)),
        description: body.description,
        disabled: body.disabled,
    };
    let row = changes::update(&state.services.db, scope, endpoint.id, change, by)
        .await?
        .ok_or(AppError::NotFound("endpoint"))?;
    // Enabled again: its waiting messages go now.
    outbox::wake();
    Ok(HttpResponse::Ok().json(EndpointOut::of(row, None)))
}

async fn delete(
    state: &AppState,
    scope: Scope,
    id: &str,
    by: &By,
) -> Result<HttpResponse, AppError> {
    let endpoint = found(state, scope, id).await?;
    changes::delete(&state.services.db, scope, endpoint.id, by).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn rotate(
    state: &AppState,
    scope: Scope,
    id: &str,
    by: &By,
) -> Result<HttpResponse, AppError> {
    let endpoint = found(state, scope, id).await?;
    let sealer = &state.services.config.secrets;
    let (row, secret) = changes::rotate(&state.services.db, sealer, scope, endpoint.id, by)
        .await
        .map_err(endpoint_error)?
        .ok_or(AppError::NotFound("endpoint"))?;
    Ok(HttpResponse::Ok().json(EndpointOut::of(row, Some(secret))))
}

/// `endpoint.test`: a message to this endpoint alone, whatever its filter.
async fn test(state: &AppState, scope: Scope, id: &str, by: &By) -> Result<HttpResponse, AppError> {
    let endpoint = found(state, scope, id).await?;
    let tenant = match scope {
        Scope::Tenant(tenant) => Some(tenant),
        Scope::Platform => None,
    };
    let notice = Notice {
        tenant,
        kind: OutboundType::EndpointTest,
        data: json!({"endpoint_id": endpoint.id, "message": "a test message from Cobro"}),
    };
    let db = &state.services.db;
    let message = changes::send_test(db, scope, endpoint.id, &notice, by).await?;
    outbox::wake();
    let row = messages::get(db, endpoint.id, message)
        .await?
        .ok_or(AppError::Internal("the test message vanished".into()))?;
    Ok(HttpResponse::Accepted().json(MessageOut::of(row)))
}

async fn list_messages(
    state: &AppState,
    scope: Scope,
    id: &str,
    query: MessageListIn,
) -> Result<HttpResponse, AppError> {
    let endpoint = found(state, scope, id).await?;
    let limit = super::page::limit(query.limit)?.unwrap_or(50).clamp(1, 500);
    let status = query.status.map(|s| match s {
        MessageStatusIn::Pending => crate::store::outbound::PENDING,
        MessageStatusIn::Delivered => crate::store::outbound::DELIVERED,
        MessageStatusIn::Failed => crate::store::outbound::FAILED,
    });
    let rows = messages::page(&state.services.db, endpoint.id, status, query.before, limit).await?;
    let out: Vec<MessageOut> = rows.into_iter().map(MessageOut::of).collect();
    Ok(HttpResponse::Ok().json(out))
}

fn message_id(text: &str) -> Result<Uuid, AppError> {
    let id = text.strip_prefix("msg_").unwrap_or(text);
    Uuid::parse_str(id).map_err(|_| AppError::NotFound("message"))
}

async fn read_message(
    state: &AppState,
    scope: Scope,
    id: &str,
    message: &str,
) -> Result<HttpResponse, AppError> {
    let endpoint = found(state, scope, id).await?;
    let db = &state.services.db;
    let row = messages::get(db, endpoint.id, message_id(message)?)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    let attempts = messages::attempts_of(db, row.seq).await?;
    let mut out = MessageOut::of(row);
    out.attempt_history = Some(attempts.into_iter().map(AttemptOut::from).collect());
    Ok(HttpResponse::Ok().json(out))
}

async fn retry_message(
    state: &AppState,
    scope: Scope,
    id: &str,
    message: &str,
    by: &By,
) -> Result<HttpResponse, AppError> {
    let endpoint = found(state, scope, id).await?;
    let attempts = state.services.config.outbound.retry_schedule.attempts();
    let row = changes::retry_message(
        &state.services.db,
        scope,
        endpoint.id,
        message_id(message)?,
        attempts,
        by,
    )
    .await?
    .ok_or(AppError::NotFound("message"))?;
    outbox::wake();
    Ok(HttpResponse::Accepted().json(MessageOut::of(row)))
}

async fn retry_failed(
    state: &AppState,
    scope: Scope,
    id: &str,
    by: &By,
) -> Result<HttpResponse, AppError> {
    let endpoint = found(state, scope, id).await?;
    let attempts = state.services.config.outbound.retry_schedule.attempts();
    let retried =
        changes::retry_failed(&state.services.db, scope, endpoint.id, attempts, by).await?;
    outbox::wake();
    Ok(HttpResponse::Accepted().json(RetriedOut { retried }))
}
