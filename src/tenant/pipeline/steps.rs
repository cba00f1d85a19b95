//! The steps of one event's attempt (SPEC §6 steps 2–7) and what follows each outcome: fetching
//! and checking the payment, the serial path of a payment whose buyer must be tagged, the record
//! of a failed attempt with its retry decision, and the status broadcasts. [`super::run_batch`]
//! decides when each runs; queries are `store`'s (through the writer), rules are `domain`'s.

use std::time::Instant;

use chrono::{DateTime, Utc};
use entity::webhook_event;
use serde_json::json;
use tracing::{info, warn};
use uuid::Uuid;

use super::AttemptOutcome;
use crate::domain::{PaymentSnapshot, PaymentStatus, TenantId};
use crate::ghl::GhlSettings;
use crate::lease::{Fence, FenceToken};
use crate::provider::Provider;
use crate::publish::{PaymentStatusUpdated, StatusUpdate, WebhookEventUpdated};
use crate::store::payments::StoredPayment;
use crate::tenant::credentials;
use crate::tenant::failure::{self, Failure};
use crate::tenant::limits::Limiters;
use crate::tenant::processing::Processing;
use crate::tenant::tagging::{ghl_settings, tag_buyer};
use crate::writer::{self as record, Claimed, WriteError};

/// Why an attempt stopped before `success`.
pub(super) enum Stop {
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
            WriteError::Database(err) => Stop::Failed(failure::from_db(err)),
            WriteError::LeaseLost(_) => Stop::LeaseLost,
        }
    }
}

/// Runs an outbound call under the tenant's lease (cluster), or as it is (single node).
pub(super) async fn guarded<F: std::future::Future>(
    fence: Option<&Fence>,
    call: F,
) -> Result<F::Output, Stop> {
    match fence {
        Some(fence) => fence.guard(call).await.map_err(|_| Stop::LeaseLost),
        None => Ok(call.await),
    }
}

/// Steps 2–3 done: the payment as its provider answered it and the write that stores it.
pub(super) struct Fetched {
    pub update: record::PaymentUpdate,
    pub snapshot: PaymentSnapshot,
    /// The tenant's GoHighLevel settings, when this payment's buyer is to be tagged.
    pub tagging: Option<GhlSettings>,
}

/// A successful attempt, for its broadcasts.
pub(super) struct Processed {
    pub payment: StoredPayment,
    pub snapshot: PaymentSnapshot,
    pub mapped_order_status: Option<&'static str>,
    pub event: webhook_event::Model,
}

/// What the steps of a tenant's attempts share.
pub(super) struct Steps<'a> {
    pub svc: &'a Processing,
    pub limits: &'a Limiters,
    pub fence: Option<&'a Fence>,
    pub tenant: TenantId,
}

