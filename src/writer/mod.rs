//! The write path: every write of the acknowledgement path and of the tenant pipeline goes
//! through [`Writer`]. A writer task commits *cycles*, each one transaction of one kind: the new
//! webhooks waiting (one insert for all), or the pipeline writes waiting (claims, payment updates,
//! successes, failed attempts: one update for all claims, one upsert for all payments, one update
//! for all successes), answering each caller only after the commit.
//!
//! Why one path: SQLite has a single writer. Two writers taking turns paid a transaction and
//! several statements per write; a cycle pays a handful of statements for hundreds of writes, and
//! one fsync for every webhook in it (`synchronous=FULL` for every webhook cycle; pipeline cycles
//! may commit `NORMAL`, see `store::db::relaxed_synchronous`). Why one kind per cycle: a webhook
//! in a cycle with dozens of processing writes waited for all of them; alone, it waits for its
//! own short cycle, and webhooks go first when both kinds wait, processing keeping a share of the
//! writer's time (`task`, `share`). On SQLite all cycles commit on one connection of the
//! writer's own, on the writer's thread (`store::owned_sqlite`): its statements are function
//! calls, not hand-offs to a connection thread, and its page cache stays warm. If a cycle fails,
//! it is redone one write at a time in savepoints ([`one_by_one`]), so a bad write fails alone.
//! The tasks run on a thread of their own, and a pipeline cycle may wait a moment for the tenants
//! the previous one answered (group commit, see `task`).
//!
//! On PostgreSQL a few writer tasks share the queues and commit cycles in parallel; a cycle never
//! holds two writes of one tenant's attempt (they wait for each other) and the unique index
//! settles concurrent duplicates. In a cluster every pipeline write carries its tenant's
//! [`FenceToken`]; a cycle first share-locks the leases this node still holds, and a write whose
//! fence is not among them is refused with [`WriteError::LeaseLost`].

mod both_paths;
mod cycle;
mod history;
mod lanes;
mod messages;
mod notices;
mod one_by_one;
mod replies;
mod share;
mod task;
mod together;
mod txn;

pub use messages::{
    AttemptFailed, Claimed, Connections, Finished, PaymentStored, PaymentUpdate, Relaxed,
    StoreError, WriteError, elapsed_ms,
};
pub use txn::WriteDb;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use entity::webhook_event;
use sea_orm::DbErr;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::domain::{EventId, PaymentId};
use crate::lease::FenceToken;
use crate::store::deliveries::NewDelivery;
use crate::store::events::{NewEvent, Stored};
use crate::store::gate::WriteGate;
use crate::store::resources::{ResourceStored, ResourceWrite};
use messages::{Answer, Fenced, Ingest, Reply, Write};

/// Webhooks that may wait for a cycle before handlers wait to hand theirs over.
const INGEST_QUEUE: usize = 8192;

#[derive(Clone)]
pub struct Writer {
    ingest: mpsc::Sender<Ingest>,
    pipeline: mpsc::UnboundedSender<Fenced>,
    /// Cycles whose set-based transaction failed and were redone one write at a time. Each is
    /// logged; a steady count means the fast path is broken (the fallback hides it otherwise).
    redone: Arc<AtomicU64>,
    lanes: Arc<lanes::Lanes>,
}

impl Writer {
    /// Starts `tasks` writer tasks sharing the queues (one for SQLite's single writer; a few let
    /// PostgreSQL commit cycles in parallel). `node` is this node's cluster id (PostgreSQL), under
    /// which fenced writes are checked.
    ///
    /// The tasks run on a thread of their own (`cobro-writer`, its own single-threaded runtime),
    /// not on the thread of the supervisor and the WebSocket hub: every event waits for a cycle
    /// twice, so a cycle must start the moment the previous one ends, not when that busy thread
    /// gets round to it. The thread ends when every handle is gone and the queues are empty.
    pub fn start(
        connections: Connections,
        gate: WriteGate,
        node: Option<Arc<str>>,
        tasks: usize,
    ) -> std::io::Result<Self> {
        let (ingest, ingest_queue) = mpsc::channel(INGEST_QUEUE);
        let (pipeline, pipeline_queue) = mpsc::unbounded_channel();
        let queues = Arc::new(Mutex::new(task::Queues::new(ingest_queue, pipeline_queue)));
        let redone = Arc::new(AtomicU64::new(0));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let counter = redone.clone();
        let lanes = Arc::new(lanes::Lanes::new(tasks));
        let shared_lanes = lanes.clone();
        std::thread::Builder::new()
            .name("cobro-writer".into())
            .spawn(move || {
                let writers = (0..tasks.max(1)).map(|_| {
                    task::run(
                        connections.clone(),
                        gate.clone(),
                        node.clone(),
                        queues.clone(),
                        shared_lanes.clone(),
                        counter.clone(),
                    )
                });
                runtime.block_on(futures_util::future::join_all(writers));
            })?;
        Ok(Self {
            ingest,
            pipeline,
            redone,
            lanes,
        })
    }

    /// Cycles redone one write at a time since this writer started.
    pub fn cycles_redone(&self) -> u64 {
        self.redone.load(Ordering::Relaxed)
    }

