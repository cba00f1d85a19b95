//! A webhook as a provider adapter read it, before anything about it is trusted: a payment
//! notification with the fields Cobro acts on, or a reason to ignore it. Ingest stores and
//! enqueues notifications; it never reads a provider's body itself.

use serde_json::Value;

/// What a notification is about (SPEC §17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// A payment changed: fetch it and process it.
    Payment,
    /// An order of the provider's Orders API changed; `version` grows with each change, so a
    /// notification not above the last one processed is stale.
    Order { version: Option<i64> },
    /// A dispute (chargeback) was opened on a payment or moved.
    Chargeback,
    /// The provider asks the seller not to deliver: a fraud alert. Never resent by MercadoPago,
    /// so it is processed ahead of the tenant's backlog.
    FraudAlert,
    /// A buyer opened a claim on a payment, or it moved.
    Claim,
    /// The seller granted (`authorized: true`) or revoked the platform's application (SPEC §14,
    /// MercadoPago's `mp-connect`): stored as handled, and the tenant's connection marked.
    Connection { authorized: bool },
}

impl Topic {
    /// The event's `resource_type`.
    pub fn resource(self) -> ResourceKind {
        match self {
            Topic::Payment => ResourceKind::Payment,
            Topic::Order { .. } => ResourceKind::Order,
            Topic::Chargeback => ResourceKind::Chargeback,
            Topic::FraudAlert => ResourceKind::FraudAlert,
            Topic::Claim => ResourceKind::Claim,
            Topic::Connection { .. } => ResourceKind::Connection,
        }
    }
}

/// What a stored event is about: its `resource_type` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    Payment,
    Order,
    Chargeback,
    FraudAlert,
    Claim,
    Connection,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 6] = [
        ResourceKind::Payment,
        ResourceKind::Order,
        ResourceKind::Chargeback,
        ResourceKind::FraudAlert,
        ResourceKind::Claim,
        ResourceKind::Connection,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Payment => "payment",
            ResourceKind::Order => "order",
            ResourceKind::Chargeback => "chargeback",
            ResourceKind::FraudAlert => "fraud_alert",
            ResourceKind::Claim => "claim",
            ResourceKind::Connection => "connection",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A notification Cobro acts on, fields normalised to text.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub topic: Topic,
    /// The provider's id of this notification: the deduplication key when present.
    pub notification_id: Option<String>,
    /// The provider's id of this delivery (a retry of one notification may carry the same):
    /// the deduplication key when the body has no id.
    pub delivery_id: Option<String>,
    /// The seller account the notification is for (MercadoPago's `user_id`): finds the tenant.
    pub seller_account_id: String,
    pub action: String,
    /// The body's `data.id` as sent (MercadoPago signs the query's copy of it); `None` when the
    /// body has none (a fraud alert).
    pub signed_id: Option<String>,
    /// The resource the notification is about (`resource_id`): a payment, order, chargeback or
    /// claim id; for a fraud alert, its payment.
    pub resource_id: String,
    /// The payment it names, when it names one (empty otherwise: an order, a claim).
    pub payment_id: String,
    pub raw: Value,
}

/// What a provider adapter made of a webhook body.
#[derive(Debug, Clone, PartialEq)]
pub enum Classified {
    Payment(Notification),
    /// Answered 200 `{"status":"ignored","reason":...}` and not stored.
    Ignored(String),
}

/// Why a body was refused with 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("body is not valid JSON: {0}")]
    NotJson(String),
    #[error("body is not a JSON object")]
    NotObject,
    /// A field the provider always sends is absent (a Stripe event's `id`, `type`, `data.object`).
    #[error("event has no {0}")]
    Missing(&'static str),
}
