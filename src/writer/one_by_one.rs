//! The fallback of a failed cycle: the same writes in one transaction, the webhooks in one
//! savepoint and each pipeline write in its own, so a write that fails (or a batch of webhooks
//! that cannot be stored) fails alone and the others are still made.

use sea_orm::DbErr;

use super::both_paths::{
    Deliveries, Outcome, Writes, finishes, held_leases, log_order_move, order_reference,
    record_failed,
};
use super::history::attempt_row;
use super::messages::{
    Claimed, PaymentStored, PaymentUpdate, StoreError, Write, WriteError, Written, elapsed_ms,
};
use super::notices;
use super::replies::database;
use super::txn::{Txn, WriteDb};
use crate::domain::{EventId, OrderId, OrderMove};
use crate::lease::LeaseLost;
use crate::store::deliveries::NewDelivery;
use crate::store::events::{self, NewEvent, Stored};
use crate::store::payments::StoredPayment;
use crate::store::run::Run;
use crate::store::{attempts, deliveries, orders, outbound, payments, resources};

pub(super) async fn commit(
    db: &WriteDb,
    node: Option<&str>,
    (events, deliveries): (&[NewEvent], &Deliveries),
    writes: &Writes,
) -> Outcome {
    let count = writes.writes.len();
    let txn = match db.begin().await {
        Ok(txn) => txn,
        Err(err) => return Outcome::failed(count, &err),
    };
    let held = match held_leases(&txn, node, &writes.leases).await {
        Ok(held) => held,
        Err(err) => return Outcome::failed(count, &err),
    };
    let stored = store_events(&txn, events).await;
    log_alone(&txn, &deliveries.alone).await;
    let mut results = Vec::with_capacity(count);
    let mut next = Vec::with_capacity(count);
    let mut messages_written = false;
    for ((lease, write), then_claim) in writes
        .leases
        .iter()
        .zip(&writes.writes)
        .zip(&writes.then_claim)
    {
        if held.lost(lease) {
            results.push(Err(WriteError::LeaseLost(LeaseLost)));
            next.push(Vec::new());
            continue;
        }
        let (result, claimed) = match in_savepoint(&txn, node, write, then_claim).await {
            Ok((written, claimed, wrote)) => {
                messages_written |= wrote;
                (Ok(written), claimed)
            }
            Err(err) => (Err(err), Vec::new()),
        };
        results.push(result);
        next.push(claimed);
    }
    match txn.commit().await {
        Ok(()) => Outcome {
            events: stored,
            writes: results,
            next,
            messages_written,
        },
        Err(err) => Outcome::failed(count, &err),
    }
}

/// The webhooks and their duplicates' delivery rows, in one savepoint: an acknowledged webhook
/// always has its record.
async fn store_events(txn: &Txn<'_>, events: &[NewEvent]) -> Result<Vec<Stored>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let failed = |err: DbErr| StoreError::Database(err.to_string());
    let savepoint = txn.savepoint().await.map_err(failed)?;
    let both = async {
        let stored = events::insert_batch(&savepoint, events).await?;
        let duplicates = Deliveries { alone: Vec::new() };
        deliveries::insert_many(&savepoint, &duplicates.rows(events, &stored)).await?;
        Ok::<_, DbErr>(stored)
    };
    match both.await {
        Ok(stored) => savepoint.commit().await.map(|()| stored).map_err(failed),
        Err(err) => {
            let _ = savepoint.rollback().await;
            Err(failed(err))
        }
    }
}

/// The rows of requests answered without an event, in a savepoint of their own: if they cannot
/// be written they are lost (and counted), never the cycle's webhooks.
async fn log_alone(txn: &Txn<'_>, alone: &[NewDelivery]) {
    if alone.is_empty() {
        return;
    }
    let Ok(savepoint) = txn.savepoint().await else {
        return;
    };
    match deliveries::insert_many(&savepoint, alone).await {
        Ok(()) => {
            let _ = savepoint.commit().await;
        }
        Err(err) => {
            tracing::warn!(error = %err, rows = alone.len(), "delivery-log rows not written");
            metrics::counter!("cobro_deliveries_unlogged_total").increment(alone.len() as u64);
            let _ = savepoint.rollback().await;
        }
    }
}

/// One write, its outbound messages, and the next events it names, in a savepoint of their own.
async fn in_savepoint(
    txn: &Txn<'_>,
    node: Option<&str>,
    write: &Write,
    then_claim: &[EventId],
) -> Result<(Written, Vec<Claimed>, bool), WriteError> {
    let savepoint = txn.savepoint().await?;
    let both = async {
        let written = apply(&savepoint, write).await?;
        let wrote = notices::enqueue(&savepoint, [(write, &written)]).await?;
        let history = attempt_row(node, write, &written).into_iter().collect();
        attempts::insert_many(&savepoint, history).await?;
        let mut claimed = Vec::with_capacity(then_claim.len());
        for &id in then_claim {
            let event = events::claim(&savepoint, id).await?;
            claimed.push(Claimed { id, event });
        }
        Ok::<_, DbErr>((written, claimed, wrote))
    };
    match both.await {
        Ok(done) => {
            savepoint.commit().await?;
            Ok(done)
        }
        Err(err) => {
            let _ = savepoint.rollback().await;
            Err(database(&err))
        }
    }
}

/// Applies one write.
async fn apply(db: &impl Run, write: &Write) -> Result<Written, DbErr> {
    Ok(match write {
        Write::Claim(event) => Written::Claim(events::claim(db, *event).await?),
        Write::Payment(update) => Written::Payment(Box::new(store_payment(db, update).await?)),
        Write::Tagged { payment, contact } => {
            payments::mark_tagged(db, *payment, contact).await?;
            Written::Done
        }
        Write::Untagged(payment) => {
            payments::mark_untagged(db, *payment).await?;
            Written::Done
        }
        Write::Resource(write) => Written::Resource(Box::new(resources::apply(db, write).await?)),
        Write::Success {
            event,
            payment,
            started,
            ..
        } => {
            Written::Event(events::mark_success(db, *event, *payment, elapsed_ms(*started)).await?)
        }
        Write::Failed(f) => Written::Event(record_failed(db, f).await?),
        Write::Release(event) => {
            events::release(db, *event).await?;
            Written::Done
        }
        Write::Outbound(record) => {
            outbound::messages::apply_record(db, record).await?;
            Written::Done
        }
    })
}

async fn store_payment(db: &impl Run, update: &PaymentUpdate) -> Result<PaymentStored, DbErr> {
    let order = match order_reference(update) {
        Some(id) => orders::get(db, update.tenant, id).await?,
        None => None,
    };
    let order_ref = order.as_ref().map(|o| OrderId(o.id));
    let payment: StoredPayment = payments::upsert(
        db,
        update.tenant,
        &update.payment_id,
        &update.snapshot,
        order_ref,
    )
    .await?
    .into();
    let mut order_moved = None;
    if let (Some(order), Some(target)) = (&order, update.order_target()) {
        let plan = orders::apply_payment(db, order, target, &update.payment_id).await?;
        if let Some(OrderMove::Move { .. }) = &plan {
            order_moved = Some(OrderId(order.id));
        }
        log_order_move(OrderId(order.id), plan);
    }
    let finished = match finishes(update.wants_tag, &payment) {
        false => None,
        true => Some(
            events::mark_success(
                db,
                update.event_id,
                Some(payment.payment_id()),
                elapsed_ms(update.started),
            )
            .await?,
        ),
    };
    Ok(PaymentStored {
        payment,
        finished,
        next: Vec::new(),
        order_moved,
    })
}
