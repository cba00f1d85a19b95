//! The database writes of processing attempts. Every write goes through [`PipelineWriter`]: one
//! task that takes all the writes waiting from every tenant actor and applies them in a single
//! transaction, each inside its own savepoint (a failing write fails alone), and answers each only
//! after the commit. Many tenants processing at once thus share one commit, as webhooks do on the
//! ingest side.
//!
//! What one attempt writes: the claim; then payment upsert, order move and the event's `success`
//! together, unless a GoHighLevel tag is due, in which case the tag is recorded on its own once
//! GoHighLevel accepted it (so a replay never tags again) and `success` follows.
//!
//! In a cluster every write carries its tenant's [`FenceToken`]; the transaction first reads
//! (and share-locks) the leases this node still holds, and a write whose fence is not among them
//! is refused with [`WriteError::LeaseLost`]: a node that lost a tenant never writes its results.

use std::time::Instant;

use chrono::{DateTime, Utc};
use entity::{payment, webhook_event};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use std::collections::HashSet;
use std::sync::Arc;

use crate::cluster::{FenceToken, LeaseLost};
use crate::domain::{OrderStatus, PaymentStatus, TenantId};
use crate::mercadopago::MpPayment;
use crate::store::gate::WriteGate;
use crate::store::{cluster, db::write_transaction};
use apply::apply;

mod apply;

/// Most writes one transaction takes.
const MAX_BATCH: usize = 256;

/// What the payment step wrote.
pub struct Stored {
    pub payment: payment::Model,
    /// The event marked `success`, unless a tag still has to be added first.
    pub finished: Option<webhook_event::Model>,
}

/// Steps 4–5 (and 7 when no tag is due) of one attempt.
pub struct PaymentUpdate {
    pub tenant: TenantId,
    pub event_id: Uuid,
    pub payment_id: String,
    pub mp: MpPayment,
    pub status: PaymentStatus,
    pub order_target: Option<OrderStatus>,
    /// The tenant wants approved buyers tagged (GoHighLevel configured and status approved).
    pub wants_tag: bool,
    pub started: Instant,
}

/// A failed attempt: `pending` again with `next_retry_at`, or `failed` when `None`.
pub struct AttemptFailed {
    pub event_id: Uuid,
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

type Reply<T> = oneshot::Sender<Result<T, WriteError>>;

/// A write and the lease it is made under (cluster only).
struct Fenced {
    lease: Option<FenceToken>,
    write: Write,
}

enum Write {
    Claim(Uuid, Reply<Option<webhook_event::Model>>),
    Payment(Box<PaymentUpdate>, Reply<Stored>),
    Tagged {
        payment: Uuid,
        contact: String,
        reply: Reply<()>,
    },
    Success {
        event: Uuid,
        payment: Uuid,
        started: Instant,
        reply: Reply<webhook_event::Model>,
    },
    Failed(AttemptFailed, Reply<webhook_event::Model>),
}

/// An applied write whose answer waits for the commit.
enum Done {
    Claim(
        Reply<Option<webhook_event::Model>>,
        Option<webhook_event::Model>,
    ),
    Payment(Reply<Stored>, Box<Stored>),
    Tagged(Reply<()>),
    Event(Reply<webhook_event::Model>, webhook_event::Model),
}

#[derive(Clone)]
pub struct PipelineWriter {
    writes: mpsc::UnboundedSender<Fenced>,
}

impl PipelineWriter {
    /// Starts `writers` tasks sharing one queue; must run inside a tokio runtime. One is right
    /// for SQLite's single writer; PostgreSQL commits several batches at once. Parallel batches
    /// never hold two writes of one tenant (a tenant has one attempt in flight, whose writes wait
    /// for each other), so they touch disjoint rows. `node` is this node's cluster id
    /// (PostgreSQL), under which fenced writes are checked; `None` on a single node.
    pub fn start(
        db: DatabaseConnection,
        gate: WriteGate,
        node: Option<Arc<str>>,
        writers: usize,
    ) -> Self {
        let (writes, queue) = mpsc::unbounded_channel();
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        for _ in 0..writers.max(1) {
            tokio::spawn(apply_batches(
                db.clone(),
                gate.clone(),
                node.clone(),
                queue.clone(),
            ));
        }
        Self { writes }
    }

    /// Moves a `pending` event to `processing` and counts the attempt (`None`: not pending).
    pub async fn claim(
        &self,
        lease: Option<FenceToken>,
        event: Uuid,
    ) -> Result<Option<webhook_event::Model>, WriteError> {
        self.ask(lease, |reply| Write::Claim(event, reply)).await
    }

    pub async fn store_payment(
        &self,
        lease: Option<FenceToken>,
        update: PaymentUpdate,
    ) -> Result<Stored, WriteError> {
        self.ask(lease, |reply| Write::Payment(Box::new(update), reply))
            .await
    }

    pub async fn mark_tagged(
        &self,
        lease: Option<FenceToken>,
        payment: Uuid,
        contact: String,
    ) -> Result<(), WriteError> {
        self.ask(lease, |reply| Write::Tagged {
            payment,
            contact,
            reply,
        })
        .await
    }

    pub async fn mark_success(
        &self,
        lease: Option<FenceToken>,
        event: Uuid,
        payment: Uuid,
        started: Instant,
    ) -> Result<webhook_event::Model, WriteError> {
        self.ask(lease, |reply| Write::Success {
            event,
            payment,
            started,
            reply,
        })
        .await
    }