    /// Stores a webhook (a duplicate's delivery row in the same commit); returns once it is
    /// committed (or found to be a duplicate).
    pub async fn store(&self, event: NewEvent) -> Result<Stored, StoreError> {
        let store = async {
            let (reply, answer) = oneshot::channel();
            self.ingest
                .send(Ingest::Webhook { event, reply })
                .await
                .map_err(|_| StoreError::Stopped)?;
            answer.await.map_err(|_| StoreError::Stopped)?
        };
        self.lanes.webhook(store).await
    }

    /// Appends a delivery-log row with the next webhook cycle, without waiting for it; `false`
    /// when the writer's queue is full (the row is dropped, never the webhook's answer delayed).
    pub fn log(&self, delivery: NewDelivery) -> bool {
        self.ingest
            .try_send(Ingest::Logged(Box::new(delivery)))
            .is_ok()
    }

    /// Moves a `pending` event to `processing` and counts the attempt (`None`: not pending).
    pub fn claim(
        &self,
        lease: Option<FenceToken>,
        event: EventId,
    ) -> impl Future<Output = Result<Option<webhook_event::Model>, WriteError>> + use<> {
        self.ask(lease, Write::Claim(event), Vec::new(), Reply::Claim)
    }

    /// Steps 4–5, and 7 when no tag is due. `then_claim` is claimed in the same commit when the
    /// event is finished by it (only asked for when no tag can be due).
    pub fn store_payment(
        &self,
        lease: Option<FenceToken>,
        update: PaymentUpdate,
        then_claim: Vec<EventId>,
    ) -> impl Future<Output = Result<PaymentStored, WriteError>> + use<> {
        let write = Write::Payment(Box::new(update));
        self.ask(lease, write, then_claim, Reply::Payment)
    }

    /// Stores what an attempt on an order, dispute, fraud alert or claim fetched; finishes the
    /// event when no GoHighLevel work is left.
    pub fn store_resource(
        &self,
        lease: Option<FenceToken>,
        write: ResourceWrite,
    ) -> impl Future<Output = Result<ResourceStored, WriteError>> + use<> {
        let write = Write::Resource(Box::new(write));
        self.ask(lease, write, Vec::new(), Reply::Resource)
    }

    pub fn mark_untagged(
        &self,
        lease: Option<FenceToken>,
        payment: PaymentId,
    ) -> impl Future<Output = Result<(), WriteError>> + use<> {
        self.ask(lease, Write::Untagged(payment), Vec::new(), Reply::Done)
    }

    pub fn mark_tagged(
        &self,
        lease: Option<FenceToken>,
        payment: PaymentId,
        contact: String,
    ) -> impl Future<Output = Result<(), WriteError>> + use<> {
        let write = Write::Tagged { payment, contact };
        self.ask(lease, write, Vec::new(), Reply::Done)
    }

    /// Step 7. `then_claim` (the tenant's next queued events) is claimed in the same commit: the
    /// tenant's next attempts start without a cycle of their own for the claim.
    pub fn mark_success(
        &self,
        lease: Option<FenceToken>,
        event: EventId,
        payment: Option<PaymentId>,
        started: Instant,
        tagged: bool,
        then_claim: Vec<EventId>,
    ) -> impl Future<Output = Result<Finished, WriteError>> + use<> {
        let write = Write::Success {
            event,
            payment,
            started,
            tagged,
        };
        self.ask(lease, write, then_claim, Reply::Finished)
    }

    /// Records a failed attempt; `then_claim` as for [`Writer::mark_success`].
    pub fn attempt_failed(
        &self,
        lease: Option<FenceToken>,
        failed: AttemptFailed,
        then_claim: Vec<EventId>,
    ) -> impl Future<Output = Result<Finished, WriteError>> + use<> {
        let write = Write::Failed(failed);
        self.ask(lease, write, then_claim, Reply::Finished)
    }

    /// Puts a claimed event that will not be processed now back to `pending`, uncounting the
    /// attempt its claim counted.
    pub fn release(
        &self,
        lease: Option<FenceToken>,
        event: EventId,
    ) -> impl Future<Output = Result<(), WriteError>> + use<> {
        self.ask(lease, Write::Release(event), Vec::new(), Reply::Done)
    }

    /// Records an outbound message's attempt (SPEC §21) in the next pipeline cycle; in a cluster
    /// only while `lease` (the message's tenant's) is still this node's.
    pub fn record_outbound(
        &self,
        lease: Option<FenceToken>,
        record: crate::store::outbound::messages::AttemptRecord,
    ) -> impl Future<Output = Result<(), WriteError>> + use<> {
        let write = Write::Outbound(Box::new(record));
        self.ask(lease, write, Vec::new(), Reply::Done)
    }

    /// Queues a pipeline write at once (not when the answer is first polled: writes queued one
    /// after the other are committed in that order, and a caller may go on working while its
    /// write waits for a cycle) and answers the cycle's result; `reply` is the kind of answer the
    /// caller waits for.
    fn ask<T: 'static>(
        &self,
        lease: Option<FenceToken>,
        write: Write,
        then_claim: Vec<EventId>,
        reply: fn(Answer<T>) -> Reply,
    ) -> impl Future<Output = Result<T, WriteError>> + use<T> {
        let (to, answer) = oneshot::channel();
        let then_claim = match write.ends_attempt() {
            true => then_claim,
            false => Vec::new(),
        };
        let queued = self.pipeline.send(Fenced {
            lease,
            write,
            then_claim,
            reply: reply(to),
        });
        async move {
            queued.map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())?
        }
    }
}

fn stopped() -> WriteError {
    WriteError::Database(DbErr::Custom("the writer has stopped".into()))
}
