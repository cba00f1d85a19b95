//! `POST /webhooks/mp`: the acknowledgement path. It validates, verifies, persists and hands the
//! event to the tenant supervisor, and never calls MercadoPago or GoHighLevel. Every refusal
//! happens before the single write, and `accepted` is answered only after that write committed.

pub mod classify;
pub mod directory;
pub mod schema;

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tracing::{info, warn};
use uuid::Uuid;

use crate::domain::{EventStatus, TenantId};
use crate::error::{AppError, ErrorBody};
use crate::mercadopago::signature;
use crate::publish::{StatusUpdate, WebhookEventUpdated};
use crate::state::AppState;
use crate::store::events::{NewEvent, Stored};
use crate::tenant::Enqueue;
use classify::{Classified, PaymentNotification, classify};
use schema::WebhookOut;

/// SPEC §5: bodies over 64 KiB are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/webhooks/mp").route(web::post().to(receive)));
}

/// What ingest decided, before it becomes an HTTP answer.
enum Outcome {
    Accepted(Uuid),
    Duplicate(Uuid),
    Ignored(String),
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Outcome::Accepted(_) => "accepted",
            Outcome::Duplicate(_) => "duplicate",
            Outcome::Ignored(_) => "ignored",
        }
    }

    fn into_response(self) -> HttpResponse {
        let label = self.label().to_owned();
        let (event_id, reason) = match self {
            Outcome::Accepted(id) | Outcome::Duplicate(id) => (Some(id), None),
            Outcome::Ignored(reason) => (None, Some(reason)),
        };
        HttpResponse::Ok().json(WebhookOut {
            status: label,
            event_id,
            reason,
        })
    }
}

/// The metrics label of a refusal.
fn refusal_label(err: &AppError) -> &'static str {
    match err {
        AppError::BadRequest(_) => "bad_request",
        AppError::PayloadTooLarge { .. } => "too_large",
        AppError::Unauthorized(_) => "unauthorized",
        AppError::RateLimited { .. } => "rate_limited",
        _ => "error",
    }
}

#[tracing::instrument(name = "webhook", skip_all, fields(tenant, mp_payment, outcome))]
#[utoipa::path(post, path = "/webhooks/mp", tag = "webhooks",
    params(("data.id" = Option<String>, Query, description = "the payment id, part of the signed manifest"), ("type" = Option<String>, Query), ("x-signature" = Option<String>, Header, description = "ts=...,v1=... (MERCADOPAGO.md)"), ("x-request-id" = Option<String>, Header)),
    request_body(content = schema::NotificationIn, content_type = "application/json"),
    responses((status = 200, description = "accepted, duplicate or ignored", body = WebhookOut),
        (status = 400, description = "not a JSON object", body = ErrorBody),
        (status = 401, description = "signature refused", body = ErrorBody),
        (status = 413, description = "over 64 KiB", body = ErrorBody),
        (status = 429, description = "tenant over its ingest rate; see Retry-After", body = ErrorBody),
        (status = 500, description = "the event could not be stored; MercadoPago will retry", body = ErrorBody)))]
pub(crate) async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let result = ingest(&req, payload, &state).await;
    let label = match &result {
        Ok(outcome) => outcome.label(),
        Err(err) => refusal_label(err),
    };
    tracing::Span::current().record("outcome", label);
    metrics::counter!("cobro_webhooks_received_total", "outcome" => label).increment(1);
    match &result {
        Ok(Outcome::Ignored(reason)) => info!(%reason, "webhook ignored"),
        Ok(Outcome::Accepted(event)) => info!(%event, "webhook accepted"),
        Ok(Outcome::Duplicate(event)) => info!(%event, "duplicate webhook"),
        Err(err) => warn!(reason = %err, "webhook refused"),
    }
    result.map(Outcome::into_response)
}

