//! Running a batch of a tenant's events (SPEC §6 steps 1–7). The tenant actor hands [`run_batch`] the
//! events at the front of its queue, at most [`BATCH`] of them, and starts no other batch until
//! this one has answered: that is what keeps processing serial per tenant.
//!
//! Within a batch the events are fetched from their provider one after the other, in arrival order.
//! An event's result is handed to the writer as soon as it is known, and the next event's fetch
//! starts while that write waits for its cycle: the writes of a batch are queued in arrival
//! order and committed in that order (several of them in one cycle when they come faster than
//! cycles). Without this, each event of a tenant waited for a whole writer cycle before the next
//! could start, so one tenant could never get more than one event per cycle done however large
//! its backlog (issue 9).
//!
//! What keeps the result equal to processing the events strictly one by one:
//! - two writes touching the same payment or the same order are never in the writer's queue at
//!   once: before queueing one, the batch waits until the earlier ones are committed
//!   (`queue::Touched`), so the second sees the first's effect (an order never moves backwards);
//! - a payment whose buyer must be tagged in GoHighLevel waits for every earlier write, then runs
//!   its steps one write after the other (the tag is recorded before `success`);
//! - the last write of the batch claims the tenant's next queued events in the same cycle
//!   ([`NextUp`]), so under load a batch costs one cycle before its first fetch, not one per event.
//!
//! A failed attempt does not hold the others back: it is recorded (retry on the schedule, or
//! failed for good) and the batch goes on, as the queue always did.
//!
//! This file decides *when* each step runs; the steps themselves, in their order, are
//! `tenant::attempt`'s, and the writes waiting for their cycle are [`queue`]'s.

mod queue;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use entity::webhook_event;
use futures_util::future::Either;
use tokio::sync::mpsc;
use tracing::{Instrument, Span, info_span, warn};

use crate::domain::{EventId, ResourceKind, TenantId};
use crate::lease::{Fence, FenceToken};
use crate::tenant::attempt::record::record_metrics;
use crate::tenant::attempt::{AttemptOutcome, Fetched, Steps, Stop};
use crate::tenant::limits::Limiters;
use crate::tenant::processing::Processing;
use crate::writer::{Claimed, WriteError, Writer};
use queue::{Queued, Touched, barrier};

/// Most events one batch takes. Large enough that a tenant with a backlog gets many events into
/// every writer cycle, small enough that an actor answers a drain or a lease loss soon.
pub const BATCH: usize = 32;

/// How an event's attempt begins: with the event still to claim, or with the event already
/// claimed by the write that ended the tenant's previous batch.
pub enum Start {
    Claim(EventId),
    Claimed(Box<webhook_event::Model>),
}

/// What a batch did: an outcome for every event it was given, and the tenant's next events when
/// its last write claimed them.
#[derive(Default)]
pub struct Batch {
    pub outcomes: Vec<(EventId, AttemptOutcome)>,
    pub next: Vec<Claimed>,
}

impl Batch {
    /// The attempt's outcome: counted, and written on its span (which ends when the last
    /// holder drops it).
    fn done(&mut self, event: EventId, outcome: AttemptOutcome, started: Instant, span: &Span) {
        record_metrics(outcome, started.elapsed());
        span.record("outcome", outcome.label());
        self.outcomes.push((event, outcome));
    }
}

/// The front of the tenant's queue (at most [`BATCH`] events), kept current by its actor while a
/// batch runs: the batch's last write claims them, read at the moment that write is made.
pub type NextUp = tokio::sync::watch::Receiver<Vec<EventId>>;

/// Set by the actor when the node drains: the batch finishes the attempt under way and gives
/// the rest of its events back (`pending`, their attempt uncounted) for the next start.
pub type StopAfterAttempt = Arc<AtomicBool>;

/// Runs the attempts of `starts`, in order.
pub async fn run_batch(
    svc: &Processing,
    limits: &Limiters,
    tenant: TenantId,
    starts: Vec<Start>,
    (next_up, stop): (NextUp, StopAfterAttempt),
    fence: Option<&Fence>,
) -> Batch {
    let steps = Steps {
        svc,
        limits,
        fence,
        tenant,
    };
    let (events, mut batch) = claim_all(&steps, starts).await;
    for event in &events {
        steps.publish_event(event);
    }
    let (queued, answers) = mpsc::unbounded_channel();
    let produce = produce(&steps, events, (&next_up, &stop), queued);
    let (produced, answered) = futures_util::join!(produce, answer(&steps, answers));
    for part in [produced, answered] {
        batch.outcomes.extend(part.outcomes);
        batch.next.extend(part.next);
    }
    batch
}