    pub async fn attempt_failed(
        &self,
        lease: Option<FenceToken>,
        failed: AttemptFailed,
    ) -> Result<webhook_event::Model, WriteError> {
        self.ask(lease, |reply| Write::Failed(failed, reply)).await
    }

    async fn ask<T>(
        &self,
        lease: Option<FenceToken>,
        write: impl FnOnce(Reply<T>) -> Write,
    ) -> Result<T, WriteError> {
        let (reply, answer) = oneshot::channel();
        let stopped =
            || WriteError::Database(DbErr::Custom("the pipeline writer has stopped".into()));
        let write = write(reply);
        self.writes
            .send(Fenced { lease, write })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn apply_batches(
    db: DatabaseConnection,
    gate: WriteGate,
    node: Option<Arc<str>>,
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Fenced>>>,
) {
    while let Some(batch) = next_batch(&queue).await {
        metrics::histogram!("cobro_pipeline_batch_size").record(batch.len() as f64);
        let _turn = gate.enter_pipeline().await;
        apply_batch(&db, node.as_deref(), batch).await;
    }
}

/// Waits for one write, then takes whatever else is already waiting, up to [`MAX_BATCH`].
async fn next_batch(
    queue: &tokio::sync::Mutex<mpsc::UnboundedReceiver<Fenced>>,
) -> Option<Vec<Fenced>> {
    let mut queue = queue.lock().await;
    let mut batch = vec![queue.recv().await?];
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(write) => batch.push(write),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// One transaction; the fence check first; each write in its own savepoint; answers after the
/// commit.
async fn apply_batch(db: &DatabaseConnection, node: Option<&str>, batch: Vec<Fenced>) {
    let txn = match db.begin_with_options(write_transaction()).await {
        Ok(txn) => txn,
        Err(err) => return fail_all(batch, &err),
    };
    let held = match held_leases(&txn, node, &batch).await {
        Ok(held) => held,
        Err(err) => return fail_all(batch, &err),
    };
    let mut done = Vec::with_capacity(batch.len());
    for Fenced { lease, write } in batch {
        if lease.is_some_and(|l| !held.contains(&(l.tenant.0, l.token))) {
            reply_lease_lost(write);
            continue;
        }
        let savepoint = match txn.begin().await {
            Ok(savepoint) => savepoint,
            Err(err) => {
                reply_err(write, &err);
                continue;
            }
        };
        match apply(&savepoint, write).await {
            Ok(applied) => match savepoint.commit().await {
                Ok(()) => done.push(applied),
                Err(err) => answer_err(applied, &err),
            },
            Err((err, write)) => {
                let _ = savepoint.rollback().await;
                reply_err(write, &err);
            }
        }
    }
    match txn.commit().await {
        Ok(()) => done.into_iter().for_each(answer_ok),
        Err(err) => done.into_iter().for_each(|d| answer_err(d, &err)),
    }
}

/// The `(tenant, fence)` pairs of this batch that this node still holds, share-locked until the
/// commit. Nothing to check on a single node.
async fn held_leases(
    txn: &impl ConnectionTrait,
    node: Option<&str>,
    batch: &[Fenced],
) -> Result<HashSet<(Uuid, i64)>, DbErr> {
    let mut tenants: Vec<Uuid> = batch
        .iter()
        .filter_map(|f| f.lease.map(|l| l.tenant.0))
        .collect();
    let Some(node) = node.filter(|_| !tenants.is_empty()) else {
        return Ok(HashSet::new());
    };
    tenants.sort_unstable();
    tenants.dedup();
    Ok(cluster::held_leases(txn, node, &tenants)
        .await?
        .into_iter()
        .collect())
}

fn answer_ok(done: Done) {
    let _ = match done {
        Done::Claim(reply, model) => reply.send(Ok(model)).is_ok(),
        Done::Payment(reply, stored) => reply.send(Ok(*stored)).is_ok(),
        Done::Tagged(reply) => reply.send(Ok(())).is_ok(),
        Done::Event(reply, model) => reply.send(Ok(model)).is_ok(),
    };
}

fn answer_err(done: Done, err: &DbErr) {
    let err = || WriteError::Database(DbErr::Custom(err.to_string()));
    let _ = match done {
        Done::Claim(reply, _) => reply.send(Err(err())).is_ok(),
        Done::Payment(reply, _) => reply.send(Err(err())).is_ok(),
        Done::Tagged(reply) => reply.send(Err(err())).is_ok(),
        Done::Event(reply, _) => reply.send(Err(err())).is_ok(),
    };
}

fn reply_lease_lost(write: Write) {
    reply_with(write, || WriteError::LeaseLost(LeaseLost));
}

fn reply_err(write: Write, err: &DbErr) {
    reply_with(write, || {
        WriteError::Database(DbErr::Custom(err.to_string()))
    });
}

/// Answers a write that was not made with the error `err` makes.
fn reply_with(write: Write, err: impl Fn() -> WriteError) {
    let _ = match write {
        Write::Claim(_, reply) => reply.send(Err(err())).is_ok(),
        Write::Payment(_, reply) => reply.send(Err(err())).is_ok(),
        Write::Tagged { reply, .. } => reply.send(Err(err())).is_ok(),
        Write::Success { reply, .. } => reply.send(Err(err())).is_ok(),
        Write::Failed(_, reply) => reply.send(Err(err())).is_ok(),
    };
}

fn fail_all(batch: Vec<Fenced>, err: &DbErr) {
    tracing::warn!(error = %err, writes = batch.len(), "could not start a pipeline transaction");
    batch.into_iter().for_each(|f| reply_err(f.write, err));
}

pub fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}
