//! The database writes of a processing attempt, grouped into as few transactions as correctness
//! allows. The common case (no GoHighLevel tag to add) is one transaction after the claim:
//! payment upsert, order move and the event's `success` commit together. When a tag must be added,
//! the payment is committed first, the tag is recorded on its own once GoHighLevel accepted it
//! (so a replay never tags again), and then the event is marked `success`.

use std::time::Instant;

use entity::{payment, webhook_event};
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use tracing::info;
use uuid::Uuid;

use crate::domain::{OrderMove, OrderStatus, PaymentStatus, TenantId};
use crate::mercadopago::MpPayment;
use crate::store::{db::write_transaction, events, orders, payments};

/// What steps 4–5 (and, when nothing else is left, step 7) wrote.
pub struct Stored {
    pub payment: payment::Model,
    /// The event marked `success`, unless a tag still has to be added first.
    pub finished: Option<webhook_event::Model>,
}

pub struct PaymentUpdate<'a> {
    pub tenant: TenantId,
    pub event_id: Uuid,
    pub payment_id: &'a str,
    pub mp: &'a MpPayment,
    pub status: PaymentStatus,
    pub order_target: Option<OrderStatus>,
    /// The tenant wants approved buyers tagged (GoHighLevel configured and status approved).
    pub wants_tag: bool,
    pub started: Instant,
}

pub async fn store_payment(
    db: &DatabaseConnection,
    update: PaymentUpdate<'_>,
) -> Result<Stored, DbErr> {
    let txn = db.begin_with_options(write_transaction()).await?;
    let order_id = update
        .mp
        .external_reference
        .as_deref()
        .and_then(|r| Uuid::parse_str(r).ok());
    let order = match order_id {
        Some(id) => orders::get(&txn, update.tenant, id).await?,
        None => None,
    };
    let order_ref = order.as_ref().map(|o| o.id);
    let payment = payments::upsert(
        &txn,
        update.tenant,
        update.payment_id,
        update.mp,
        update.status,
        order_ref,
    )
    .await?;
    if let (Some(order), Some(target)) = (&order, update.order_target) {
        log_order_move(
            order.id,
            orders::apply_payment(&txn, order, target, update.payment_id).await?,
        );
    }
    let needs_tag = update.wants_tag && payment.ghl_tagged_at.is_none();
    let finished = match needs_tag {
        true => None,
        false => Some(
            events::mark_success(
                &txn,
                update.event_id,
                Some(payment.id),
                elapsed_ms(update.started),
            )
            .await?,
        ),
    };
    txn.commit().await?;
    Ok(Stored { payment, finished })
}

/// After the tag was added and recorded: the event's own `success`.
pub async fn finish(
    db: &DatabaseConnection,
    event_id: Uuid,
    payment_id: Uuid,
    started: Instant,
) -> Result<webhook_event::Model, DbErr> {
    events::mark_success(db, event_id, Some(payment_id), elapsed_ms(started)).await
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
