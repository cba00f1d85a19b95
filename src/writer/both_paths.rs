//! What the two ways of committing a cycle share (the set-based transaction of `together` and
//! its fallback, `one_by_one`): the cycle's writes as both read them, what they produce, the
//! delivery-log rows of a webhook cycle, the cluster's lease check, and the small rules both
//! apply. `cycle` orchestrates; this names neither path.

use std::collections::HashSet;

use sea_orm::DbErr;
use uuid::Uuid;

use super::messages::{
    AttemptFailed, Claimed, PaymentUpdate, StoreError, Write, WriteError, Written,
};
use super::replies::database;
use crate::domain::{EventId, OrderId, OrderMove};
use crate::lease::FenceToken;
use crate::store::cluster;
use crate::store::deliveries::NewDelivery;
use crate::store::events::{NewEvent, Stored};
use crate::store::payments::StoredPayment;
use crate::store::run::Run;

/// What a cycle produced: for its webhooks (in order) and for each pipeline write (in order).
pub(super) struct Outcome {
    pub events: Result<Vec<Stored>, StoreError>,
    pub writes: Vec<Result<Written, WriteError>>,
    /// For each pipeline write, the next events claimed with it (when they were asked for).
    pub next: Vec<Vec<Claimed>>,
    /// Outbound messages were committed (SPEC §21): the relay is woken.
    pub messages_written: bool,
}

impl Outcome {
    /// Nothing was written.
    pub fn failed(writes: usize, err: &DbErr) -> Self {
        Self {
            events: Err(StoreError::Database(err.to_string())),
            writes: (0..writes).map(|_| Err(database(err))).collect(),
            next: (0..writes).map(|_| Vec::new()).collect(),
            messages_written: false,
        }
    }
}

/// The pipeline writes of a cycle, split into what each part of a commit needs.
pub(super) struct Writes {
    pub leases: Vec<Option<FenceToken>>,
    pub writes: Vec<Write>,
    pub then_claim: Vec<Vec<EventId>>,
}

/// The delivery-log rows of a webhook cycle (SPEC §18). An accepted webhook's event row is its
/// delivery's record; a duplicate gets a row of its own here, in the same transaction as the
/// answer it was given; rows of requests answered without an event were logged alone.
pub(super) struct Deliveries {
    pub alone: Vec<NewDelivery>,
}

impl Deliveries {
    /// The rows to insert with this cycle's webhooks: one per duplicate, then those alone.
    pub fn rows(&self, events: &[NewEvent], stored: &[Stored]) -> Vec<NewDelivery> {
        let duplicates = events
            .iter()
            .zip(stored)
            .filter_map(|(event, stored)| match *stored {
                Stored::Duplicate(id) => Some(NewDelivery::duplicate_of(event, id)),
                Stored::Accepted(_) => None,
            });
        duplicates.chain(self.alone.iter().cloned()).collect()
    }
}

/// The `(tenant, fence)` pairs of these writes that this node still holds, share-locked until the
/// commit. Nothing to check on a single node.
pub(super) async fn held_leases(
    txn: &impl Run,
    node: Option<&str>,
    leases: &[Option<FenceToken>],
) -> Result<Leases, DbErr> {
    let mut tenants: Vec<Uuid> = leases.iter().flatten().map(|l| l.tenant.0).collect();
    let Some(node) = node.filter(|_| !tenants.is_empty()) else {
        return Ok(Leases(HashSet::new()));
    };
    tenants.sort_unstable();
    tenants.dedup();
    let held = cluster::held_leases(txn, node, &tenants).await?;
    Ok(Leases(held.into_iter().collect()))
}

/// The leases a cycle found still held.
pub(super) struct Leases(HashSet<(Uuid, i64)>);

impl Leases {
    /// A fenced write whose lease is not held any more must not be made.
    pub fn lost(&self, lease: &Option<FenceToken>) -> bool {
        lease.is_some_and(|l| !self.0.contains(&(l.tenant.0, l.token)))
    }
}

/// Whether a payment step also marks its event `success` (no tag due: already tagged, or
/// flagged as fraud, whose buyer is never tagged).
pub(super) fn finishes(wants_tag: bool, payment: &StoredPayment) -> bool {
    !(wants_tag && payment.ghl_tagged_at.is_none() && !payment.fraud_alert)
}

/// Records a failed attempt (both paths of a cycle).
pub(super) async fn record_failed(
    db: &impl Run,
    failed: &AttemptFailed,
) -> Result<entity::webhook_event::Model, DbErr> {
    crate::store::events::mark_attempt_failed(
        db,
        failed.event_id,
        failed.next_retry_at,
        failed.message.clone(),
        failed.details.clone(),
        failed.processing_ms,
    )
    .await
}

/// The order a payment names, when its `external_reference` is an order id.
pub(super) fn order_reference(update: &PaymentUpdate) -> Option<OrderId> {
    let reference = update.snapshot.external_reference.as_deref()?;
    Uuid::parse_str(reference).ok().map(OrderId)
}

pub(super) fn log_order_move(order: OrderId, plan: Option<OrderMove>) {
    match plan {
        Some(OrderMove::Move { from, to }) => {
            tracing::info!(%order, from = from.as_str(), to = to.as_str(), "order moved")
        }
        Some(OrderMove::Ignore { from, to }) => tracing::info!(
            %order, from = from.as_str(), to = to.as_str(),
            "order not moved: that would go backwards"
        ),
        Some(OrderMove::AlreadyThere) | None => {}
    }
}