impl Steps<'_> {
    pub fn lease(&self) -> Option<FenceToken> {
        self.fence.map(Fence::token)
    }

    /// An outbound call under this tenant's lease.
    pub async fn guarded<F: std::future::Future>(&self, call: F) -> Result<F::Output, Stop> {
        guarded(self.fence, call).await
    }

    /// Steps 2–3: wait for the tenant's provider limiter, fetch the payment (its provider maps
    /// the status), and check that it is the tenant's.
    pub async fn fetch(
        &self,
        event: &webhook_event::Model,
        started: Instant,
    ) -> Result<Fetched, Stop> {
        let (svc, limits) = (self.svc, self.limits);
        let tenant = svc
            .directory
            .get(self.tenant)
            .await
            .map_err(failure::from_db)?
            .ok_or_else(|| Failure::permanent("the tenant was deleted", json!({})))?;
        let payment_id = event.mp_payment_id.as_str();
        let provider = Provider::of_tenant(&tenant);
        credentials::usable(&tenant)?;
        let fetch = async {
            limits.provider.until_ready().await;
            let token = &tenant.mp_access_token;
            let first = svc
                .providers
                .fetch_payment(provider, token, payment_id)
                .await;
            match first {
                Err(refused) if credentials::worth_refreshing(&tenant, &refused) => {
                    let fresh = credentials::refreshed(svc, self.tenant, token, refused).await?;
                    limits.provider.until_ready().await;
                    svc.providers
                        .fetch_payment(provider, &fresh, payment_id)
                        .await
                }
                other => other,
            }
        };
        let snapshot = guarded(self.fence, fetch).await??;
        check_seller(&snapshot, &tenant.mp_user_id)?;
        let approved = snapshot.status == PaymentStatus::Approved;
        let tagging = ghl_settings(&tenant).filter(|_| approved);
        let update = record::PaymentUpdate {
            tenant: self.tenant,
            event_id: event.id,
            payment_id: payment_id.to_owned(),
            snapshot: snapshot.clone(),
            wants_tag: tagging.is_some(),
            started,
        };
        Ok(Fetched {
            update,
            snapshot,
            tagging,
        })
    }

    /// Steps 4–7 of a payment whose buyer may need a tag, one write after the other: the payment
    /// is stored, the buyer tagged and the tag recorded (so a replay never tags again), then the
    /// event marked `success` together with the claim of `then_claim`.
    pub async fn store_and_tag(
        &self,
        event: &webhook_event::Model,
        fetched: Fetched,
        then_claim: Vec<Uuid>,
    ) -> Result<(Processed, Vec<Claimed>), Stop> {
        let (svc, lease) = (self.svc, self.lease());
        let Fetched {
            update,
            snapshot,
            tagging,
        } = fetched;
        let (started, order_target) = (update.started, update.order_target());
        let stored = svc.writer.store_payment(lease, update, Vec::new()).await?;
        let (event, next) = match stored.finished {
            Some(finished) => (finished, Vec::new()),
            None => {
                let mut tagged = false;
                if let Some(settings) = tagging {
                    let tag = tag_buyer(svc, self.limits, &settings, &snapshot);
                    if let Some(contact) = guarded(self.fence, tag).await?? {
                        svc.writer
                            .mark_tagged(lease, stored.payment.id, contact)
                            .await?;
                        tagged = true;
                    }
                }
                let payment = stored.payment.id;
                let success = svc.writer.mark_success(
                    lease,
                    event.id,
                    Some(payment),
                    started,
                    tagged,
                    then_claim,
                );
                let finished = success.await?;
                (finished.event, finished.next)
            }
        };
        let processed = Processed {
            payment: stored.payment,
            snapshot,
            mapped_order_status: order_target.map(|o| o.as_str()),
            event,
        };
        Ok((processed, next))
    }

    /// The record of a failed attempt, and when it is retried (`None`: never).
    pub fn failed_attempt(
        &self,
        event: &webhook_event::Model,
        failure: &Failure,
        started: Instant,
    ) -> record::AttemptFailed {
        let mut details = failure.details.clone();
        details["permanent"] = json!(failure.permanent);
        record::AttemptFailed {
            event_id: event.id,
            next_retry_at: next_retry_at(self.svc, event, failure),
            message: failure.message.clone(),
            details,
            processing_ms: record::elapsed_ms(started),
        }
    }

    /// Writes a failed attempt (claiming `then_claim` with it) and answers what follows.
    pub async fn record_failure(
        &self,
        event: &webhook_event::Model,
        failure: Failure,
        started: Instant,
        then_claim: Vec<Uuid>,
    ) -> (AttemptOutcome, Vec<Claimed>) {
        let failed = self.failed_attempt(event, &failure, started);
        let retry_at = failed.next_retry_at;
        let written = self
            .svc
            .writer
            .attempt_failed(self.lease(), failed, then_claim)
            .await;
        self.failure_recorded(&failure, retry_at, written)
    }

    /// A failed attempt's write answered: logs it, broadcasts the event, and answers the outcome
    /// (a retry on the schedule, or failed for good) and the events claimed with the write.
    pub fn failure_recorded(
        &self,
        failure: &Failure,
        retry_at: Option<DateTime<Utc>>,
        written: Result<record::Finished, WriteError>,
    ) -> (AttemptOutcome, Vec<Claimed>) {
        let message = &failure.message;
        let next = match written {
            Err(WriteError::LeaseLost(_)) => {
                warn!(error = %message, "attempt failed after the lease moved; the new owner retries it");
                return (AttemptOutcome::LeaseLost, Vec::new());
            }
            Err(err) => {
                warn!(error = %err, "could not record the failed attempt; recovery will retry");
                Vec::new()
            }
            Ok(finished) => {
                match retry_at {
                    Some(at) => {
                        warn!(error = %message, retry_at = %at, "attempt failed; will retry")
                    }
                    None => {
                        warn!(error = %message, permanent = failure.permanent, "event failed")
                    }
                }
                self.publish_event(&finished.event);
                finished.next
            }
        };
        let outcome = match retry_at {
            Some(at) => AttemptOutcome::RetryAt(at),
            None => AttemptOutcome::Failed,
        };
        (outcome, next)
    }

    /// Step 7's broadcasts, once the success is committed.
    pub fn publish_success(&self, done: &Processed) -> AttemptOutcome {
        info!(event = %done.event.id, processing_ms = done.event.processing_ms,
            status = %done.payment.status, "event processed");
        let update = payment_update(self.tenant, done);
        self.svc
            .publisher
            .publish(self.tenant, StatusUpdate::Payment(update));
        self.publish_event(&done.event);
        AttemptOutcome::Succeeded
    }

    pub fn publish_event(&self, event: &webhook_event::Model) {
        self.svc.publisher.publish(
            self.tenant,
            StatusUpdate::Event(WebhookEventUpdated::from(event)),
        );
    }
}

