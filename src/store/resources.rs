//! The writes of an attempt on a notification that is not about one payment (SPEC §17): an
//! order of the Orders API with its payments, a dispute, a fraud alert, a claim. Applied by the
//! writer one statement at a time (these topics are rare next to payments), inside the cycle's
//! transaction: payments upserted with what the notification adds to them (the dispute, the
//! claim, the fraud flag), the Cobro order moved (never backwards, except a fraud alert's
//! cancellation), and the event marked `success` when no GoHighLevel work is left.

use chrono::Utc;
use entity::payment::{ActiveModel as PaymentRow, Model as Payment};
use sea_orm::ActiveValue::{Set, Unchanged};
use sea_orm::DbErr;
use serde_json::Value;
use uuid::Uuid;

use super::payments::StoredPayment;
use super::run::{self, Run};
use super::{events, orders, payments};
use crate::domain::{
    EventId, OrderId, OrderMove, OrderStatus, PaymentSnapshot, PaymentStatus, TenantId,
};

/// What one attempt writes.
#[derive(Debug, Clone)]
pub struct ResourceWrite {
    pub tenant: TenantId,
    pub event_id: EventId,
    pub payments: Vec<PaymentChange>,
    pub order: Option<OrderChange>,
    /// The tenant tags buyers in GoHighLevel: a payment may then still need its tag added (or,
    /// after a fraud alert, removed) before the event is done.
    pub ghl: bool,
    /// Kept in `last_error` of a success that fetched nothing ("superseded by version N").
    pub note: Option<String>,
    pub processing_ms: i64,
}

/// A payment as fetched, and what the notification adds to it.
#[derive(Debug, Clone)]
pub struct PaymentChange {
    pub payment_id: String,
    pub snapshot: PaymentSnapshot,
    pub fraud_alert: bool,
    pub dispute: Option<Value>,
    pub claim: Option<Value>,
}

/// The Cobro order a notification moves.
#[derive(Debug, Clone)]
pub struct OrderChange {
    /// The provider's `external_reference`: a Cobro order id when the platform set it.
    pub reference: String,
    pub target: OrderStatus,
    /// A fraud alert: cancel even a paid order, and flag it.
    pub fraud: bool,
}

/// What the write did.
#[derive(Debug, Clone)]
pub struct ResourceStored {
    /// Each payment as stored, with its status before (`None`: new).
    pub payments: Vec<(StoredPayment, Option<String>)>,
    /// The Cobro order moved, and its status after the write.
    pub order: Option<(Uuid, String)>,
    /// The event marked `success` (no GoHighLevel work left).
    pub finished: Option<entity::webhook_event::Model>,
}

impl ResourceWrite {
    /// Whether a stored payment still needs GoHighLevel: an approved buyer to tag, or a fraud
    /// alert's tag to take back.
    pub fn ghl_due(&self, stored: &StoredPayment) -> bool {
        self.ghl
            && match stored.fraud_alert {
                true => stored.ghl_tagged_at.is_some(),
                false => {
                    stored.status == PaymentStatus::Approved.as_str()
                        && stored.ghl_tagged_at.is_none()
                }
            }
    }
}

pub async fn apply(db: &impl Run, write: &ResourceWrite) -> Result<ResourceStored, DbErr> {
    let order = match &write.order {
        Some(change) => match Uuid::parse_str(&change.reference) {
            Ok(id) => orders::get(db, write.tenant, OrderId(id)).await?,
            Err(_) => None,
        },
        None => None,
    };
    let mut stored = Vec::with_capacity(write.payments.len());
    for change in &write.payments {
        stored.push(store_payment(db, write.tenant, change, order.as_ref()).await?);
    }
    let moved = match (&order, &write.order) {
        (Some(order), Some(change)) => Some(move_order(db, order, change, &write.payments).await?),
        _ => None,
    };
    let due = stored.iter().any(|(payment, _)| write.ghl_due(payment));
    let finished = match due {
        true => None,
        false => {
            let payment = stored.first().map(|(p, _)| p.payment_id());
            let done =
                events::mark_success(db, write.event_id, payment, write.processing_ms).await?;
            Some(match &write.note {
                Some(note) => events::note_success(db, write.event_id, note).await?,
                None => done,
            })
        }
    };
    Ok(ResourceStored {
        payments: stored,
        order: moved,
        finished,
    })
}

async fn store_payment(
    db: &impl Run,
    tenant: TenantId,
    change: &PaymentChange,
    order: Option<&entity::order::Model>,
) -> Result<(StoredPayment, Option<String>), DbErr> {
    let provider = change.snapshot.provider;
    let before = payments::get_at(db, tenant, provider, &change.payment_id).await?;
    let order_id = order
        .map(|o| o.id)
        .or(before.as_ref().and_then(|p| p.order_id))
        .map(OrderId);
    let row = payments::upsert(db, tenant, &change.payment_id, &change.snapshot, order_id).await?;
    let row = mark(db, row, change).await?;
    let previous = before.map(|p| p.status);
    Ok((row.into(), previous))
}

/// What the notification adds to the payment; a flag once raised stays raised, and a dispute or
/// claim is replaced only by a newer one.
async fn mark(db: &impl Run, row: Payment, change: &PaymentChange) -> Result<Payment, DbErr> {
    if !change.fraud_alert && change.dispute.is_none() && change.claim.is_none() {
        return Ok(row);
    }
    let mut update = PaymentRow {
        id: Unchanged(row.id),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    if change.fraud_alert {
        update.fraud_alert = Set(true);
    }
    if let Some(dispute) = &change.dispute {
        update.dispute = Set(Some(dispute.clone()));
    }
    if let Some(claim) = &change.claim {
        update.claim = Set(Some(claim.clone()));
    }
    run::update_one(db, update).await
}

/// Moves the order by the state machine; a fraud alert cancels it even from `PAID` (SPEC §17:
/// the one move out of `PAID` that is neither a refund nor a chargeback) and flags it.
async fn move_order(
    db: &impl Run,
    order: &entity::order::Model,
    change: &OrderChange,
    payments: &[PaymentChange],
) -> Result<(Uuid, String), DbErr> {
    let payment_id = payments
        .first()
        .map(|p| p.payment_id.as_str())
        .unwrap_or_default();
    let current = OrderStatus::parse(&order.status);
    let fraud_cancels = change.fraud
        && matches!(
            current,
            Some(
                OrderStatus::Created
                    | OrderStatus::PendingPayment
                    | OrderStatus::Paid
                    | OrderStatus::Rejected
            )
        );
    let status = match fraud_cancels {
        true => {
            orders::force_status(db, OrderId(order.id), OrderStatus::Cancelled, payment_id).await?;
            OrderStatus::Cancelled.as_str().to_owned()
        }
        false => match orders::apply_payment(db, order, change.target, payment_id).await? {
            Some(OrderMove::Move { to, .. }) => to.as_str().to_owned(),
            _ => order.status.clone(),
        },
    };
    if change.fraud {
        orders::flag_fraud(db, OrderId(order.id)).await?;
    }
    Ok((order.id, status))
}