/// Step 1 for the events not claimed yet, all in one cycle. Answers the events to process and
/// the outcomes of those that cannot be.
async fn claim_all(steps: &Steps<'_>, starts: Vec<Start>) -> (Vec<webhook_event::Model>, Batch) {
    // Every claim is queued before the first is awaited, so all are in the same cycle.
    let claims: Vec<_> = starts
        .into_iter()
        .map(|start| match start {
            Start::Claimed(event) => Either::Left(*event),
            Start::Claim(id) => Either::Right((id, steps.svc.writer.claim(steps.lease(), id))),
        })
        .collect();
    let (mut events, mut batch) = (Vec::with_capacity(claims.len()), Batch::default());
    for claim in claims {
        let (id, claimed) = match claim {
            Either::Left(event) => {
                events.push(event);
                continue;
            }
            Either::Right((id, claimed)) => (id, claimed.await),
        };
        let outcome = match claimed {
            Ok(Some(event)) => {
                events.push(event);
                continue;
            }
            Ok(None) => AttemptOutcome::Skipped,
            Err(WriteError::LeaseLost(_)) => AttemptOutcome::LeaseLost,
            Err(err) => {
                warn!(event = %id, error = %err, "could not claim event; recovery will pick it up");
                AttemptOutcome::Skipped
            }
        };
        batch.outcomes.push((id, outcome));
    }
    (events, batch)
}

/// Fetches the events one after the other and queues each one's write; answers the outcomes it
/// settled itself (tagged payments, a lost lease).
async fn produce(
    steps: &Steps<'_>,
    events: Vec<webhook_event::Model>,
    (next_up, stop): (&NextUp, &AtomicBool),
    queued: mpsc::UnboundedSender<Queued>,
) -> Batch {
    let (mut batch, mut touched) = (Batch::default(), Touched::default());
    let writer = &steps.svc.writer;
    let last = events.len().saturating_sub(1);
    let mut events = events.into_iter().enumerate();
    while let Some((i, event)) = events.next() {
        // The first attempt is under way once the batch started (its event shows `processing`).
        if i > 0 && stop.load(Ordering::Relaxed) {
            let rest = std::iter::once(event).chain(events.map(|(_, e)| e));
            let ids: Vec<EventId> = rest.map(|event| EventId(event.id)).collect();
            give_back(&steps.svc.writer, steps.lease(), ids.clone()).await;
            batch
                .outcomes
                .extend(ids.into_iter().map(|id| (id, AttemptOutcome::Skipped)));
            break;
        }
        let started = Instant::now();
        let span = attempt_span(steps.tenant, &event);
        // Read only now: the events queued while this batch ran are claimed too.
        let then_claim = || match i == last {
            true => next_up.borrow().clone(),
            false => Vec::new(),
        };
        if let Some(kind) = not_a_payment(&event) {
            // An order, dispute, fraud alert or claim: alone, after every earlier write.
            barrier(&queued, &mut touched).await;
            let attempt = steps.process_resource(&event, kind, started, then_claim());
            let (outcome, next) = attempt.instrument(span.clone()).await;
            batch.next.extend(next);
            batch.done(EventId(event.id), outcome, started, &span);
            continue;
        }
        let fetched = steps.fetch(&event, started).instrument(span.clone()).await;
        let write = match fetched {
            Ok(fetched) if fetched.tagging.is_some() => {
                barrier(&queued, &mut touched).await;
                let done = steps.store_and_tag(&event, fetched, then_claim());
                let (outcome, next) = match done.instrument(span.clone()).await {
                    Ok((processed, next)) => (steps.publish_success(&processed), next),
                    Err(Stop::LeaseLost) => (AttemptOutcome::LeaseLost, Vec::new()),
                    Err(Stop::Failed(failure)) => {
                        steps
                            .record_failure(&event, failure, started, then_claim())
                            .instrument(span.clone())
                            .await
                    }
                };
                batch.next.extend(next);
                batch.done(EventId(event.id), outcome, started, &span);
                continue;
            }
            Ok(fetched) => {
                if !touched.take(&fetched) {
                    barrier(&queued, &mut touched).await;
                    touched.take(&fetched);
                }
                let Fetched {
                    update, snapshot, ..
                } = fetched;
                let mapped_order_status = update.order_target().map(|o| o.as_str());
                let answer = writer.store_payment(steps.lease(), update, then_claim());
                Queued::Payment {
                    event,
                    snapshot: Box::new(snapshot),
                    mapped_order_status,
                    started,
                    answer: Box::pin(answer),
                    span,
                }
            }
            Err(Stop::Failed(failure)) => {
                let failed = steps.failed_attempt(&event, &failure, started);
                let retry_at = failed.next_retry_at;
                let answer = writer.attempt_failed(steps.lease(), failed, then_claim());
                Queued::Failure {
                    event,
                    failure,
                    retry_at,
                    started,
                    answer: Box::pin(answer),
                    span,
                }
            }
            Err(Stop::LeaseLost) => {
                // Nothing more is called or written: the new owner takes these up again.
                batch.done(EventId(event.id), AttemptOutcome::LeaseLost, started, &span);
                for (_, event) in events.by_ref() {
                    let outcome = AttemptOutcome::LeaseLost;
                    batch.done(EventId(event.id), outcome, started, &Span::none());
                }
                break;
            }
        };
        if queued.send(write).is_err() {
            break; // cannot happen: `answer` runs until this sender is dropped
        }
    }
    batch
}

