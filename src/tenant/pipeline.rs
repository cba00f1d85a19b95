//! One processing attempt of one event (SPEC §6 steps 1–7). The tenant actor calls
//! [`run_attempt`] for one event at a time; this module owns the order of the steps, the retry
//! decision and the status broadcasts, and leaves queries to `store` and rules to `domain`.

use std::time::Instant;

use chrono::{DateTime, Utc};
use entity::{payment, webhook_event};
use serde_json::json;
use tracing::{Instrument, info, info_span, warn};
use uuid::Uuid;

use super::failure::Failure;
use super::limits::Limiters;
use super::tagging::{ghl_settings, tag_buyer};
use crate::cluster::{Fence, FenceToken};
use crate::domain::{PaymentStatus, TenantId, map_mp_status};
use crate::mercadopago::MpPayment;
use crate::publish::{PaymentStatusUpdated, StatusUpdate, WebhookEventUpdated};
use crate::services::Services;
use crate::writer::{self as record, Claimed, WriteError};

/// What the actor must do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Succeeded,
    /// The event was not pending (already done, failed, or taken): nothing happened.
    Skipped,
    RetryAt(DateTime<Utc>),
    Failed,
    /// Cluster: the tenant's lease moved (or this node's clock ran out) mid-attempt; nothing more
    /// was called or written, and the new owner takes the event up again.
    LeaseLost,
}

/// Why an attempt stopped before `success`.
enum Stop {
    Failed(Failure),
    LeaseLost,
}

impl From<Failure> for Stop {
    fn from(failure: Failure) -> Self {
        Stop::Failed(failure)
    }
}

impl From<WriteError> for Stop {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::Database(err) => Stop::Failed(Failure::from_db(err)),
            WriteError::LeaseLost(_) => Stop::LeaseLost,
        }
    }
}

/// Runs an outbound call under the tenant's lease (cluster), or as it is (single node).
async fn guarded<F: std::future::Future>(
    fence: Option<&Fence>,
    call: F,
) -> Result<F::Output, Stop> {
    match fence {
        Some(fence) => fence.guard(call).await.map_err(|_| Stop::LeaseLost),
        None => Ok(call.await),
    }
}

/// What a successful attempt produced, for the final write and the broadcasts.
struct Processed {
    payment: payment::Model,
    mp: MpPayment,
    mapped_order_status: Option<&'static str>,
    event: webhook_event::Model,
    next: Option<Claimed>,
}

/// How an attempt begins: with its event still to claim, or with the event already claimed by
/// the write that ended the tenant's previous attempt (one writer cycle per event, not two).
pub enum Start {
    Claim(Uuid),
    Claimed(Box<webhook_event::Model>),
}

/// An attempt's outcome, and the tenant's next event when the attempt's last write claimed it.
pub struct Attempt {
    pub outcome: AttemptOutcome,
    pub next: Option<Claimed>,
}

impl Attempt {
    fn alone(outcome: AttemptOutcome) -> Self {
        Self {
            outcome,
            next: None,
        }
    }
}

/// The tenant's next queued event, kept current by its actor while an attempt runs: the write
/// that ends the attempt claims it too, read at the moment that write is made.
pub type NextUp = tokio::sync::watch::Receiver<Option<Uuid>>;

/// Runs one attempt. The write that ends it also claims the event `next_up` names then, and
/// [`Attempt::next`] answers whether it could.
pub async fn run_attempt(
    svc: &Services,
    limits: &Limiters,
    tenant: TenantId,
    start: Start,
    next_up: NextUp,
    fence: Option<&Fence>,
) -> Attempt {
    let event_id = match &start {
        Start::Claim(id) => *id,
        Start::Claimed(event) => event.id,
    };
    let span =
        info_span!("attempt", %tenant, event = %event_id, mp_payment = tracing::field::Empty);
    async move {
        let started = Instant::now();
        let lease = fence.map(Fence::token);
        let event = match start {
            Start::Claimed(event) => *event,
            Start::Claim(id) => match svc.writer.claim(lease, id).await {
                Ok(Some(event)) => event,
                Ok(None) => return Attempt::alone(AttemptOutcome::Skipped),
                Err(WriteError::LeaseLost(_)) => return Attempt::alone(AttemptOutcome::LeaseLost),
                Err(err) => {
                    warn!(error = %err, "could not claim event; recovery will pick it up");
                    return Attempt::alone(AttemptOutcome::Skipped);
                }
            },
        };
        tracing::Span::current().record("mp_payment", event.mp_payment_id.as_str());
        publish_event(svc, tenant, &event);
        let steps = Steps {
            svc,
            limits,
            fence,
            tenant,
            next_up,
        };
        let attempt = match steps.process(&event, started).await {
            Ok(done) => publish_success(svc, tenant, done),
            Err(Stop::LeaseLost) => Attempt::alone(AttemptOutcome::LeaseLost),
            Err(Stop::Failed(failure)) => {
                let elapsed_ms = record::elapsed_ms(started);
                steps.finish_failure(&event, failure, elapsed_ms).await
            }
        };
        record_metrics(attempt.outcome, started.elapsed());
        attempt
    }
    .instrument(span)
    .await
}

