//! The database writes of processing attempts. Every write goes through [`PipelineWriter`]: one
//! task that takes all the writes waiting from every tenant actor and applies them in a single
//! transaction, each inside its own savepoint (a failing write fails alone), and answers each only
//! after the commit. Many tenants processing at once thus share one commit, as webhooks do on the
//! ingest side.
//!
//! What one attempt writes: the claim; then payment upsert, order move and the event's `success`
//! together, unless a GoHighLevel tag is due, in which case the tag is recorded on its own once
//! GoHighLevel accepted it (so a replay never tags again) and `success` follows.

use std::time::Instant;

use chrono::{DateTime, Utc};
use entity::{payment, webhook_event};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tracing::info;
use uuid::Uuid;

use crate::domain::{OrderMove, OrderStatus, PaymentStatus, TenantId};
use crate::mercadopago::MpPayment;
use crate::store::gate::WriteGate;
use crate::store::{db::write_transaction, events, orders, payments};

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

type Reply<T> = oneshot::Sender<Result<T, DbErr>>;

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
    writes: mpsc::UnboundedSender<Write>,
}

impl PipelineWriter {
    /// Starts the writer task; must run inside a tokio runtime.
    pub fn start(db: DatabaseConnection, gate: WriteGate) -> Self {
        let (writes, queue) = mpsc::unbounded_channel();
        tokio::spawn(apply_batches(db, gate, queue));
        Self { writes }
    }

    /// Moves a `pending` event to `processing` and counts the attempt (`None`: not pending).
    pub async fn claim(&self, event: Uuid) -> Result<Option<webhook_event::Model>, DbErr> {
        self.ask(|reply| Write::Claim(event, reply)).await
    }

    pub async fn store_payment(&self, update: PaymentUpdate) -> Result<Stored, DbErr> {
        self.ask(|reply| Write::Payment(Box::new(update), reply))
            .await
    }

    pub async fn mark_tagged(&self, payment: Uuid, contact: String) -> Result<(), DbErr> {
        self.ask(|reply| Write::Tagged {
            payment,
            contact,
            reply,
        })
        .await
    }

    pub async fn mark_success(
        &self,
        event: Uuid,
        payment: Uuid,
        started: Instant,
    ) -> Result<webhook_event::Model, DbErr> {
        self.ask(|reply| Write::Success {
            event,
            payment,
            started,
            reply,
        })
        .await
    }

    pub async fn attempt_failed(
        &self,
        failed: AttemptFailed,
    ) -> Result<webhook_event::Model, DbErr> {
        self.ask(|reply| Write::Failed(failed, reply)).await
    }

