//! Ingest's side of the delivery log (SPEC §18): every request to a webhook path leaves a row,
//! whatever its answer. A [`Draft`] collects what ingest learns of a request as it goes. An
//! accepted webhook's event row is its delivery's record (the event keeps the request's address,
//! size and time: one insert per webhook, not two); a duplicate's row is written by the cycle
//! that found it, in the same commit; every other row is appended with the next webhook cycle
//! without anyone waiting for it.
//!
//! Unauthenticated input is not stored at volume: a row that is not an authenticated delivery
//! of a known tenant (no tenant, a refused signature, an over-rate tenant's 429) is written at
//! most `delivery_log_anon_per_second` times a second; the rest are counted in
//! `cobro_deliveries_unlogged_total`. Bodies are kept only for accepted, duplicate and ignored
//! deliveries of an authenticated tenant; an accepted delivery's body is its event's
//! `raw_payload`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use actix_web::{HttpRequest, ResponseError};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;

use crate::domain::{DeliveryOutcome, EventId, TenantId};
use crate::error::AppError;
use crate::provider::Provider;
use crate::store::deliveries::NewDelivery;
use crate::store::events::Received;
use crate::writer::Writer;

/// The cap on rows of unauthenticated requests.
#[derive(Clone)]
pub struct DeliveryLog {
    /// `None`: such rows are never written (the cap is 0).
    unauthenticated: Option<Arc<DefaultDirectRateLimiter>>,
}

impl DeliveryLog {
    pub fn new(per_second: u32) -> Self {
        let unauthenticated = NonZeroU32::new(per_second)
            .map(|rate| Arc::new(RateLimiter::direct(Quota::per_second(rate))));
        Self { unauthenticated }
    }

    /// Writes the row of a request answered without storing an event (or whose event was stored
    /// elsewhere, a connection notice): through the writer's next webhook cycle, capped unless
    /// it is an authenticated delivery of a known tenant.
    pub fn append(&self, writer: &Writer, row: NewDelivery, authenticated: bool) {
        let admitted = authenticated
            || self
                .unauthenticated
                .as_ref()
                .is_some_and(|limiter| limiter.check().is_ok());
        if !(admitted && writer.log(row)) {
            metrics::counter!("cobro_deliveries_unlogged_total").increment(1);
        }
    }
}

/// What ingest learned of one request so far.
pub struct Draft {
    row: NewDelivery,
    /// The tenant's signature was verified (the row may keep the body and is not capped).
    pub authenticated: bool,
    /// The row went to the writer with the event: nothing is left to write.
    pub written_with_event: bool,
}

impl Draft {
    pub fn begin(provider: Provider, req: &HttpRequest) -> Self {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Self {
            row: NewDelivery {
                received_at: chrono::Utc::now(),
                started: Instant::now(),
                provider: provider.key(),
                tenant_id: None,
                outcome: DeliveryOutcome::Accepted,
                reason: None,
                http_status: 200,
                webhook_type: None,
                action: None,
                resource_id: None,
                request_id: header("x-request-id"),
                remote_addr: req.peer_addr().map(|addr| addr.ip().to_string()),
                body_bytes: 0,
                event_id: None,
                body: None,
            },
            authenticated: false,
            written_with_event: false,
        }
    }

    pub fn body_bytes(&mut self, bytes: usize) {
        self.row.body_bytes = bytes;
    }

    /// What the notification says it is about.
    pub fn about(
        &mut self,
        webhook_type: Option<String>,
        action: Option<String>,
        id: Option<String>,
    ) {
        self.row.webhook_type = webhook_type;
        self.row.action = action.filter(|a| !a.is_empty());
        self.row.resource_id = id.filter(|i| !i.is_empty());
    }

    /// The tenant the request names (`authenticated`: its signature was verified).
    pub fn tenant(&mut self, tenant: TenantId, authenticated: bool) {
        self.row.tenant_id = Some(tenant);
        self.authenticated = authenticated;
    }

    /// The body, kept when the outcome and authentication allow it.
    pub fn body(&mut self, body: Value) {
        self.row.body = Some(body);
    }

    /// What the event row keeps of this request (an accepted event is its delivery's record).
    pub fn received(&self) -> Received {
        Received {
            started: self.row.started,
            remote_addr: self.row.remote_addr.clone(),
            body_bytes: self.row.body_bytes,
        }
    }

    /// The finished row of a request answered without an event of its own: its outcome, the
    /// reason a person reads and the HTTP status.
    pub fn finish(mut self, result: Result<Finished, &AppError>) -> NewDelivery {
        let (outcome, reason, status) = match result {
            Ok(Finished::Ignored(reason)) => (DeliveryOutcome::Ignored, Some(reason), 200),
            Ok(Finished::Stored { duplicate, event }) => {
                self.row.event_id = Some(event);
                let outcome = match duplicate {
                    true => DeliveryOutcome::Duplicate,
                    false => DeliveryOutcome::Accepted,
                };
                (outcome, None, 200)
            }
            Err(err) => (
                refusal(err),
                Some(err.to_string()),
                err.status_code().as_u16(),
            ),
        };
        self.row.outcome = outcome;
        self.row.reason = reason;
        self.row.http_status = status;
        if !(self.authenticated && outcome.keeps_body()) {
            self.row.body = None;
        }
        self.row
    }
}

/// How a request ended, as the delivery log needs it.
pub enum Finished {
    Ignored(String),
    Stored { duplicate: bool, event: EventId },
}

fn refusal(err: &AppError) -> DeliveryOutcome {
    match err {
        AppError::BadRequest(_) => DeliveryOutcome::BadRequest,
        AppError::PayloadTooLarge { .. } => DeliveryOutcome::TooLarge,
        AppError::Unauthorized(_) | AppError::BadSignature(_) => DeliveryOutcome::Refused,
        AppError::RateLimited { .. } => DeliveryOutcome::RateLimited,
        _ => DeliveryOutcome::Error,
    }
}
