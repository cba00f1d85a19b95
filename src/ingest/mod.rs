//! `POST /webhooks/mp` and `POST /webhooks/stripe`: the acknowledgement path, and its row in the
//! delivery log. The provider adapter reads and verifies the webhook (`provider::Provider`);
//! ingest finds the tenant, persists the event and hands it to the tenant supervisor, and never
//! calls a provider or GoHighLevel. Every refusal happens before the single write, and
//! `accepted` is answered only after that write committed.

pub mod delivery_log;
mod event;
pub mod schema;

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use tracing::{info, warn};

use crate::domain::{Classified, EventId, Notification, Tenant, Topic};
use crate::error::{AppError, ErrorBody};
use crate::provider::{Delivery, Provider};
use crate::publish::{StatusUpdate, WebhookEventUpdated};
use crate::state::AppState;
use crate::store::events::{NewEvent, Stored};
use crate::tenant::Enqueue;
use delivery_log::{Draft, Finished};
use schema::WebhookOut;

/// SPEC §5: bodies over 64 KiB are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(Provider::MercadoPago.webhook_path()).route(web::post().to(receive)))
        .service(
            web::resource(Provider::Stripe.webhook_path()).route(web::post().to(receive_stripe)),
        );
}

/// What ingest decided, before it becomes an HTTP answer.
enum Outcome {
    Accepted(EventId),
    Duplicate(EventId),
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
            Outcome::Accepted(id) | Outcome::Duplicate(id) => (Some(id.0), None),
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
        AppError::Unauthorized(_) | AppError::BadSignature(_) => "unauthorized",
        AppError::RateLimited { .. } => "rate_limited",
        _ => "error",
    }
}

#[tracing::instrument(
    name = "webhook",
    skip_all,
    fields(provider = "mercadopago", tenant, mp_payment, outcome)
)]
#[utoipa::path(post, path = "/webhooks/mp", tag = "webhooks",
    params(("data.id" = Option<String>, Query, description = "the resource's id (a payment, an order ORD01…, a chargeback, a claim), part of the signed manifest; absent for a fraud alert"), ("type" = Option<String>, Query), ("x-signature" = Option<String>, Header, description = "ts=...,v1=... (MERCADOPAGO.md)"), ("x-request-id" = Option<String>, Header)),
    request_body(content = schema::NotificationIn, content_type = "application/json"),
    responses((status = 200, description = "accepted, duplicate or ignored", body = WebhookOut),
        (status = 400, description = "not a JSON object, or a text in it holds a NUL character", body = ErrorBody),
        (status = 401, description = "signature refused", body = ErrorBody),
        (status = 413, description = "over 64 KiB", body = ErrorBody),
        (status = 429, description = "tenant over its ingest rate; see Retry-After", body = ErrorBody),
        (status = 500, description = "the event could not be stored; MercadoPago will retry", body = ErrorBody)))]
pub(crate) async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    receive_from(Provider::MercadoPago, req, payload, state).await
}

#[tracing::instrument(
    name = "webhook",
    skip_all,
    fields(provider = "stripe", tenant, mp_payment, outcome)
)]
#[utoipa::path(post, path = "/webhooks/stripe", tag = "webhooks",
    params(("Stripe-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">; several v1 during a rotation (SPEC §19)")),
    request_body(content = schema::StripeEventIn, content_type = "application/json"),
    responses((status = 200, description = "accepted, duplicate or ignored (livemode mismatch, unknown account, unsupported type: <type>)", body = WebhookOut),
        (status = 400, description = "not a JSON object with id, type and data.object, or a text in it holds a NUL character", body = ErrorBody),
        (status = 401, description = "no or malformed Stripe-Signature, no v1 matching under any configured secret, or t outside the tolerance: code bad_signature", body = ErrorBody),
        (status = 413, description = "over 64 KiB", body = ErrorBody),
        (status = 429, description = "tenant over its ingest rate; see Retry-After", body = ErrorBody),
        (status = 500, description = "the event could not be stored; Stripe will retry", body = ErrorBody)))]
