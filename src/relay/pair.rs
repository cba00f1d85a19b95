//! One (endpoint, tenant) pair's messages, sent one at a time in commit order (SPEC §21): a
//! message that must wait for a retry holds the pair's next ones (the task ends; the relay starts
//! it again when the retry is due), a `failed` one does not. Each attempt is recorded with the
//! message's new state; 410 and five days of failures disable the endpoint and tell the
//! platform-wide endpoints (`endpoint.disabled`).

use std::time::Duration;

use chrono::Utc;
use entity::outbound_endpoint::Model as Endpoint;
use entity::outbound_message::Model as Message;
use serde_json::json;

use super::send::{Sent, Verdict};
use super::{Pair, Shared};
use crate::domain::OutboundType;
use crate::lease::FenceToken;
use crate::store::outbound::endpoints;
use crate::store::outbound::messages::{self, After, AttemptRecord, Fenced, RecordError};
use crate::store::outbound::outbox::{self, Notice};

/// Messages read per round.
const BATCH: u64 = 64;
/// The longest `Retry-After` honoured: a receiver cannot park a pair for longer.
const LONGEST_WAIT: Duration = Duration::from_secs(24 * 3600);

/// How a pair's round ended.
enum Stop {
    /// Every pending message was sent (or failed for good), or the head must wait (a retry not
    /// due yet, the endpoint disabled, the lease gone).
    Done,
    /// A whole batch was sent: more may be behind it.
    More,
}

pub(super) async fn send_pair(shared: &Shared, pair: Pair) {
    loop {
        match round(shared, pair).await {
            Ok(Stop::More) => continue,
            Ok(Stop::Done) => return,
            Err(err) => {
                tracing::warn!(error = %err, endpoint = %pair.0, "outbound pair stopped");
                return;
            }
        }
    }
}

/// Sends the next batch of the pair's messages, in order, until one must wait.
async fn round(shared: &Shared, (endpoint_id, tenant): Pair) -> Result<Stop, RecordError> {
    let batch = messages::pair_pending(&shared.db, endpoint_id, tenant, BATCH).await?;
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
    let full = batch.len() as u64 == BATCH;
    for message in &batch {
        if endpoint.disabled || message.next_attempt_at > Utc::now() {
            return Ok(Stop::Done);
        }
        if !send_one(shared, &endpoint, message, &secrets).await? {
            return Ok(Stop::Done);
        }
    }
    // A short batch was the whole queue; a full one may have more behind it.
    Ok(match full {
        true => Stop::More,
        false => Stop::Done,
    })
}

/// Sends one message and records the attempt; answers whether the pair may go on.
async fn send_one(
    shared: &Shared,
    endpoint: &Endpoint,
    message: &Message,
    secrets: &[String],
) -> Result<bool, RecordError> {
    let Ok(fence) = shared.fence_of(message.tenant_id) else {
        return Ok(false);
    };
    let sending = shared.sender.send(&endpoint.url, message, secrets);
    let sent = match &fence {
        Some((_, fence)) => match fence.guard(sending).await {
            Ok(sent) => sent,
            Err(_) => return Ok(false),
        },
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
        message,
        node: fence.as_ref().map(|(node, _)| &**node),
        at: Utc::now(),
        duration_ms: i64::try_from(sent.duration.as_millis()).unwrap_or(i64::MAX),
        http_status: sent.http_status,
        response: sent.response.clone(),
        error: error_of(&sent.verdict),
        after: after.clone(),
    };
    let fenced = fence.as_ref().map(|(node, fence)| Fenced {
        node,
        token: FenceToken {
            tenant: fence.tenant,
            token: fence.token,
        },
    });
    messages::record(&shared.db, fenced, record).await?;
    if let Some(reason) = disable_reason(shared, endpoint, &sent.verdict) {
        disable(shared, endpoint, &reason).await?;
        return Ok(false);
    }
    Ok(matches!(after, After::Delivered | After::Failed))
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
async fn disable(shared: &Shared, endpoint: &Endpoint, reason: &str) -> Result<(), RecordError> {
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
