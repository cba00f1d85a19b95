//! One (endpoint, tenant) pair's messages, sent one at a time in commit order (SPEC §21): a
//! message that must wait for a retry holds the pair's next ones (the task ends; the relay starts
//! it again when the retry is due), a `failed` one does not. Each attempt is recorded with the
//! message's new state; 410 and five days of failures disable the endpoint and tell the
//! platform-wide endpoints (`endpoint.disabled`).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::Utc;
use entity::outbound_endpoint::Model as Endpoint;
use entity::outbound_message::Model as Message;
use serde_json::json;

use super::send::{Sent, Verdict};
use super::{Pair, Shared};
use crate::domain::OutboundType;
use crate::store::outbound::endpoints;
use crate::store::outbound::messages::{self, After, AttemptRecord};
use crate::store::outbound::outbox::{self, Notice};
use crate::writer::WriteError;

/// Messages read per round.
const BATCH: u64 = 64;
/// How long a busy pair keeps its place among the `concurrency` pairs sent at once.
const TURN: Duration = Duration::from_secs(1);
/// The longest `Retry-After` honoured: a receiver cannot park a pair for longer.
const LONGEST_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Why a pair stopped before its messages were all sent (it is found again by the next look).
#[derive(Debug, thiserror::Error)]
enum PairError {
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
    /// The record was refused (the tenant's lease moved) or the writer failed.
    #[error(transparent)]
    Record(#[from] WriteError),
}

/// How a pair's round ended.
enum Stop {
    /// Nothing to send now: the queue is empty, or its head must wait (a retry not due yet, the
    /// endpoint disabled, the lease gone).
    Done,
    /// Messages were sent: more may have come meanwhile.
    More,
}

/// One attempt made: its record (queued in the writer, committed with the next pipeline cycle),
/// whether the pair may go on, and why the endpoint must be disabled, if it must.
struct Attempted {
    record: Pin<Box<dyn Future<Output = Result<(), WriteError>> + Send>>,
    go_on: bool,
    disable: Option<String>,
}

/// Sends the pair's messages until its queue is empty or its head must wait. The task stays
/// while messages keep coming, so a busy pair does not wait for the relay's next look, but for
/// [`TURN`] at most: then it gives its place to the pairs waiting for one (the next look finds
/// it again).
pub(super) async fn send_pair(shared: &Shared, pair: Pair) {
    let started = std::time::Instant::now();
    loop {
        match round(shared, pair).await {
            Ok(Stop::More) if started.elapsed() < TURN => continue,
            Ok(Stop::More) => return,
            Ok(Stop::Done) => return,
            Err(err) => {
                tracing::warn!(error = %err, endpoint = %pair.0, "outbound pair stopped");
                return;
            }
        }
    }
}

/// Sends the next batch of the pair's messages, in order, until one must wait. Each attempt's
/// record is queued at once and the next message sent without waiting for its commit; the round
/// waits for all of them before the pair reads its queue again, so a message recorded as
/// delivered is never read back as pending. (A crash before they commit sends them again, with
/// their `webhook-id`s, in order.)
async fn round(shared: &Shared, (endpoint_id, tenant): Pair) -> Result<Stop, PairError> {
    let batch = messages::pair_pending(&shared.db, endpoint_id, tenant, BATCH).await?;
    if batch.is_empty() {
        return Ok(Stop::Done);
    }
    let Some(endpoint) = endpoints::by_id(&shared.db, endpoint_id).await? else {
        return Ok(Stop::Done);
    };
    let secrets = match endpoints::signing_secrets(&shared.sealer, &endpoint) {
        Ok(secrets) => secrets,
        Err(err) => {
            tracing::error!(error = %err, endpoint = %endpoint.id, "cannot open an endpoint's secret");
            return Ok(Stop::Done);
        }
    };
    let mut records = Vec::with_capacity(batch.len());
    let mut stop = Stop::More;
    let mut disabling = None;
    for message in &batch {
        if endpoint.disabled || message.next_attempt_at > Utc::now() {
            stop = Stop::Done;
            break;
        }
        let Some(attempted) = send_one(shared, &endpoint, message, &secrets).await else {
            stop = Stop::Done;
            break;
        };
        records.push(attempted.record);
        if !attempted.go_on {
            disabling = attempted.disable;
            stop = Stop::Done;
            break;
        }
    }
    for record in records {
        record.await?;
    }
    if let Some(reason) = disabling {
        disable(shared, &endpoint, &reason).await?;
    }
    Ok(stop)
}

/// Sends one message and queues its record; `None` when this node may not send it (the tenant's
/// lease is another node's, or ran out during the call).
async fn send_one(
    shared: &Shared,
    endpoint: &Endpoint,
    message: &Message,
    secrets: &[String],
) -> Option<Attempted> {
    let fence = shared.fence_of(message.tenant_id).ok()?;
    let sending = shared.sender.send(&endpoint.url, message, secrets);
    let sent = match &fence {
        Some((_, fence)) => fence.guard(sending).await.ok()?,
        None => sending.await,
    };
    let after = after(shared, endpoint, message, &sent);
    let outcome = match &after {
        After::Delivered => "delivered",
        After::RetryAt(_) => "retry",
        After::Failed => "failed",
        After::Held => "disabled",
    };
    metrics::counter!("cobro_outbound_messages_total", "outcome" => outcome).increment(1);
    metrics::histogram!("cobro_outbound_delivery_seconds").record(sent.duration.as_secs_f64());
    let record = AttemptRecord {
        message_seq: message.seq,
        endpoint_id: endpoint.id,
        attempts_before: message.attempts,
        node: fence.as_ref().map(|(node, _)| node.to_string()),
        at: Utc::now(),
        duration_ms: i64::try_from(sent.duration.as_millis()).unwrap_or(i64::MAX),
        http_status: sent.http_status,
        response: sent.response.clone(),
        error: error_of(&sent.verdict),
        after: after.clone(),
        endpoint_was_failing: endpoint.failing_since.is_some(),
    };
    let lease = fence.as_ref().map(|(_, fence)| fence.token());
    Some(Attempted {
        record: Box::pin(shared.writer.record_outbound(lease, record)),
        go_on: matches!(after, After::Delivered | After::Failed),
        disable: disable_reason(shared, endpoint, &sent.verdict),
    })
}

/// The message's state after this attempt.
fn after(shared: &Shared, endpoint: &Endpoint, message: &Message, sent: &Sent) -> After {
    let schedule = &shared.config.retry_schedule;
    let max_attempts = message.max_attempts.unwrap_or_else(|| schedule.attempts());
    match &sent.verdict {
        Verdict::Delivered => After::Delivered,
        Verdict::Gone => After::Held,
        Verdict::Permanent(_) => After::Failed,
        Verdict::Retry { .. } if disable_reason(shared, endpoint, &sent.verdict).is_some() => {
            After::Held
        }
        Verdict::Retry { retry_after, .. } => {
            let wait = retry_after.map(|asked| asked.min(LONGEST_WAIT));
            match schedule.next_delay(message.attempts + 1, max_attempts, false, wait) {
                Some(delay) => {
                    let delay = chrono::Duration::from_std(delay).unwrap_or_default();
                    After::RetryAt(Utc::now() + delay)
                }
                None => After::Failed,
            }
        }
    }
}

fn error_of(verdict: &Verdict) -> Option<String> {
    match verdict {
        Verdict::Delivered => None,
        Verdict::Gone => Some("answered 410 Gone: endpoint disabled".to_owned()),
        Verdict::Retry { error, .. } | Verdict::Permanent(error) => Some(error.clone()),
    }
}

/// Why this answer disables the endpoint: 410, or a failure after failing for `disable_after`.
fn disable_reason(shared: &Shared, endpoint: &Endpoint, verdict: &Verdict) -> Option<String> {
    let failing_for = endpoint
        .failing_since
        .and_then(|since| (Utc::now() - since).to_std().ok());
    match verdict {
        Verdict::Gone => Some("answered 410 Gone".to_owned()),
        Verdict::Delivered => None,
        _ if failing_for.is_some_and(|d| d >= shared.config.disable_after) => Some(format!(
            "failing for {}",
            humantime::format_duration(shared.config.disable_after)
        )),
        _ => None,
    }
}

/// Disables the endpoint and, if this call did, tells the platform-wide endpoints.
async fn disable(shared: &Shared, endpoint: &Endpoint, reason: &str) -> Result<(), PairError> {
    if !endpoints::disable(&shared.db, endpoint.id, reason).await? {
        return Ok(());
    }
    tracing::warn!(endpoint = %endpoint.id, url = %endpoint.url, reason, "outbound endpoint disabled");
    let notice = Notice {
        tenant: None,
        kind: OutboundType::EndpointDisabled,
        data: json!({
            "endpoint_id": endpoint.id,
            "tenant_id": endpoint.tenant_id,
            "url": endpoint.url,
            "reason": reason,
        }),
    };
    outbox::enqueue(&shared.db, &[notice]).await?;
    outbox::wake();
    Ok(())
}
