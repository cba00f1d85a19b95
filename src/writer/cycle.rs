//! Committing one cycle: the set-based transaction of [`together`] first; if it fails, the same
//! writes again one at a time ([`one_by_one`]) so that only the bad write fails. Then every caller
//! is answered, and only after a commit is anyone told their write was made.

use std::collections::HashSet;

use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::replies::database;
use super::{Claimed, Connections, Cycle, StoreError, WriteError, Written, one_by_one, together};
use crate::cluster::FenceToken;
use crate::domain::OrderMove;
use crate::store::cluster;
use crate::store::events::{NewEvent, Stored};

/// What a cycle produced: for its webhooks (in order) and for each pipeline write (in order).
pub(super) struct Outcome {
    pub events: Result<Vec<Stored>, StoreError>,
    pub writes: Vec<Result<Written, WriteError>>,
    /// For each pipeline write, the next event claimed with it (when one was asked for).
    pub next: Vec<Option<Claimed>>,
}

impl Outcome {
    /// Nothing was written.
    pub fn failed(writes: usize, err: &DbErr) -> Self {
        Self {
            events: Err(StoreError::Database(err.to_string())),
            writes: (0..writes).map(|_| Err(database(err))).collect(),
            next: (0..writes).map(|_| None).collect(),
        }
    }
}

/// The pipeline writes of a cycle, split into what each part of a commit needs.
pub(super) struct Writes {
    pub leases: Vec<Option<FenceToken>>,
    pub writes: Vec<super::Write>,
    pub then_claim: Vec<Option<Uuid>>,
}

/// How a cycle was committed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Path {
    Together,
    Redone,
}

pub(super) async fn commit(connections: &Connections, node: Option<&str>, cycle: Cycle) -> Path {
    let (events, event_replies): (Vec<NewEvent>, Vec<_>) =
        cycle.events.into_iter().map(|i| (i.event, i.reply)).unzip();
    let count = cycle.writes.len();
    let mut writes = Writes {
        leases: Vec::with_capacity(count),
        writes: Vec::with_capacity(count),
        then_claim: Vec::with_capacity(count),
    };
    let mut replies = Vec::with_capacity(count);
    for fenced in cycle.writes {
        writes.leases.push(fenced.lease);
        writes.writes.push(fenced.write);
        writes.then_claim.push(fenced.then_claim);
        replies.push(fenced.reply);
    }
    // A cycle holding an acknowledgement commits with the configured durability.
    let db = match events.is_empty() {
        true => &connections.work,
        false => &connections.acknowledgements,
    };
    let (outcome, path) = match together::commit(db, node, &events, &writes).await {
        Ok(outcome) => (outcome, Path::Together),
        Err(err) => {
            tracing::warn!(error = %err, events = events.len(), writes = count,
                "write cycle failed; redoing it one write at a time");
            let outcome = one_by_one::commit(db, node, &events, &writes).await;
            (outcome, Path::Redone)
        }
    };
    match outcome.events {
        Ok(stored) => {
            for (reply, stored) in event_replies.into_iter().zip(stored) {
                let _ = reply.send(Ok(stored));
            }
        }
        Err(err) if !event_replies.is_empty() => {
            tracing::error!(error = %err, "webhooks not stored; answering 500 to each");
            for reply in event_replies {
                let _ = reply.send(Err(err.clone()));
            }
        }
        Err(_) => {}
    }
    for ((reply, result), next) in replies.into_iter().zip(outcome.writes).zip(outcome.next) {
        reply.send(result, next);
    }
    path
}

/// The `(tenant, fence)` pairs of these writes that this node still holds, share-locked until the
/// commit. Nothing to check on a single node.
pub(super) async fn held_leases(
    txn: &impl ConnectionTrait,
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

/// Whether a payment step also marks its event `success` (no tag due, or already tagged).
pub(super) fn finishes(wants_tag: bool, payment: &entity::payment::Model) -> bool {
    !(wants_tag && payment.ghl_tagged_at.is_none())
}

/// Records a failed attempt (both paths of a cycle).
pub(super) async fn record_failed(
    db: &impl ConnectionTrait,
    failed: &super::AttemptFailed,
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
pub(super) fn order_reference(update: &super::PaymentUpdate) -> Option<Uuid> {
    let reference = update.mp.external_reference.as_deref()?;
    Uuid::parse_str(reference).ok()
}

pub(super) fn log_order_move(order: Uuid, plan: Option<OrderMove>) {
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
