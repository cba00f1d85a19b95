//! Step 7: what an attempt broadcasts (SPEC §10) once its result is committed, through the
//! status publisher (the WebSocket rooms, and the other nodes of a cluster).

use entity::webhook_event;
use tracing::info;

use super::{AttemptOutcome, Processed, Steps};
use crate::domain::{PaymentSnapshot, Provider, TenantId};
use crate::publish::{PaymentStatusUpdated, StatusUpdate, WebhookEventUpdated};

impl Steps<'_> {
    /// Step 7's broadcasts, once the success is committed.
    pub fn publish_success(&self, done: &Processed) -> AttemptOutcome {
        info!(event = %done.event.id, processing_ms = done.event.processing_ms,
            status = %done.payment.status, "event processed");
        let update = payment_update(self.tenant, done);
        self.svc
            .publisher
            .publish(self.tenant, StatusUpdate::Payment(update));
        self.publish_event(&done.event);
        AttemptOutcome::Succeeded
    }

    pub fn publish_event(&self, event: &webhook_event::Model) {
        self.svc.publisher.publish(
            self.tenant,
            StatusUpdate::Event(WebhookEventUpdated::from(event)),
        );
    }
}

fn payment_update(tenant: TenantId, done: &Processed) -> PaymentStatusUpdated {
    status_update(
        tenant,
        &done.snapshot,
        &done.payment.mp_payment_id,
        done.mapped_order_status,
    )
}

/// SPEC §10's `paymentStatusUpdated` of a stored payment.
pub fn status_update(
    tenant: TenantId,
    snapshot: &PaymentSnapshot,
    stored_id: &str,
    mapped_order_status: Option<&str>,
) -> PaymentStatusUpdated {
    let mp = snapshot;
    PaymentStatusUpdated {
        tenant_id: tenant,
        order_id: mp.external_reference.clone(),
        mapped_order_status: mapped_order_status.map(str::to_owned),
        transaction_amount: mp.transaction_amount,
        currency_id: mp.currency_id.clone(),
        mp_payment_id: match mp.provider {
            Provider::MercadoPago => mp.numeric_id().or_else(|| stored_id.parse().ok()),
            Provider::Stripe => None,
        },
        payment_id: stored_id.to_owned(),
        provider: mp.provider.key().to_owned(),
        mp_status_detail: mp.status_detail.clone(),
        customer_email: mp.payer_email.clone(),
        customer_name: mp.payer_name.clone(),
        payment_method: mp.payment_method.clone(),
        date_approved: mp.date_approved.clone(),
    }
}
