//! Retention: processed (`success`) events older than `retention_days` are deleted in small
//! batches, by a background job every `retention_interval_secs` and by `cobro prune`. `failed`
//! events stay until a person retries them or prunes them explicitly (`cobro prune --failed`):
//! they are the dead letters someone has to look at. Webhook tables that only grow are what users
//! of other webhook systems complain about most. The same job prunes the delivery log (SPEC §18)
//! after `delivery_log_retention_days`, delivered outbound messages (SPEC §21) after
//! `outbound_retention_days`, and the audit trail (SPEC §20) after `audit_retention_days`.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{DatabaseConnection, DbErr};

use crate::domain::EventStatus;
use crate::store::audit::{self, By, Entry};
use crate::store::gate::WriteGate;
use crate::store::prune;

/// Events deleted per transaction.
pub const BATCH: u64 = 500;

/// Deletes every matching event older than `age`, batch by batch; `progress` sees the running
/// total. When a person asked for it (`by`: `cobro prune`), the first batch that deletes anything
/// commits with the run's audit row (`events.pruned`), so no run deletes without its row; a run
/// that finds nothing records nothing. The background job's runs (`None`) are policy, not a
/// person's change, and are not recorded.
pub async fn prune(
    db: &DatabaseConnection,
    gate: &WriteGate,
    age: Duration,
    include_failed: bool,
    by: Option<&By>,
    mut progress: impl FnMut(u64),
) -> Result<u64, DbErr> {
    let before = Utc::now()
        - chrono::Duration::from_std(age).unwrap_or_else(|_| chrono::Duration::days(36_500));
    let statuses: &[EventStatus] = match include_failed {
        true => &[EventStatus::Success, EventStatus::Failed],
        false => &[EventStatus::Success],
    };
    let mut total = 0;
    loop {
        let deleted = {
            let _turn = gate.enter().await;
            match (total, by) {
                (0, Some(by)) => {
                    first_batch(db, statuses, before, by, pruned(include_failed, age)).await?
                }
                _ => prune::events(db, statuses, before, BATCH).await?,
            }
        };
        if deleted == 0 {
            return Ok(total);
        }
        total += deleted;
        progress(total);
        // Let webhooks and the pipeline through between batches.
        tokio::task::yield_now().await;
    }
}

/// Which events a prune deletes, in words (`cobro prune` prints it, its audit row keeps it).
pub fn which_events(include_failed: bool) -> &'static str {
    match include_failed {
        true => "success and failed",
        false => "success",
    }
}

/// The audit row of a person's prune.
fn pruned(include_failed: bool, age: Duration) -> Entry {
    let age = humantime::format_duration(age);
    Entry {
        action: "events.pruned",
        tenant_id: None,
        target: Some(format!(
            "{} events older than {age}",
            which_events(include_failed)
        )),
        changes: Vec::new(),
    }
}

/// The first batch of a person's prune, in one transaction with its audit row.
async fn first_batch(
    db: &DatabaseConnection,
    statuses: &[EventStatus],
    before: chrono::DateTime<Utc>,
    by: &By,
    entry: Entry,
) -> Result<u64, DbErr> {
    let txn = crate::store::db::begin_write(db).await?;
    let deleted = prune::events(&txn, statuses, before, BATCH).await?;
    if deleted > 0 {
        audit::append(&txn, by, entry).await?;
        txn.commit().await?;
    }
    Ok(deleted)
}

/// Deletes every delivery-log row older than `age`, batch by batch.
pub async fn prune_deliveries(
    db: &DatabaseConnection,
    gate: &WriteGate,
    age: Duration,
) -> Result<u64, DbErr> {
    in_batches(gate, age, |before| prune::deliveries(db, before, BATCH)).await
}

/// Deletes every delivered outbound message older than `age`, batch by batch.
pub async fn prune_outbound(
    db: &DatabaseConnection,
    gate: &WriteGate,
    age: Duration,
) -> Result<u64, DbErr> {
    in_batches(gate, age, |before| {
        prune::outbound_messages(db, before, BATCH)
    })
    .await
}

/// Deletes every audit-trail row older than `age`, batch by batch: the only deletes it ever
/// sees.
pub async fn prune_audit(
    db: &DatabaseConnection,
    gate: &WriteGate,
    age: Duration,
) -> Result<u64, DbErr> {
    in_batches(gate, age, |before| prune::audit(db, before, BATCH)).await
}

/// Runs `batch` (rows before a time) until it deletes nothing, one turn at the gate each.
async fn in_batches<F, Fut>(gate: &WriteGate, age: Duration, batch: F) -> Result<u64, DbErr>
where
    F: Fn(chrono::DateTime<Utc>) -> Fut,
    Fut: std::future::Future<Output = Result<u64, DbErr>>,
{
    let before = Utc::now()
        - chrono::Duration::from_std(age).unwrap_or_else(|_| chrono::Duration::days(36_500));
    let mut total = 0;
    loop {
        let deleted = {
            let _turn = gate.enter().await;
            batch(before).await?
        };
        if deleted == 0 {
            return Ok(total);
        }
        total += deleted;
        tokio::task::yield_now().await;
    }
}

/// How long each kind of row is kept; 0 days keeps it forever.
#[derive(Debug, Clone, Copy)]
pub struct Keep {
    pub events_days: u64,
    pub deliveries_days: u64,
    pub outbound_days: u64,
    pub audit_days: u64,
}

/// The background job; does nothing when every retention is 0.
pub fn run_in_background(db: DatabaseConnection, gate: WriteGate, keep: Keep, every: Duration) {
    let kept = [
        keep.events_days,
        keep.deliveries_days,
        keep.outbound_days,
        keep.audit_days,
    ];
    if kept.iter().all(|days| *days == 0) {
        return;
    }
    let days = |n: u64| Duration::from_secs(n * 24 * 3600);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            if keep.events_days > 0 {
                let pruned = prune(&db, &gate, days(keep.events_days), false, None, |_| {}).await;
                report("processed events", keep.events_days, pruned);
            }
            if keep.deliveries_days > 0 {
                let pruned = prune_deliveries(&db, &gate, days(keep.deliveries_days)).await;
                report("the delivery log", keep.deliveries_days, pruned);
            }
            if keep.outbound_days > 0 {
                let pruned = prune_outbound(&db, &gate, days(keep.outbound_days)).await;
                report("delivered outbound messages", keep.outbound_days, pruned);
            }
            if keep.audit_days > 0 {
                let pruned = prune_audit(&db, &gate, days(keep.audit_days)).await;
                report("the audit trail", keep.audit_days, pruned);
            }
        }
    });
}

/// One kind's prune, in the log: how many rows went, or why none could (tried again next tick).
fn report(what: &'static str, days: u64, pruned: Result<u64, DbErr>) {
    match pruned {
        Ok(0) => {}
        Ok(deleted) => tracing::info!(deleted, days, "pruned {what}"),
        Err(err) => tracing::warn!(error = %err, "pruning {what} failed; will try again"),
    }
}
