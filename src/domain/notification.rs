//! A webhook as a provider adapter read it, before anything about it is trusted: a payment
//! notification with the fields Cobro acts on, or a reason to ignore it. Ingest stores and
//! enqueues notifications; it never reads a provider's body itself.

use serde_json::Value;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// A payment changed: fetch it and process it.
    Payment,
    /// The seller granted (`authorized: true`) or revoked the platform's application (SPEC §14,
    /// MercadoPago's `mp-connect`): stored as handled, and the tenant's connection marked.
    Connection { authorized: bool },
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
    /// The payment to fetch (for a connection notice, its `data.id`, possibly empty).
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
}
