//! What the platform's backend is told of a cycle's writes (SPEC §21): each write that changed a
//! payment, an order, a dispute, a fraud alert or a claim, or sent an event to the dead letter,
//! gives [`Notice`]s, and [`enqueue`] writes their messages in the cycle's own transaction (the
//! outbox). Both ways of committing a cycle call it, so a change never commits without them.

use sea_orm::DbErr;
use serde_json::{Value, json};

use super::messages::{PaymentStored, PaymentUpdate, Write, Written};
use crate::domain::{OrderId, OutboundType, TenantId};
use crate::publish::{PaymentStatusUpdated, WebhookEventUpdated};
use crate::store::orders;
use crate::store::outbound::outbox::{self, Notice};
use crate::store::resources::{ResourceStored, ResourceWrite};
use crate::store::run::Run;

/// Writes the messages of these writes' changes, in the order of the writes; answers whether it
/// wrote any (the cycle wakes the relay once it has committed them).
pub(super) async fn enqueue<'a>(
    txn: &impl Run,
    done: impl IntoIterator<Item = (&'a Write, &'a Written)>,
) -> Result<bool, DbErr> {
    let mut notices = Vec::new();
    for (write, written) in done {
        notices.extend(of(txn, write, written).await?);
    }
    Ok(outbox::enqueue(txn, &notices).await? > 0)
}

async fn of(txn: &impl Run, write: &Write, written: &Written) -> Result<Vec<Notice>, DbErr> {
    Ok(match (write, written) {
        (Write::Payment(update), Written::Payment(stored)) => {
            payment_notices(txn, update, stored).await?
        }
        (Write::Resource(write), Written::Resource(stored)) => {
            resource_notices(txn, write, stored).await?
        }
        (Write::Failed(_), Written::Event(event)) if event.status == "failed" => {
            let data = serde_json::to_value(WebhookEventUpdated::from(event)).unwrap_or_default();
            let tenant = TenantId(event.tenant_id);
            vec![Notice::of_tenant(tenant, OutboundType::EventFailed, data)]
        }
        _ => Vec::new(),
    })
}

async fn payment_notices(
    txn: &impl Run,
    update: &PaymentUpdate,
    stored: &PaymentStored,
) -> Result<Vec<Notice>, DbErr> {
    let mapped = update.order_target().map(|o| o.as_str());
    let data = PaymentStatusUpdated::of(
        update.tenant,
        &update.snapshot,
        &stored.payment.mp_payment_id,
        mapped,
    );
    let data = serde_json::to_value(data).unwrap_or_default();
    let mut notices = vec![Notice::of_tenant(
        update.tenant,
        OutboundType::PaymentUpdated,
        data,
    )];
    if let Some(order) = stored.order_moved {
        notices.extend(order_notice(txn, update.tenant, order).await?);
    }
    Ok(notices)
}

/// `order.updated`: the order as it is now, in this transaction.
async fn order_notice(
    txn: &impl Run,
    tenant: TenantId,
    order: OrderId,
) -> Result<Option<Notice>, DbErr> {
    let row = orders::get(txn, tenant, order).await?;
    Ok(row.map(|row| {
        let data = serde_json::to_value(row).unwrap_or_default();
        Notice::of_tenant(tenant, OutboundType::OrderUpdated, data)
    }))
}

/// A notification about an order, a dispute, a fraud alert or a claim: `payment.updated` for each
/// payment whose status changed or that it is about, then what it is about, then the order.
async fn resource_notices(
    txn: &impl Run,
    write: &ResourceWrite,
    stored: &ResourceStored,
) -> Result<Vec<Notice>, DbErr> {
    let tenant = write.tenant;
    let order_status = stored.order.as_ref().map(|(_, status)| status.as_str());
    let mut notices = Vec::new();
    for ((payment, before), change) in stored.payments.iter().zip(&write.payments) {
        let about = change.dispute.is_some() || change.claim.is_some() || change.fraud_alert;
        if before.as_deref() != Some(payment.status.as_str()) || about {
            let data = PaymentStatusUpdated::of(
                tenant,
                &change.snapshot,
                &payment.mp_payment_id,
                order_status,
            );
            let data = serde_json::to_value(data).unwrap_or_default();
            notices.push(Notice::of_tenant(
                tenant,
                OutboundType::PaymentUpdated,
                data,
            ));
        }
        let base = |extra: (&str, Value)| {
            json!({
                "payment_id": payment.mp_payment_id,
                "provider": payment.provider,
                "order_id": change.snapshot.external_reference,
                "payment_status": payment.status,
                extra.0: extra.1,
            })
        };
        if let Some(dispute) = &change.dispute {
            let data = base(("dispute", dispute.clone()));
            notices.push(Notice::of_tenant(
                tenant,
                OutboundType::DisputeUpdated,
                data,
            ));
        }
        if let Some(claim) = &change.claim {
            let data = base(("claim", claim.clone()));
            notices.push(Notice::of_tenant(tenant, OutboundType::ClaimUpdated, data));
        }
        if change.fraud_alert {
            let data = base(("fraud_alert", Value::Bool(true)));
            let kind = OutboundType::FraudAlertCreated;
            notices.push(Notice::of_tenant(tenant, kind, data));
        }
    }
    if let Some((order, _)) = &stored.order {
        notices.extend(order_notice(txn, tenant, OrderId(*order)).await?);
    }
    Ok(notices)
}