    async fn ask<T>(&self, write: impl FnOnce(Reply<T>) -> Write) -> Result<T, DbErr> {
        let (reply, answer) = oneshot::channel();
        let stopped = || DbErr::Custom("the pipeline writer has stopped".into());
        self.writes.send(write(reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn apply_batches(
    db: DatabaseConnection,
    gate: WriteGate,
    mut queue: mpsc::UnboundedReceiver<Write>,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        metrics::histogram!("cobro_pipeline_batch_size").record(batch.len() as f64);
        let _turn = gate.enter_pipeline().await;
        apply_batch(&db, batch).await;
    }
}

/// One transaction; each write in its own savepoint; answers after the commit.
async fn apply_batch(db: &DatabaseConnection, batch: Vec<Write>) {
    let txn = match db.begin_with_options(write_transaction()).await {
        Ok(txn) => txn,
        Err(err) => return fail_all(batch, &err),
    };
    let mut done = Vec::with_capacity(batch.len());
    for write in batch {
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

/// Applies one write; on error hands the write back so its caller can be told.
async fn apply(db: &impl ConnectionTrait, write: Write) -> Result<Done, (DbErr, Write)> {
    match write {
        Write::Claim(event, reply) => match events::claim(db, event).await {
            Ok(model) => Ok(Done::Claim(reply, model)),
            Err(err) => Err((err, Write::Claim(event, reply))),
        },
        Write::Payment(update, reply) => match store_payment(db, &update).await {
            Ok(stored) => Ok(Done::Payment(reply, Box::new(stored))),
            Err(err) => Err((err, Write::Payment(update, reply))),
        },
        Write::Tagged {
            payment,
            contact,
            reply,
        } => match payments::mark_tagged(db, payment, &contact).await {
            Ok(()) => Ok(Done::Tagged(reply)),
            Err(err) => Err((
                err,
                Write::Tagged {
                    payment,
                    contact,
                    reply,
                },
            )),
        },
        Write::Success {
            event,
            payment,
            started,
            reply,
        } => match events::mark_success(db, event, Some(payment), elapsed_ms(started)).await {
            Ok(model) => Ok(Done::Event(reply, model)),
            Err(err) => Err((
                err,
                Write::Success {
                    event,
                    payment,
                    started,
                    reply,
                },
            )),
        },
        Write::Failed(f, reply) => {
            let result = events::mark_attempt_failed(
                db,
                f.event_id,
                f.next_retry_at,
                f.message.clone(),
                f.details.clone(),
                f.processing_ms,
            )
            .await;
            match result {
                Ok(model) => Ok(Done::Event(reply, model)),
                Err(err) => Err((err, Write::Failed(f, reply))),
            }
        }
    }
}

async fn store_payment(db: &impl ConnectionTrait, update: &PaymentUpdate) -> Result<Stored, DbErr> {
    let order_id = update
        .mp
        .external_reference
        .as_deref()
        .and_then(|r| Uuid::parse_str(r).ok());
    let order = match order_id {
        Some(id) => orders::get(db, update.tenant, id).await?,
        None => None,
    };
    let order_ref = order.as_ref().map(|o| o.id);
    let payment = payments::upsert(
        db,
        update.tenant,
        &update.payment_id,
        &update.mp,
        update.status,
        order_ref,
    )
    .await?;
    if let (Some(order), Some(target)) = (&order, update.order_target) {
        log_order_move(
            order.id,
            orders::apply_payment(db, order, target, &update.payment_id).await?,
        );
    }
    let finished = match update.wants_tag && payment.ghl_tagged_at.is_none() {
        true => None,
        false => Some(
            events::mark_success(
                db,
                update.event_id,
                Some(payment.id),
                elapsed_ms(update.started),
            )
            .await?,
        ),
    };
    Ok(Stored { payment, finished })
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
    let err = || DbErr::Custom(err.to_string());
    let _ = match done {
        Done::Claim(reply, _) => reply.send(Err(err())).is_ok(),
        Done::Payment(reply, _) => reply.send(Err(err())).is_ok(),
        Done::Tagged(reply) => reply.send(Err(err())).is_ok(),
        Done::Event(reply, _) => reply.send(Err(err())).is_ok(),
    };
}

fn reply_err(write: Write, err: &DbErr) {
    let err = || DbErr::Custom(err.to_string());
    let _ = match write {
        Write::Claim(_, reply) => reply.send(Err(err())).is_ok(),
        Write::Payment(_, reply) => reply.send(Err(err())).is_ok(),
        Write::Tagged { reply, .. } => reply.send(Err(err())).is_ok(),
        Write::Success { reply, .. } => reply.send(Err(err())).is_ok(),
        Write::Failed(_, reply) => reply.send(Err(err())).is_ok(),
    };
}

fn fail_all(batch: Vec<Write>, err: &DbErr) {
    tracing::warn!(error = %err, writes = batch.len(), "could not start a pipeline transaction");
    batch.into_iter().for_each(|w| reply_err(w, err));
}

pub fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

fn log_order_move(order: Uuid, plan: Option<OrderMove>) {
    match plan {
        Some(OrderMove::Move { from, to }) => {
            info!(%order, from = from.as_str(), to = to.as_str(), "order moved")
        }
        Some(OrderMove::Ignore { from, to }) => info!(
            %order, from = from.as_str(), to = to.as_str(),
            "order not moved: that would go backwards"
        ),
        Some(OrderMove::AlreadyThere) | None => {}
    }
}
