//! What travels through the writer: the writes its handle queues (webhooks, pipeline writes
//! under their lease), what a cycle gathers of them, what each write produced, and the answers
//! its callers get. Shared by the handle (`Writer`), the tasks that gather cycles and the code
//! that commits them; it names none of them.

use std::time::Instant;

use chrono::{DateTime, Utc};
use entity::webhook_event;
use sea_orm::DbErr;
use serde_json::Value;
use tokio::sync::oneshot;

use super::txn::WriteDb;
use crate::domain::{EventId, OrderId, OrderStatus, PaymentId, PaymentSnapshot, TenantId};
use crate::lease::{FenceToken, LeaseLost};
use crate::store::deliveries::NewDelivery;
use crate::store::events::{NewEvent, Stored};
use crate::store::outbound::messages::AttemptRecord;
use crate::store::payments::StoredPayment;
use crate::store::resources::{ResourceStored, ResourceWrite};

/// What the payment step wrote.
pub struct PaymentStored {
    pub payment: StoredPayment,
    /// The event marked `success`, unless a tag still has to be added first.
    pub finished: Option<webhook_event::Model>,
    /// The next events, when they were asked for and the event was finished.
    pub next: Vec<Claimed>,
    /// The order this payment moved, if it moved one (an `order.updated` message, SPEC §21).
    pub order_moved: Option<OrderId>,
}

/// The write that ended an attempt (success, or a failed attempt recorded).
pub struct Finished {
    pub event: webhook_event::Model,
    pub next: Vec<Claimed>,
}

/// One of the tenant's next events, claimed in the same cycle as the write that ended the attempt
/// before it (see [`Writer::mark_success`]): so an event costs the writer one cycle, not two.
pub struct Claimed {
    pub id: EventId,
    /// `None`: the event was not pending any more; there is nothing to process.
    pub event: Option<webhook_event::Model>,
}

/// Steps 4–5 (and 7 when no tag is due) of one attempt.
pub struct PaymentUpdate {
    pub tenant: TenantId,
    pub event_id: EventId,
    pub payment_id: String,
    /// The payment as its provider answered it.
    pub snapshot: PaymentSnapshot,
    /// The tenant wants approved buyers tagged (GoHighLevel configured and status approved).
    pub wants_tag: bool,
    pub started: Instant,
}

impl PaymentUpdate {
    /// The payment's key (tenant, provider, payment id), as `store::many` answers by it.
    pub fn key(&self) -> crate::store::many::PaymentKey {
        let provider = self.snapshot.provider.key().to_owned();
        (self.tenant.0, provider, self.payment_id.clone())
    }

    /// The status the payment's order moves to (SPEC §7), if any.
    pub fn order_target(&self) -> Option<OrderStatus> {
        self.snapshot.order_target
    }
}

/// A failed attempt: `pending` again with `next_retry_at`, or `failed` when `None`.
pub struct AttemptFailed {
    pub event_id: EventId,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub message: String,
    pub details: Value,
    pub processing_ms: i64,
}

/// Why a pipeline write was not made.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error(transparent)]
    LeaseLost(#[from] LeaseLost),
}

/// Why a webhook was not stored (the handler answers 500; the provider retries).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("the event could not be stored: {0}")]
    Database(String),
    #[error("the writer has stopped")]
    Stopped,
}

/// What waits for a webhook cycle.
// The webhook is the common case and moves through the queue as it is; boxing it to shrink the
// rare `Logged` would cost an allocation per webhook.
#[allow(clippy::large_enum_variant)]
pub(super) enum Ingest {
    /// A new webhook. Accepted, its event row is its delivery's record (SPEC §18); found a
    /// duplicate, the cycle writes a delivery row for it in the same transaction.
    Webhook {
        event: NewEvent,
        reply: oneshot::Sender<Result<Stored, StoreError>>,
    },
    /// A delivery-log row alone (an ignored or refused request): nobody waits for it.
    Logged(Box<NewDelivery>),
}

/// One pipeline write: what to write, the lease it is made under (cluster only), the events to
/// claim with it if it ends an attempt, who to tell.
pub(super) struct Fenced {
    pub lease: Option<FenceToken>,
    pub write: Write,
    pub then_claim: Vec<EventId>,
    pub reply: Reply,
}

pub(super) enum Write {
    Claim(EventId),
    Payment(Box<PaymentUpdate>),
    /// An attempt on an order, dispute, fraud alert or claim (SPEC §17).
    Resource(Box<ResourceWrite>),
    Tagged {
        payment: PaymentId,
        contact: String,
    },
    /// A fraud alert took the buyer's tag back.
    Untagged(PaymentId),
    Success {
        event: EventId,
        payment: Option<PaymentId>,
        started: Instant,
        /// GoHighLevel tagged the buyer in this attempt (for its history).
        tagged: bool,
    },
    Failed(AttemptFailed),
    /// A claimed event that will not be processed now goes back to `pending`, its attempt
    /// uncounted (a node draining with the next event already claimed).
    Release(EventId),
    /// An attempt to deliver an outbound message (SPEC §21), and the message's new state.
    Outbound(Box<AttemptRecord>),
}

impl Write {
    /// Whether this write ends an attempt, so the next event may be claimed with it. A payment
    /// step that may still need a tag does not (`finishes` decides that only in the cycle).
    pub(super) fn ends_attempt(&self) -> bool {
        match self {
            Write::Payment(update) => !update.wants_tag,
            Write::Success { .. } | Write::Failed(_) => true,
            // Whether it finishes is known only in the cycle (GoHighLevel may be due).
            Write::Resource(_) => false,
            Write::Claim(_)
            | Write::Tagged { .. }
            | Write::Untagged(_)
            | Write::Release(_)
            | Write::Outbound(_) => false,
        }
    }
}

/// What a pipeline write produced.
pub(super) enum Written {
    Claim(Option<webhook_event::Model>),
    Payment(Box<PaymentStored>),
    Resource(Box<ResourceStored>),
    Done,
    Event(webhook_event::Model),
}

/// Where cycles commit.
#[derive(Clone)]
pub struct Connections {
    /// SQLite: the writer's own connection (`store::owned_sqlite`); PostgreSQL: the pool.
    pub db: WriteDb,
    /// SQLite: the `synchronous` of cycles holding no webhook, when it is not the configured one.
    pub relaxed: Option<Relaxed>,
}

/// Every cycle holding a webhook commits with `durable` (the configured `synchronous`, FULL by
/// default); a cycle of processing writes only may commit with `relaxed`.
#[derive(Clone)]
pub struct Relaxed {
    pub durable: String,
    pub relaxed: &'static str,
}

/// What one cycle commits: webhooks or pipeline writes, never both.
#[derive(Default)]
pub(super) struct Cycle {
    pub events: Vec<Ingest>,
    pub writes: Vec<Fenced>,
}

pub(super) type Answer<T> = oneshot::Sender<Result<T, WriteError>>;

pub(super) enum Reply {
    Claim(Answer<Option<webhook_event::Model>>),
    Payment(Answer<PaymentStored>),
    Resource(Answer<ResourceStored>),
    Done(Answer<()>),
    Finished(Answer<Finished>),
}

pub fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}