pub(crate) async fn receive_stripe(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    receive_from(Provider::Stripe, req, payload, state).await
}

/// A provider's webhook: answered, counted, logged by outcome and written to the delivery log.
async fn receive_from(
    provider: Provider,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let mut draft = Draft::begin(provider, &req);
    let result = ingest(provider, &req, payload, &state, &mut draft).await;
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
    if !draft.written_with_event {
        let finished = match &result {
            Ok(Outcome::Ignored(reason)) => Ok(Finished::Ignored(reason.clone())),
            Ok(Outcome::Accepted(event)) => Ok(Finished::Stored {
                duplicate: false,
                event: *event,
            }),
            Ok(Outcome::Duplicate(event)) => Ok(Finished::Stored {
                duplicate: true,
                event: *event,
            }),
            Err(err) => Err(err),
        };
        let authenticated = draft.authenticated && finished.is_ok();
        let row = draft.finish(finished);
        state
            .delivery_log
            .append(&state.services.writer, row, authenticated);
    }
    result.map(Outcome::into_response)
}

async fn ingest(
    provider: Provider,
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    draft: &mut Draft,
) -> Result<Outcome, AppError> {
    let body = read_body(req, payload, draft).await?;
    let config = &state.services.config;
    provider
        .verify_delivery(&body, req, config)
        .map_err(|refused| AppError::BadSignature(refused.0))?;
    let read = provider.read_webhook(&body, req, config);
    let notification = match read.map_err(|e| AppError::BadRequest(e.to_string()))? {
        Classified::Payment(n) => n,
        Classified::Ignored(reason) => {
            let seller_known = attribute_ignored(provider, req, state, &body, draft).await;
            return Ok(Outcome::Ignored(ignored_reason(
                provider,
                reason,
                seller_known,
            )));
        }
    };
    draft.about(
        Some(event::webhook_type(provider, &notification)),
        Some(notification.action.clone()),
        Some(notification.resource_id.clone()),
    );
    if crate::domain::holds_nul(&notification.raw) {
        return Err(AppError::BadRequest(
            "body holds a NUL character (\\u0000), which cannot be stored".into(),
        ));
    }
    let span = tracing::Span::current();
    span.record("mp_payment", notification.resource_id.as_str());
    let directory = &state.services.directory;
    let account = &notification.seller_account_id;
    let Some(tenant) = directory.find(provider, account).await? else {
        return Ok(Outcome::Ignored(provider.unknown_seller().into()));
    };
    let tenant_id = tenant.id;
    span.record("tenant", tracing::field::display(tenant_id));
    draft.tenant(tenant_id, false);
    authenticate(provider, req, state, &tenant, &notification)?;
    draft.tenant(tenant_id, true);
    state.check_ingest_rate(tenant_id)?;
    let topic = notification.topic;
    let max_attempts = state.services.config.retry_schedule.attempts();
    let received = draft.received();
    // This request's webhook span: every attempt of the event continues its trace.
    let trace = crate::telemetry::trace_context::current();
    let new = event::new_event(
        tenant_id,
        provider,
        notification,
        received,
        trace,
        max_attempts,
    );
    if let Topic::Connection { authorized } = topic {
        draft.body(new.raw_payload.clone());
        let outcome = record_connection_notice(state, &new, authorized).await?;
        // Accepted, the event row is the delivery's record; a duplicate is logged as usual.
        draft.written_with_event = matches!(outcome, Outcome::Accepted(_));
        return Ok(outcome);
    }
    let first_update = event::pending_update(&new);
    let stored = state
        .services
        .writer
        .store(new)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    // Accepted, the event row is the delivery's record; a duplicate's row was written with it.
    draft.written_with_event = true;
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
                urgent: topic == Topic::FraudAlert,
            });
            Ok(Outcome::Accepted(event_id))
        }
        Stored::Duplicate(event_id) => Ok(Outcome::Duplicate(event_id)),
    }
}