pub(super) fn record_metrics(outcome: AttemptOutcome, elapsed: std::time::Duration) {
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

/// Step 3: the body is not signed, so the payment must belong to the tenant that was notified.
pub(super) fn check_seller(payment: &PaymentSnapshot, mp_user_id: &str) -> Result<(), Failure> {
    if payment.seller_account_id.as_deref() == Some(mp_user_id) {
        return Ok(());
    }
    let found = payment.seller_account_id.as_deref().unwrap_or("none");
    Err(Failure::permanent(
        format!(
            "collector mismatch: the payment belongs to collector {found}, not to this tenant ({mp_user_id})"
        ),
        json!({ "collector_id": found, "mp_user_id": mp_user_id }),
    ))
}

/// When the next attempt runs, by the retry policy (`domain::retry`); `None` when no attempt is
/// left or the failure is permanent.
fn next_retry_at(
    svc: &Processing,
    event: &webhook_event::Model,
    failure: &Failure,
) -> Option<DateTime<Utc>> {
    let delay = svc.settings.retry_schedule.next_delay(
        event.attempts,
        event.max_attempts,
        failure.permanent,
        failure.retry_after,
    )?;
    Some(Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default())
}

fn payment_update(tenant: TenantId, done: &Processed) -> PaymentStatusUpdated {
    status_update(
        tenant,
        &done.snapshot,
        &done.payment.mp_payment_id,
        done.mapped_order_status,
    )
}

/// SPEC §10's `paymentStatusUpdated` of a stored payment.
pub(super) fn status_update(
    tenant: TenantId,
    snapshot: &PaymentSnapshot,
    stored_id: &str,
    mapped_order_status: Option<&str>,
) -> PaymentStatusUpdated {
    let mp = snapshot;
    PaymentStatusUpdated {
        tenant_id: tenant,
        order_id: mp.external_reference.clone(),
        mapped_order_status: mapped_order_status.map(str::to_owned),
        transaction_amount: mp.transaction_amount,
        currency_id: mp.currency_id.clone(),
        mp_payment_id: mp.numeric_id().or_else(|| stored_id.parse().ok()),
        payment_id: stored_id.to_owned(),
        provider: crate::provider::Provider::MercadoPago.key().to_owned(),
        mp_status_detail: mp.status_detail.clone(),
        customer_email: mp.payer_email.clone(),
        customer_name: mp.payer_name.clone(),
        payment_method: mp.payment_method.clone(),
        date_approved: mp.date_approved.clone(),
    }
}
