//! Step 7: what an attempt broadcasts (SPEC §10) once its result is committed, through the
//! status publisher (the WebSocket rooms, and the other nodes of a cluster).

use entity::webhook_event;
use tracing::info;

use super::{AttemptOutcome, Processed, Steps};
use crate::domain::TenantId;
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
    PaymentStatusUpdated::of(
        tenant,
        &done.snapshot,
        &done.payment.mp_payment_id,
        done.mapped_order_status,
    )
}