fn record_metrics(outcome: AttemptOutcome, elapsed: std::time::Duration) {
    let result = match outcome {
        AttemptOutcome::Succeeded => "success",
        AttemptOutcome::RetryAt(_) => {
            metrics::counter!("cobro_retries_total").increment(1);
            "retry"
        }
        AttemptOutcome::Failed => {
            metrics::counter!("cobro_events_failed_total").increment(1);
            "failed"
        }
        AttemptOutcome::Skipped | AttemptOutcome::LeaseLost => return,
    };
    metrics::histogram!("cobro_processing_duration_seconds", "result" => result)
        .record(elapsed.as_secs_f64());
}

/// What the steps of one attempt share.
struct Steps<'a> {
    svc: &'a Services,
    limits: &'a Limiters,
    fence: Option<&'a Fence>,
    tenant: TenantId,
    next_up: NextUp,
}

impl Steps<'_> {
    fn lease(&self) -> Option<FenceToken> {
        self.fence.map(Fence::token)
    }

    fn then_claim(&self) -> Option<Uuid> {
        *self.next_up.borrow()
    }

    /// Steps 2–7: fetch, check, store, move the order, tag, mark `success`.
    async fn process(
        &self,
        event: &webhook_event::Model,
        started: Instant,
    ) -> Result<Processed, Stop> {
        let (svc, limits, fence, lease) = (self.svc, self.limits, self.fence, self.lease());
        let tenant = svc
            .directory
            .get(self.tenant)
            .await
            .map_err(Failure::from_db)?
            .ok_or_else(|| Failure::permanent("the tenant was deleted", json!({})))?;
        let payment_id = event.mp_payment_id.as_str();
        let fetch = async {
            limits.mp.until_ready().await;
            svc.mp
                .get_payment(&tenant.mp_access_token, payment_id)
                .await
        };
        let mp = guarded(fence, fetch)
            .await?
            .map_err(|e| Failure::from_mp(e, payment_id))?;
        check_collector(&mp, &tenant.mp_user_id)?;
        let (status, order_target) = map_mp_status(mp.status.as_deref().unwrap_or_default());
        let tagging = ghl_settings(&tenant).filter(|_| status == PaymentStatus::Approved);
        let update = record::PaymentUpdate {
            tenant: self.tenant,
            event_id: event.id,
            payment_id: payment_id.to_owned(),
            mp: mp.clone(),
            status,
            order_target,
            wants_tag: tagging.is_some(),
            started,
        };
        let stored = svc
            .writer
            .store_payment(lease, update, self.then_claim())
            .await?;
        let (event, next) = match (stored.finished, tagging) {
            (Some(finished), _) => (finished, stored.next),
            (None, settings) => {
                if let Some(settings) = settings {
                    let tag = tag_buyer(svc, limits, &settings, &mp);
                    if let Some(contact) = guarded(fence, tag).await?? {
                        // Recorded at once, so a replay never tags again.
                        svc.writer
                            .mark_tagged(lease, stored.payment.id, contact)
                            .await?;
                    }
                }
                let finished = svc
                    .writer
                    .mark_success(
                        lease,
                        event.id,
                        stored.payment.id,
                        started,
                        self.then_claim(),
                    )
                    .await?;
                (finished.event, finished.next)
            }
        };
        Ok(Processed {
            payment: stored.payment,
            mp,
            mapped_order_status: order_target.map(|o| o.as_str()),
            event,
            next,
        })
    }

    /// A failed attempt: retry on the schedule, or fail for good (permanent, or attempts used up).
    async fn finish_failure(
        &self,
        event: &webhook_event::Model,
        failure: Failure,
        elapsed_ms: i64,
    ) -> Attempt {
        let svc = self.svc;
        let next_retry_at = next_retry_at(svc, event, &failure);
        let mut details = failure.details.clone();
        details["permanent"] = json!(failure.permanent);
        let failed = record::AttemptFailed {
            event_id: event.id,
            next_retry_at,
            message: failure.message.clone(),
            details,
            processing_ms: elapsed_ms,
        };
        let update = svc
            .writer
            .attempt_failed(self.lease(), failed, self.then_claim())
            .await;
        if matches!(update, Err(WriteError::LeaseLost(_))) {
            warn!(error = %failure.message, "attempt failed after the lease moved; the new owner retries it");
            return Attempt::alone(AttemptOutcome::LeaseLost);
        }
        match (&update, next_retry_at) {
            (Ok(_), Some(at)) => {
                warn!(error = %failure.message, retry_at = %at, "attempt failed; will retry")
            }
            (Ok(_), None) => {
                warn!(error = %failure.message, permanent = failure.permanent, "event failed")
            }
            (Err(err), _) => {
                warn!(error = %err, "could not record the failed attempt; recovery will retry")
            }
        }
        let next = match update {
            Ok(finished) => {
                publish_event(svc, self.tenant, &finished.event);
                finished.next
            }
            Err(_) => None,
        };
        let outcome = match next_retry_at {
            Some(at) => AttemptOutcome::RetryAt(at),
            None => AttemptOutcome::Failed,
        };
        Attempt { outcome, next }
    }
}