/// The reason an ignored body is answered with: the adapter's, except that a provider whose
/// answer table puts the seller first (Stripe) says `unknown account` for a seller no tenant
/// holds whatever the type.
fn ignored_reason(provider: Provider, reason: String, seller_known: Option<bool>) -> String {
    match (provider.seller_before_type(), seller_known) {
        (true, Some(false)) => provider.unknown_seller().into(),
        _ => reason,
    }
}

/// An ignored body that names a seller whose signature checks out is that tenant's delivery
/// (with its body) in the log; anything else stays anonymous. Off the hot path: only ignored
/// bodies are read twice. Answers whether a tenant holds the seller the body names (`None`:
/// it names none, or the directory could not say).
async fn attribute_ignored(
    provider: Provider,
    req: &HttpRequest,
    state: &AppState,
    body: &[u8],
    draft: &mut Draft,
) -> Option<bool> {
    let envelope = provider.envelope(body, req)?;
    let kind = envelope
        .raw
        .get("type")
        .and_then(crate::domain::normalize_id);
    draft.about(
        kind,
        Some(envelope.action.clone()),
        envelope.signed_id.clone(),
    );
    let directory = &state.services.directory;
    let found = directory.find(provider, &envelope.seller_account_id).await;
    let tenant = match found {
        Ok(Some(tenant)) => tenant,
        Ok(None) => return Some(false),
        Err(_) => return None,
    };
    if authenticate(provider, req, state, &tenant, &envelope).is_ok()
        && !crate::domain::holds_nul(&envelope.raw)
    {
        draft.tenant(tenant.id, true);
        draft.body(envelope.raw);
    }
    Some(true)
}

/// SPEC §14: an `mp-connect` notice is stored already handled and marks the tenant's connection,
/// in one transaction; the tenant's actor never sees it.
async fn record_connection_notice(
    state: &AppState,
    new: &NewEvent,
    authorized: bool,
) -> Result<Outcome, AppError> {
    let stored = crate::connect::record_notice(&state.services.connector, new, authorized)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(match stored {
        Stored::Accepted(id) => Outcome::Accepted(id),
        Stored::Duplicate(id) => Outcome::Duplicate(id),
    })
}

/// Reads the body, refusing with 413 as soon as it passes the limit (by `Content-Length` when
/// sent, else while streaming) so an oversized body is never buffered whole.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    draft: &mut Draft,
) -> Result<web::BytesMut, AppError> {
    let too_large = AppError::PayloadTooLarge {
        limit: MAX_BODY_BYTES,
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(len) = declared.filter(|len| *len > MAX_BODY_BYTES) {
        draft.body_bytes(len);
        return Err(too_large);
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("could not read body: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            draft.body_bytes(body.len() + chunk.len());
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    draft.body_bytes(body.len());
    Ok(body)
}

/// The provider's signature check under the webhook secret of the tenant's account there, else
/// the platform's; with neither, only a tenant that allows unsigned webhooks gets through (and
/// the provider's checks that need no secret still run).
fn authenticate(
    provider: Provider,
    req: &HttpRequest,
    state: &AppState,
    tenant: &Tenant,
    notification: &Notification,
) -> Result<(), AppError> {
    let platform_secret = match provider {
        Provider::MercadoPago => state.services.config.mp_webhook_secret.as_ref(),
        // Stripe's signature is the platform endpoint's, checked over the raw body before the
        // body was read (`Provider::verify_delivery`); nothing of the tenant's is left to check.
        Provider::Stripe => return Ok(()),
    };
    let own_secret = tenant
        .account(provider)
        .and_then(|account| account.webhook_secret.as_deref());
    let secret = own_secret.or(platform_secret.map(|s| s.expose()));
    if secret.is_none() && !tenant.allow_unsigned {
        return Err(AppError::Unauthorized(
            "no webhook secret configured for this tenant".into(),
        ));
    }
    provider
        .verify_webhook(req, notification, secret.map(str::as_bytes))
        .map_err(|e| AppError::Unauthorized(e.0))
}

/// What a provider may read of the request: headers and query parameters, as text.
impl Delivery for HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name).and_then(|v| v.to_str().ok())
    }

    fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query_string().as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }
}
