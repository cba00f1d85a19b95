//! The fast path of a cycle: one transaction, no savepoints, one statement per kind of write
//! whatever their number (all new webhooks, all claims, all payment upserts, all successes).
//! Tags, failed attempts and releases are rare and written one by one. A write that ends an
//! attempt may name the tenant's next event: it is claimed by the same claim statement. Any error abandons the whole
//! transaction (nothing of it is kept) and the cycle is redone by `one_by_one`.

use std::collections::HashMap;

use sea_orm::DbErr;

use super::both_paths::{
    Deliveries, Leases, Outcome, Writes, finishes, held_leases, log_order_move, order_reference,
    record_failed,
};
use super::history::attempt_row;
use super::messages::{
    Claimed, PaymentStored, PaymentUpdate, Write, WriteError, Written, elapsed_ms,
};
use super::notices;
use super::txn::WriteDb;
use crate::domain::{EventId, OrderId, OrderMove};
use crate::lease::{FenceToken, LeaseLost};
use crate::store::events::{self, NewEvent};
use crate::store::many::{self, Success};
use crate::store::payments::StoredPayment;
use crate::store::run::Run;
use crate::store::{attempts, deliveries, orders, outbound, payments, resources};

type Results = Vec<Option<Result<Written, WriteError>>>;

pub(super) async fn commit(
    db: &WriteDb,
    node: Option<&str>,
    (events, deliveries): (&[NewEvent], &Deliveries),
    writes: &Writes,
) -> Result<Outcome, DbErr> {
    let txn = db.begin().await?;
    let held = held_leases(&txn, node, &writes.leases).await?;
    let stored = match events.is_empty() {
        true => Vec::new(),
        false => events::insert_batch(&txn, events).await?,
    };
    // A duplicate's delivery row commits with the answer it was given, or not at all.
    deliveries::insert_many(&txn, &deliveries.rows(events, &stored)).await?;
    let mut results: Results = refuse_lost(&writes.leases, &held);
    let live: Vec<(usize, &Write)> = writes
        .writes
        .iter()
        .enumerate()
        .filter(|(i, _)| results[*i].is_none())
        .collect();
    let next = claims(&txn, &live, &writes.then_claim, &mut results).await?;
    let payments = store_payments(&txn, &live).await?;
    finish(&txn, &live, payments, &mut results).await?;
    rare_writes(&txn, &live, &mut results).await?;
    let done = live.iter().filter_map(|(i, write)| match &results[*i] {
        Some(Ok(written)) => Some((*write, written)),
        _ => None,
    });
    let messages_written = notices::enqueue(&txn, done).await?;
    record_attempts(&txn, node, &live, &results).await?;
    txn.commit().await?;
    let writes = results
        .into_iter()
        .map(|r| r.ok_or(DbErr::Custom("a write was left unanswered".into())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Outcome {
        events: Ok(stored),
        writes,
        next,
        messages_written,
    })
}

/// Writes whose lease is gone are answered at once and made by nobody.
fn refuse_lost(leases: &[Option<FenceToken>], held: &Leases) -> Results {
    leases
        .iter()
        .map(|lease| {
            held.lost(lease)
                .then(|| Err(WriteError::LeaseLost(LeaseLost)))
        })
        .collect()
}

/// Every claim of the cycle in one statement: the explicit ones and the next events named by
/// writes that end an attempt. Answers the latter, by write.
async fn claims(
    txn: &impl Run,
    live: &[(usize, &Write)],
    then_claim: &[Vec<EventId>],
    results: &mut Results,
) -> Result<Vec<Vec<Claimed>>, DbErr> {
    let next_of = |i: usize| then_claim.get(i).map(Vec::as_slice).unwrap_or_default();
    let ids: Vec<EventId> = live
        .iter()
        .flat_map(|(i, w)| match w {
            Write::Claim(id) => std::slice::from_ref(id),
            _ => next_of(*i),
        })
        .copied()
        .collect();
    let mut claimed = many::claim_many(txn, &ids).await?;
    let mut next: Vec<Vec<Claimed>> = std::iter::repeat_with(Vec::new)
        .take(then_claim.len())
        .collect();
    for (i, write) in live {
        if let Write::Claim(id) = write {
            results[*i] = Some(Ok(Written::Claim(claimed.remove(id))));
        } else {
            next[*i] = next_of(*i)
                .iter()
                .map(|&id| Claimed {
                    id,
                    event: claimed.remove(&id),
                })
                .collect();
        }
    }
    Ok(next)
}

/// Steps 4–5 of every payment update: one upsert for all, then the orders they move.
async fn store_payments<'a>(
    txn: &impl Run,
    live: &[(usize, &'a Write)],
) -> Result<Vec<StoredUpdate<'a>>, DbErr> {
    let updates: Vec<(usize, &PaymentUpdate)> = live
        .iter()
        .filter_map(|(i, w)| match w {
            Write::Payment(update) => Some((*i, update.as_ref())),
            _ => None,
        })
        .collect();
    // Orders by id, kept current as this cycle moves them: two payments of one order in a cycle
    // must each be planned from the status the one before left (never backwards).
    let mut orders: HashMap<OrderId, entity::order::Model> = HashMap::new();
    let mut rows = Vec::with_capacity(updates.len());
    for (_, update) in &updates {
        let order = match order_reference(update) {
            Some(id) if orders.contains_key(&id) => Some(id),
            Some(id) => orders::get(txn, update.tenant, id).await?.map(|order| {
                orders.insert(id, order);
                id
            }),
            None => None,
        };
        rows.push(payments::new_row(
            update.tenant,
            &update.payment_id,
            &update.snapshot,
            order,
        ));
    }
    let mut stored = many::upsert_payments(txn, rows).await?;
    let mut done = Vec::with_capacity(updates.len());
    for (i, update) in updates {
        let payment = stored
            .remove(&update.key())
            .ok_or(DbErr::RecordNotInserted)?;
        let order = order_reference(update).and_then(|id| orders.get_mut(&id));
        let mut moved = None;
        if let (Some(order), Some(target)) = (order, update.order_target()) {
            let plan = orders::apply_payment(txn, order, target, &update.payment_id).await?;
            if let Some(OrderMove::Move { to, .. }) = &plan {
                order.status = to.as_str().into();
                moved = Some(OrderId(order.id));
            }
            log_order_move(OrderId(order.id), plan);
        }
        done.push((i, update, payment, moved));
    }
    Ok(done)
}

/// A payment update as stored: its write's index, the update, the row, the order it moved.
type StoredUpdate<'a> = (usize, &'a PaymentUpdate, StoredPayment, Option<OrderId>);