async fn ingest(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Outcome, AppError> {
    let body = read_body(req, payload).await?;
    let notification = match classify(&body).map_err(|e| AppError::BadRequest(e.to_string()))? {
        Classified::Payment(n) => n,
        Classified::Ignored(reason) => return Ok(Outcome::Ignored(reason)),
    };
    let span = tracing::Span::current();
    span.record("mp_payment", notification.data_id.as_str());
    let Some(tenant) = state.services.directory.find(&notification.user_id).await? else {
        return Ok(Outcome::Ignored("unknown tenant".into()));
    };
    let tenant_id = TenantId(tenant.id);
    span.record("tenant", tracing::field::display(tenant_id));
    authenticate(req, state, &tenant, &notification)?;
    state.check_ingest_rate(tenant_id)?;
    let new = new_event(req, state, tenant_id, notification);
    let first_update = pending_update(&new);
    let stored = state
        .services
        .writer
        .store(new)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    match stored {
        Stored::Accepted(event_id) => {
            let update = WebhookEventUpdated {
                id: event_id,
                ..first_update
            };
            state
                .services
                .publisher
                .publish(tenant_id, StatusUpdate::Event(update));
            state.supervisor.do_send(Enqueue {
                tenant: tenant_id,
                event_id,
                not_before: None,
            });
            Ok(Outcome::Accepted(event_id))
        }
        Stored::Duplicate(event_id) => Ok(Outcome::Duplicate(event_id)),
    }
}

/// The `webhookEventUpdated` of a freshly stored event, so dashboards see it before processing.
fn pending_update(new: &NewEvent) -> WebhookEventUpdated {
    WebhookEventUpdated {
        id: Uuid::nil(),
        status: EventStatus::Pending.as_str().into(),
        attempts: 0,
        max_attempts: new.max_attempts,
        last_error: None,
        next_retry_at: None,
        mp_payment_id: new.mp_payment_id.clone(),
        action: new.action.clone(),
        processing_ms: None,
    }
}

/// Reads the body, refusing with 413 as soon as it passes the limit (by `Content-Length` when
/// sent, else while streaming) so an oversized body is never buffered whole.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<web::BytesMut, AppError> {
    let too_large = AppError::PayloadTooLarge {
        limit: MAX_BODY_BYTES,
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(too_large);
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("could not read body: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The `x-signature` check with the tenant's secret (else the platform's), plus the rule that the
/// signed query `data.id` must be the body's `data.id`, since the body itself is not signed.
fn authenticate(
    req: &HttpRequest,
    state: &AppState,
    tenant: &entity::tenant::Model,
    notification: &PaymentNotification,
) -> Result<(), AppError> {
    let query_data_id = query_param(req, "data.id");
    if query_data_id
        .as_ref()
        .is_some_and(|query_id| *query_id != notification.data_id)
    {
        return Err(AppError::Unauthorized(
            "query data.id does not match body data.id".into(),
        ));
    }
    let secret = tenant.mp_webhook_secret.as_deref().or(state
        .services
        .config
        .mp_webhook_secret
        .as_ref()
        .map(|s| s.expose()));
    let Some(secret) = secret else {
        if tenant.allow_unsigned {
            return Ok(());
        }
        return Err(AppError::Unauthorized(
            "no webhook secret configured for this tenant".into(),
        ));
    };
    if query_data_id.is_none() {
        return Err(AppError::Unauthorized(
            "data.id missing from the query string".into(),
        ));
    }
    signature::check(
        secret.as_bytes(),
        header(req, "x-signature"),
        query_data_id.as_deref(),
        header(req, "x-request-id"),
    )
    .map_err(|e| AppError::Unauthorized(e.to_string()))
}

fn new_event(
    req: &HttpRequest,
    state: &AppState,
    tenant: TenantId,
    n: PaymentNotification,
) -> NewEvent {
    let request_id = header(req, "x-request-id").map(str::to_owned);
    // Dedupe on the body id; without one, on x-request-id; without both, on the exact body.
    let notification_id = match (&n.notification_id, &request_id) {
        (Some(id), _) => id.clone(),
        (None, Some(rid)) => format!("req:{rid}"),
        (None, None) => format!("sha256:{}", hex::encode(Sha256::digest(n.raw.to_string()))),
    };
    NewEvent {
        tenant_id: tenant,
        notification_id,
        request_id,
        webhook_type: "payment".into(),
        action: n.action,
        mp_payment_id: n.data_id,
        raw_payload: n.raw,
        max_attempts: state.services.config.retry_schedule.attempts(),
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}
