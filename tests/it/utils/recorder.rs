//! A `StatusPublisher` that records every update with the time it was published, so tests can
//! assert on the transitions the WebSocket hub will broadcast.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use cobro::domain::TenantId;
use cobro::publish::{PaymentStatusUpdated, StatusPublisher, StatusUpdate};

/// One published update and when it was published.
pub type Published = (DateTime<Utc>, TenantId, StatusUpdate);

#[derive(Default, Clone)]
pub struct Recorder {
    updates: Arc<Mutex<Vec<Published>>>,
}

impl StatusPublisher for Recorder {
    fn publish(&self, tenant: TenantId, update: StatusUpdate) {
        if let Ok(mut updates) = self.updates.lock() {
            updates.push((Utc::now(), tenant, update));
        }
    }
}

impl Recorder {
    pub fn all(&self) -> Vec<Published> {
        self.updates.lock().map(|u| u.clone()).unwrap_or_default()
    }

    /// The statuses `webhookEventUpdated` carried for one event, in order.
    pub fn event_statuses(&self, event_id: uuid::Uuid) -> Vec<String> {
        self.all()
            .into_iter()
            .filter_map(|(_, _, update)| match update {
                StatusUpdate::Event(e) if e.id.0 == event_id => Some(e.status),
                _ => None,
            })
            .collect()
    }

    /// Every `paymentStatusUpdated` published, in order.
    pub fn payment_updates(&self) -> Vec<PaymentStatusUpdated> {
        self.all()
            .into_iter()
            .filter_map(|(_, _, update)| match update {
                StatusUpdate::Payment(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    /// How many `paymentStatusUpdated` were published: one per event brought to `success`.
    pub fn payments_published(&self) -> usize {
        self.updates.lock().map_or(0, |updates| {
            updates
                .iter()
                .filter(|(_, _, update)| matches!(update, StatusUpdate::Payment(_)))
                .count()
        })
    }
}
