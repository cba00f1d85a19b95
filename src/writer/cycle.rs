//! Committing one cycle: the set-based transaction of [`together`] first; if it fails, the same
//! writes again one at a time ([`one_by_one`]) so that only the bad write fails. Then every caller
//! is answered, and only after a commit is anyone told their write was made.

use sea_orm::DbErr;

use super::both_paths::{Deliveries, Outcome, Writes};
use super::messages::Cycle;
use super::messages::{Connections, Ingest, Relaxed};
use super::txn::WriteDb;
use super::{one_by_one, together};
use crate::store::events::NewEvent;

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
    if outcome.messages_written {
        crate::store::outbound::outbox::wake();
    }
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
