//! The tenant actors' pulls (`tenant::actor::pull`), read together: every pull asked for while
//! the previous read ran goes into the next read, one statement for all of them.
//!
//! Why: an actor pulls for every event it is told about, so that an event another node committed
//! earlier is queued first, and at a few dozen events a second per tenant each pull is over
//! before the next event comes. That was one read (and one transaction) per event, 59 % of the
//! statements PostgreSQL ran and 84 % of its transactions (docs/BENCHMARKS.md, issue 10). Read
//! together, a pull still starts after it was asked for, so the ordering promise is unchanged.
//! Built by `Services` on PostgreSQL; the actors call [`PendingReads::after`].

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::postgres::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::cluster::{self as store, PendingEvent};
use crate::domain::TenantId;

/// Most pulls one read answers (a bound on the statement's arrays and on its answer).
const MAX_PULLS_PER_READ: usize = 64;

/// Why a pull was not answered; the actor's poll asks again.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PullFailed {
    #[error("could not read pending events: {0}")]
    Database(String),
    #[error("the pending-events reader has stopped")]
    Stopped,
}

struct Ask {
    tenant: Uuid,
    after_seq: i64,
    limit: i64,
    reply: oneshot::Sender<Result<Vec<PendingEvent>, PullFailed>>,
}

/// The handle the actors share. Cheap to clone.
#[derive(Clone)]
pub struct PendingReads {
    queue: mpsc::UnboundedSender<Ask>,
    reads: Arc<AtomicU64>,
}

impl PendingReads {
    /// Starts the reading task; must run inside a tokio runtime.
    pub fn start(pool: PgPool) -> Self {
        let (queue, asks) = mpsc::unbounded_channel();
        let reads = Arc::new(AtomicU64::new(0));
        tokio::spawn(read_together(pool, asks, reads.clone()));
        Self { queue, reads }
    }

    /// Reads made so far (each answering one or more pulls).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// The tenant's pending events after `after_seq` (at most `limit`), in arrival order. The
    /// pull is queued at the call, so the read that answers it starts after it.
    pub fn after(
        &self,
        tenant: TenantId,
        after_seq: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<PendingEvent>, PullFailed>> + use<> {
        let (reply, answer) = oneshot::channel();
        let queued = self.queue.send(Ask {
            tenant: tenant.0,
            after_seq,
            limit,
            reply,
        });
        async move {
            queued.map_err(|_| PullFailed::Stopped)?;
            answer.await.map_err(|_| PullFailed::Stopped)?
        }
    }
}

/// One read for the first pull waiting and every other one waiting with it, then the next.
async fn read_together(
    pool: PgPool,
    mut asks: mpsc::UnboundedReceiver<Ask>,
    reads: Arc<AtomicU64>,
) {
    while let Some(first) = asks.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_PULLS_PER_READ {
            match asks.try_recv() {
                Ok(ask) => batch.push(ask),
                Err(_) => break,
            }
        }
        metrics::histogram!("cobro_cluster_pulls_per_read").record(batch.len() as f64);
        let pulls: Vec<store::Pull> = batch
            .iter()
            .map(|ask| store::Pull {
                tenant: ask.tenant,
                after_seq: ask.after_seq,
                limit: ask.limit,
            })
            .collect();
        let read = store::pending_after_many(&pool, &pulls).await;
        reads.fetch_add(1, Ordering::Relaxed);
        match read {
            Ok(answers) => {
                for (ask, events) in batch.into_iter().zip(answers) {
                    let _ = ask.reply.send(Ok(events));
                }
            }
            Err(err) => {
                let failed = PullFailed::Database(err.to_string());
                for ask in batch {
                    let _ = ask.reply.send(Err(failed.clone()));
                }
            }
        }
    }
}