/// The span of one attempt (SPEC §20): a child of the span that ingested the event, whichever
/// node that was, when traces are exported.
fn attempt_span(tenant: TenantId, event: &webhook_event::Model) -> Span {
    let span = info_span!("attempt", %tenant, event = %event.id,
        mp_payment = %event.mp_payment_id, resource = %event.resource_type,
        attempt = event.attempts, outcome = tracing::field::Empty);
    crate::telemetry::trace_context::continue_from(&span, event.trace_context.as_deref());
    span
}

/// The kind of a stored event that is not about one payment (SPEC §17). Events stored before
/// the kinds existed read as payments, as they were.
fn not_a_payment(event: &webhook_event::Model) -> Option<ResourceKind> {
    match ResourceKind::parse(&event.resource_type) {
        Some(ResourceKind::Payment) | None => None,
        other => other,
    }
}

/// Draining: the events not attempted yet go back to `pending`, their claim's attempt uncounted.
/// The rest of a batch when the node drains, and the events claimed ahead: all releases are queued
/// at once (one cycle), then awaited. Used by the batch and by the actor.
pub fn give_back(
    writer: &Writer,
    lease: Option<FenceToken>,
    ids: Vec<EventId>,
) -> impl Future<Output = ()> + 'static {
    let releases: Vec<_> = ids
        .into_iter()
        .map(|id| (id, writer.release(lease, id)))
        .collect();
    async move {
        for (id, released) in releases {
            if let Err(err) = released.await {
                // Still `processing`: recovery (next start) or a take-over makes it pending.
                warn!(event = %id, error = %err, "could not give back a claimed event");
            }
        }
    }
}

/// Answers the queued writes in the order they were queued: broadcasts, and records the outcome.
async fn answer(steps: &Steps<'_>, mut queued: mpsc::UnboundedReceiver<Queued>) -> Batch {
    let mut batch = Batch::default();
    while let Some(write) = queued.recv().await {
        match write {
            Queued::Barrier(done) => {
                let _ = done.send(());
            }
            Queued::Payment {
                event,
                snapshot,
                mapped_order_status,
                started,
                answer,
                span,
            } => {
                let stored = answer.await;
                let (outcome, next) = steps
                    .payment_answered(&event, *snapshot, mapped_order_status, started, stored)
                    .instrument(span.clone())
                    .await;
                batch.next.extend(next);
                batch.done(EventId(event.id), outcome, started, &span);
            }
            Queued::Failure {
                event,
                failure,
                retry_at,
                started,
                answer,
                span,
            } => {
                let written = answer.await;
                let (outcome, next) =
                    span.in_scope(|| steps.failure_recorded(&failure, retry_at, written));
                batch.next.extend(next);
                batch.done(EventId(event.id), outcome, started, &span);
            }
        }
    }
    batch
}
