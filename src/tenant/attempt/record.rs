//! Step 6 when an attempt fails: the failed attempt's record, when it is retried (the retry
//! policy, `domain::retry`), what the actor does next, and the metrics of every outcome.

use std::time::Instant;

use chrono::{DateTime, Utc};
use entity::webhook_event;
use serde_json::json;
use tracing::warn;

use super::{AttemptOutcome, Steps};
use crate::domain::EventId;
use crate::tenant::failure::Failure;
use crate::tenant::processing::Processing;
use crate::writer::{self as record, Claimed, WriteError};

impl Steps<'_> {
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
            event_id: EventId(event.id),
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
        then_claim: Vec<EventId>,
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
}

pub fn record_metrics(outcome: AttemptOutcome, elapsed: std::time::Duration) {
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
