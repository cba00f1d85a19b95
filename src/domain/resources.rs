//! What a provider adapter hands up for the notifications that are not about one payment
//! (SPEC §17): an order of the Orders API with its payments, a dispute (chargeback) and a
//! buyer's claim. Statuses are already Cobro's; nothing above the adapter reads `raw`.

use serde_json::Value;

use super::order_state::OrderStatus;
use super::payment::PaymentSnapshot;

/// An order as its provider last described it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderSnapshot {
    pub id: String,
    /// The provider's words for its status, as sent (`processed/accredited`), for messages.
    pub provider_status: String,
    /// Where the Cobro order of `external_reference` moves (SPEC §17's table).
    pub target: OrderStatus,
    /// The Cobro order id, when the platform set it at checkout.
    pub external_reference: Option<String>,
    /// The seller the order was paid to; must be the notified tenant's.
    pub seller_account_id: Option<String>,
    /// Each payment of the order, as a payment of the tenant.
    pub payments: Vec<PaymentSnapshot>,
}

/// A dispute (chargeback) opened on one or more payments.
#[derive(Debug, Clone, PartialEq)]
pub struct DisputeSnapshot {
    pub id: String,
    pub payment_ids: Vec<String>,
    /// What is kept on each payment and shown (id, amount, currency, documentation deadline and
    /// status, coverage): a seller who misses the deadline loses the money.
    pub summary: Value,
}

/// A buyer's claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimSnapshot {
    pub id: String,
    /// The payment it is on (`None`: a claim on something else, which Cobro cannot place).
    pub payment_id: Option<String>,
    /// What is kept on the payment and shown (id, status, stage, reason, type).
    pub summary: Value,
}
