//! What one pipeline write does to the database, inside the writer's transaction and its own
//! savepoint: claim, the payment step (upsert, order move, and `success` when no tag is due), the
//! tag record, `success`, a failed attempt.

use sea_orm::{ConnectionTrait, DbErr};
use tracing::info;
use uuid::Uuid;

use super::{Done, PaymentUpdate, Stored, Write, elapsed_ms};
use crate::domain::OrderMove;
use crate::store::{events, orders, payments};

/// Applies one write; on error hands the write back so its caller can be told.
pub(super) async fn apply(db: &impl ConnectionTrait, write: Write) -> Result<Done, (DbErr, Write)> {
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
