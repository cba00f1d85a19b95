//! Committing one cycle: the set-based transaction of [`together`] first; if it fails, the same
//! writes again one at a time ([`one_by_one`]) so that only the bad write fails. Then every caller
//! is answered, and only after a commit is anyone told their write was made.

use std::collections::HashSet;

use sea_orm::DbErr;
use uuid::Uuid;

use super::replies::database;
use super::task::Cycle;
use super::txn::WriteDb;
use super::{
    Claimed, Connections, Ingest, Relaxed, StoreError, WriteError, Written, one_by_one, together,
};
use crate::domain::OrderMove;
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
}

impl Outcome {
    /// Nothing was written.
    pub fn failed(writes: usize, err: &DbErr) -> Self {
        Self {
            events: Err(StoreError::Database(err.to_string())),
            writes: (0..writes).map(|_| Err(database(err))).collect(),
            next: (0..writes).map(|_| Vec::new()).collect(),
        }
    }
}

/// The pipeline writes of a cycle, split into what each part of a commit needs.
pub(super) struct Writes {
    pub leases: Vec<Option<FenceToken>>,
    pub writes: Vec<super::Write>,
    pub then_claim: Vec<Vec<Uuid>>,
}

/// How a cycle was committed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Path {
    Together,
    Redone,
}

/// The `synchronous` the writer's SQLite connection is set to, switched only when a cycle needs
/// the other one (under load webhook and pipeline cycles alternate: a `PRAGMA` each, which costs
/// a few microseconds against the fsync a pipeline cycle saves).
pub(super) struct Durability {
    setting: Option<Relaxed>,
    relaxed_now: bool,
}

impl Durability {
    /// The connection was opened with the configured (durable) value.
    pub fn new(setting: Option<Relaxed>) -> Self {
        Self {
            setting,
            relaxed_now: false,
        }
    }

    async fn set_for(&mut self, db: &WriteDb, holds_webhooks: bool) -> Result<(), DbErr> {
        let Some(setting) = &self.setting else {
            return Ok(());
        };
        let relax = !holds_webhooks;
        if relax == self.relaxed_now {
            return Ok(());
        }
        let value = match relax {
            true => setting.relaxed,
            false => setting.durable.as_str(),
        };
        // A checked configuration value (`store::db::open` parsed it), not input.
        db.execute_unprepared(&format!("PRAGMA synchronous = {value}"))
            .await?;
        self.relaxed_now = relax;
        Ok(())
    }
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

pub(super) async fn commit(
    connections: &Connections,
    durability: &mut Durability,
    node: Option<&str>,
    cycle: Cycle,
) -> Path {
    let mut events: Vec<NewEvent> = Vec::with_capacity(cycle.events.len());
    let mut event_replies = Vec::with_capacity(cycle.events.len());
    let mut deliveries = Deliveries { alone: Vec::new() };
    for ingest in cycle.events {
        match ingest {
            Ingest::Webhook { event, reply } => {
                events.push(event);
                event_replies.push(reply);
            }
            Ingest::Logged(delivery) => deliveries.alone.push(*delivery),
        }
    }
    let holds_webhooks = !events.is_empty() || !deliveries.alone.is_empty();
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
    let db = &connections.db;
    // A cycle holding an acknowledgement commits with the configured durability, or not at all.
    let durable = durability.set_for(db, holds_webhooks).await;
    let (outcome, path) = match durable {
        Err(err) => {
            tracing::error!(error = %err, "cannot set the write connection's durability");
            (Outcome::failed(count, &err), Path::Together)
        }
        Ok(()) => match together::commit(db, node, (&events, &deliveries), &writes).await {
            Ok(outcome) => (outcome, Path::Together),
            Err(err) => {
                tracing::warn!(error = %err, events = events.len(), writes = count,
                "write cycle failed; redoing it one write at a time");
                let outcome = one_by_one::commit(db, node, (&events, &deliveries), &writes).await;
                (outcome, Path::Redone)
            }
        },
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
    let reference = update.snapshot.external_reference.as_deref()?;
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

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};

    use super::{Durability, Relaxed, WriteDb};

    async fn synchronous(db: &DatabaseConnection) -> i64 {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "PRAGMA synchronous",
            ))
            .await
            .expect("pragma")
            .expect("a row");
        row.try_get_by_index(0).expect("a number")
    }

    /// A cycle holding a webhook always commits FULL; a processing-only one relaxes to NORMAL.
    #[tokio::test]
    async fn a_cycle_holding_a_webhook_commits_with_the_configured_durability() {
        let mut options = ConnectOptions::new("sqlite::memory:");
        options.max_connections(1);
        let db = Database::connect(options).await.expect("sqlite");
        db.execute_unprepared("PRAGMA synchronous = FULL")
            .await
            .expect("full");
        let writer = WriteDb::Pool(db.clone());
        let mut durability = Durability::new(Some(Relaxed {
            durable: "full".into(),
            relaxed: "normal",
        }));
        let (full, normal) = (2, 1);
        durability.set_for(&writer, true).await.expect("set");
        assert_eq!(synchronous(&db).await, full);
        durability.set_for(&writer, false).await.expect("set");
        assert_eq!(synchronous(&db).await, normal);
        durability.set_for(&writer, false).await.expect("set");
        assert_eq!(synchronous(&db).await, normal);
        durability.set_for(&writer, true).await.expect("set");
        assert_eq!(synchronous(&db).await, full, "back to FULL for webhooks");
        // No relaxed setting (PostgreSQL, or NORMAL configured): nothing is ever switched.
        let mut fixed = Durability::new(None);
        fixed.set_for(&writer, false).await.expect("set");
        assert_eq!(synchronous(&db).await, full);
    }
}
