//! Retention: processed (`success`) events older than `retention_days` are deleted in small
//! batches, by a background job every `retention_interval_secs` and by `cobro prune`. `failed`
//! events stay until a person retries them or prunes them explicitly (`cobro prune --failed`):
//! they are the dead letters someone has to look at. Webhook tables that only grow are what users
//! of other webhook systems complain about most.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{DatabaseConnection, DbErr};

use crate::domain::EventStatus;
use crate::store::events;
use crate::store::gate::WriteGate;

/// Events deleted per transaction.
pub const BATCH: u64 = 500;

/// Deletes every matching event older than `age`, batch by batch; `progress` sees the running total.
pub async fn prune(
    db: &DatabaseConnection,
    gate: &WriteGate,
    age: Duration,
    include_failed: bool,
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
            events::prune_batch(db, statuses, before, BATCH).await?
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

/// The background job; does nothing when `retention_days` is 0.
pub fn run_in_background(db: DatabaseConnection, gate: WriteGate, days: u64, every: Duration) {
    if days == 0 {
        return;
    }
    let age = Duration::from_secs(days * 24 * 3600);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            match prune(&db, &gate, age, false, |_| {}).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, days, "pruned processed events"),
                Err(err) => tracing::warn!(error = %err, "pruning failed; will try again"),
            }
        }
    });
}