/// Step 3: the body is not signed, so the payment must belong to the tenant that was notified.
fn check_collector(mp: &MpPayment, mp_user_id: &str) -> Result<(), Failure> {
    if mp.collector_id.as_deref() == Some(mp_user_id) {
        return Ok(());
    }
    let found = mp.collector_id.as_deref().unwrap_or("none");
    Err(Failure::permanent(
        format!(
            "collector mismatch: the payment belongs to collector {found}, not to this tenant ({mp_user_id})"
        ),
        json!({ "collector_id": found, "mp_user_id": mp_user_id }),
    ))
}

/// Step 7's broadcasts, once the success is committed.
fn publish_success(svc: &Services, tenant: TenantId, mut done: Processed) -> Attempt {
    info!(processing_ms = done.event.processing_ms, status = %done.payment.status, "event processed");
    svc.publisher
        .publish(tenant, StatusUpdate::Payment(payment_update(tenant, &done)));
    publish_event(svc, tenant, &done.event);
    Attempt {
        outcome: AttemptOutcome::Succeeded,
        next: done.next.take(),
    }
}

/// `now + schedule[k]`, where `k` counts the attempts made since the schedule last started (a
/// manual retry starts it again); `None` when no attempt is left or the failure is permanent.
fn next_retry_at(
    svc: &Services,
    event: &webhook_event::Model,
    failure: &Failure,
) -> Option<DateTime<Utc>> {
    let remaining = event.max_attempts - event.attempts;
    if failure.permanent || remaining <= 0 {
        return None;
    }
    let delays = svc.config.retry_schedule.delays();
    let index = delays
        .len()
        .saturating_sub(usize::try_from(remaining).unwrap_or(0));
    let delay = delays.get(index).copied().unwrap_or_default();
    let delay = failure.retry_after.map_or(delay, |ra| ra.max(delay));
    Some(Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default())
}

fn publish_event(svc: &Services, tenant: TenantId, event: &webhook_event::Model) {
    svc.publisher.publish(
        tenant,
        StatusUpdate::Event(WebhookEventUpdated::from(event)),
    );
}

fn payment_update(tenant: TenantId, done: &Processed) -> PaymentStatusUpdated {
    let mp = &done.mp;
    PaymentStatusUpdated {
        tenant_id: tenant,
        order_id: mp.external_reference.clone(),
        mapped_order_status: done.mapped_order_status.map(str::to_owned),
        transaction_amount: mp.transaction_amount,
        currency_id: mp.currency_id.clone(),
        mp_payment_id: mp
            .numeric_id()
            .or_else(|| done.payment.mp_payment_id.parse().ok()),
        mp_status_detail: mp.status_detail.clone(),
        customer_email: mp.payer_email.clone(),
        customer_name: mp.payer_name.clone(),
        payment_method: mp.payment_method.clone(),
        date_approved: mp.date_approved.clone(),
    }
}
