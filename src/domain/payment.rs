//! A payment as its provider last described it, in Cobro's words: what the pipeline stores,
//! broadcasts and tags the buyer from. Each provider adapter (`provider::*`) reads its own answer
//! into one; nothing above the adapter sees a provider's document except as `raw`.

use serde_json::Value;

use super::order_state::OrderStatus;
use super::provider::Provider;
use super::status::PaymentStatus;

/// The fields Cobro uses, normalised. `raw` keeps the provider's whole document for the
/// database; nothing reads fields out of it above the adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentSnapshot {
    /// The provider that described it: with the tenant and `id`, the payment's key (SPEC §19).
    pub provider: Provider,
    pub id: Option<String>,
    /// Cobro's status, mapped by the provider (SPEC §7).
    pub status: PaymentStatus,
    /// Where the payment's order goes, as its provider's table says (SPEC §7; §19 leaves the
    /// order alone while a Stripe dispute is open or after one was won). `None`: unchanged.
    pub order_target: Option<OrderStatus>,
    /// The provider's own word for the status, as sent (stored as `mp_status`).
    pub provider_status: Option<String>,
    pub status_detail: Option<String>,
    /// The seller account the payment was paid to; must be the notified tenant's.
    pub seller_account_id: Option<String>,
    /// The order id the payment was made for (Cobro puts its order id there at checkout).
    pub external_reference: Option<String>,
    pub transaction_amount: Option<f64>,
    /// The amount exactly as the provider wrote it, when it sends decimal text (the Orders
    /// API): stored as sent, never rounded through a float.
    pub amount: Option<String>,
    pub refunded_amount: Option<String>,
    pub currency_id: Option<String>,
    pub payer_email: Option<String>,
    /// The buyer's name as shown (SPEC §10's fallbacks are the adapter's).
    pub payer_name: Option<String>,
    /// The buyer's name in parts, when the provider gives parts (GoHighLevel wants them).
    pub payer_first_name: Option<String>,
    pub payer_last_name: Option<String>,
    pub payment_method: Option<String>,
    pub payment_type: Option<String>,
    pub date_created: Option<String>,
    pub date_approved: Option<String>,
    pub date_last_updated: Option<String>,
    pub raw: Value,
}

impl PaymentSnapshot {
    /// The payment id as a number, when it is one (the WebSocket payload wants a number).
    pub fn numeric_id(&self) -> Option<u64> {
        self.id.as_deref().and_then(|id| id.parse().ok())
    }
}

/// A string or a number as text: `150211668619`, `"150211668619"` and `1.50211668619e11` all
/// give `"150211668619"`. Empty strings, objects and nulls give `None`. Providers and GoHighLevel
/// send ids as either type, and may change type between two answers.
pub fn normalize_id(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned),
        Value::Number(n) => Some(match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => u.to_string(),
            (_, Some(i), _) => i.to_string(),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{f:.0}"),
            _ => n.to_string(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_of_either_type_normalise_to_text() {
        assert_eq!(
            normalize_id(&json!(150211668619u64)).as_deref(),
            Some("150211668619")
        );
        assert_eq!(
            normalize_id(&json!(" 150211668619 ")).as_deref(),
            Some("150211668619")
        );
        assert_eq!(
            normalize_id(&json!(1.50211668619e11)).as_deref(),
            Some("150211668619")
        );
        assert_eq!(normalize_id(&json!("")), None);
        assert_eq!(normalize_id(&json!(null)), None);
        assert_eq!(normalize_id(&json!({"a": 1})), None);
    }
}