/// Step 7 for every payment update that needs no tag and every explicit success: one update.
async fn finish(
    txn: &impl Run,
    live: &[(usize, &Write)],
    payments: Vec<StoredUpdate<'_>>,
    results: &mut Results,
) -> Result<(), DbErr> {
    let mut done: Vec<Success> = payments
        .iter()
        .filter(|(_, update, payment, _)| finishes(update.wants_tag, payment))
        .map(|(_, update, payment, _)| Success {
            event: update.event_id,
            payment: Some(payment.payment_id()),
            processing_ms: elapsed_ms(update.started),
        })
        .collect();
    done.extend(live.iter().filter_map(|(_, w)| match w {
        Write::Success {
            event,
            payment,
            started,
            ..
        } => Some(Success {
            event: *event,
            payment: *payment,
            processing_ms: elapsed_ms(*started),
        }),
        _ => None,
    }));
    let mut finished = many::mark_success_many(txn, &done).await?;
    let mut take = |event: &EventId| finished.remove(event).ok_or(DbErr::RecordNotUpdated);
    for (i, update, payment, order_moved) in payments {
        let finished = match finishes(update.wants_tag, &payment) {
            true => Some(take(&update.event_id)?),
            false => None,
        };
        let stored = PaymentStored {
            payment,
            finished,
            next: Vec::new(),
            order_moved,
        };
        results[i] = Some(Ok(Written::Payment(Box::new(stored))));
    }
    for (i, write) in live {
        if let Write::Success { event, .. } = write {
            results[*i] = Some(Ok(Written::Event(take(event)?)));
        }
    }
    Ok(())
}

/// The history of every attempt this cycle ended, one insert, in the same transaction.
async fn record_attempts(
    txn: &impl Run,
    node: Option<&str>,
    live: &[(usize, &Write)],
    results: &Results,
) -> Result<(), DbErr> {
    let rows = live
        .iter()
        .filter_map(|(i, write)| match &results[*i] {
            Some(Ok(written)) => attempt_row(node, write, written),
            _ => None,
        })
        .collect();
    attempts::insert_many(txn, rows).await
}

/// Tags recorded or taken back, failed attempts, releases and the attempts on orders, disputes,
/// fraud alerts and claims (rare next to payments): one write at a time.
async fn rare_writes(
    txn: &impl Run,
    live: &[(usize, &Write)],
    results: &mut Results,
) -> Result<(), DbErr> {
    for (i, write) in live {
        let written = match write {
            Write::Tagged { payment, contact } => {
                payments::mark_tagged(txn, *payment, contact).await?;
                Written::Done
            }
            Write::Untagged(payment) => {
                payments::mark_untagged(txn, *payment).await?;
                Written::Done
            }
            Write::Resource(write) => {
                Written::Resource(Box::new(resources::apply(txn, write).await?))
            }
            Write::Failed(f) => Written::Event(record_failed(txn, f).await?),
            Write::Release(event) => {
                events::release(txn, *event).await?;
                Written::Done
            }
            Write::Outbound(record) => {
                outbound::messages::apply_record(txn, record).await?;
                Written::Done
            }
            _ => continue,
        };
        results[*i] = Some(Ok(written));
    }
    Ok(())
}
