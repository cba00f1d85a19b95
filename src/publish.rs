//! The one door through which status changes leave the core: the tenant pipeline calls
//! [`StatusPublisher::publish`] at every transition of an event and every payment update. The
//! WebSocket hub implements it (`ws::HubPublisher`); tests plug in a recorder beside it.
//! Payloads are SPEC §10's, camelCase, ready to be sent as they are.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{EventId, PaymentSnapshot, Provider, TenantId};

/// `webhookEventUpdated` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEventUpdated {
    pub id: EventId,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub mp_payment_id: String,
    pub action: String,
    pub processing_ms: Option<i64>,
}

impl From<&entity::webhook_event::Model> for WebhookEventUpdated {
    fn from(event: &entity::webhook_event::Model) -> Self {
        Self {
            id: EventId(event.id),
            status: event.status.clone(),
            attempts: event.attempts,
            max_attempts: event.max_attempts,
            last_error: event.last_error.clone(),
            next_retry_at: event.next_retry_at,
            mp_payment_id: event.mp_payment_id.clone(),
            action: event.action.clone(),
            processing_ms: event.processing_ms,
        }
    }
}

/// `paymentStatusUpdated` data, as the existing frontends read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentStatusUpdated {
    pub tenant_id: TenantId,
    pub order_id: Option<String>,
    pub mapped_order_status: Option<String>,
    pub transaction_amount: Option<f64>,
    pub currency_id: Option<String>,
    pub mp_payment_id: Option<u64>,
    /// The provider's payment id as text (SPEC §19): also the ids that are not numbers
    /// (`PAY01…` of the Orders API), for which `mpPaymentId` is `null`.
    #[serde(default)]
    pub payment_id: String,
    /// The payment's provider (SPEC §19): `mercadopago` or `stripe`.
    #[serde(default)]
    pub provider: String,
    pub mp_status_detail: Option<String>,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub payment_method: Option<String>,
    pub date_approved: Option<String>,
}

impl PaymentStatusUpdated {
    /// The data of a stored payment: `stored_id` is its id as stored, `mapped_order_status` the
    /// status its order moves to (SPEC §7), if any. Also the `data` of `payment.updated` (§21).
    pub fn of(
        tenant: TenantId,
        snapshot: &PaymentSnapshot,
        stored_id: &str,
        mapped_order_status: Option<&str>,
    ) -> Self {
        let mp = snapshot;
        Self {
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
}

/// `fraudAlert` data (SPEC §17): MercadoPago asks the seller not to deliver this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FraudAlert {
    pub order_id: Option<String>,
    pub payment_id: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StatusUpdate {
    Event(WebhookEventUpdated),
    Payment(PaymentStatusUpdated),
    FraudAlert(FraudAlert),
}

impl StatusUpdate {
    /// The event name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            StatusUpdate::Event(_) => "webhookEventUpdated",
            StatusUpdate::Payment(_) => "paymentStatusUpdated",
            StatusUpdate::FraudAlert(_) => "fraudAlert",
        }
    }

    /// The `data` of the wire message.
    pub fn data(&self) -> serde_json::Value {
        let data = match self {
            StatusUpdate::Event(event) => serde_json::to_value(event),
            StatusUpdate::Payment(payment) => serde_json::to_value(payment),
            StatusUpdate::FraudAlert(alert) => serde_json::to_value(alert),
        };
        data.unwrap_or_default()
    }

    /// Reads back what [`name`](Self::name) and [`data`](Self::data) wrote (another node's).
    pub fn from_wire(name: &str, data: serde_json::Value) -> Option<Self> {
        match name {
            "webhookEventUpdated" => serde_json::from_value(data).ok().map(StatusUpdate::Event),
            "paymentStatusUpdated" => serde_json::from_value(data).ok().map(StatusUpdate::Payment),
            "fraudAlert" => serde_json::from_value(data)
                .ok()
                .map(StatusUpdate::FraudAlert),
            _ => None,
        }
    }
}

pub trait StatusPublisher: Send + Sync + 'static {
    /// Must not block: called from the tenant actors between database writes.
    fn publish(&self, tenant: TenantId, update: StatusUpdate);
}

/// Hands every update to several publishers (the WebSocket hub, and whatever a test observes).
pub struct FanOut(pub Vec<std::sync::Arc<dyn StatusPublisher>>);

impl StatusPublisher for FanOut {
    fn publish(&self, tenant: TenantId, update: StatusUpdate) {
        for publisher in &self.0 {
            publisher.publish(tenant, update.clone());
        }
    }
}
