//! SPEC §19's tables in code: a PaymentIntent (with its latest charge expanded) and, for a
//! dispute event, the dispute, to Cobro's payment status and the order's; a Stripe amount in
//! minor units to decimal text. Pure functions over Stripe's JSON, read leniently.
//!
//! Readings of our own, where the table is silent or literal reading would mislead:
//! - `requires_payment_method` without `last_payment_error` is an intent nobody has tried to pay
//!   yet: `PENDING`, not `REJECTED`.
//! - `warning_closed` (an inquiry that ended without a dispute) is read as `won`: a payment would
//!   otherwise stay `IN_MEDIATION` for ever after the inquiry closed.
//! - Three-decimal currencies (BHD, JOD, KWD, OMR, TND) have exponent 3, as in Stripe's currency
//!   documentation (not in MERCADOPAGO.md §7: assumed).

use serde_json::Value;

use crate::domain::{OrderStatus, PaymentStatus};

/// A payment's status and where its order goes (`None`: the order is left as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapped {
    pub status: PaymentStatus,
    pub order: Option<OrderStatus>,
}

/// Zero-decimal currencies (MERCADOPAGO.md §7): the amount is in whole units.
const ZERO_DECIMAL: [&str; 16] = [
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];
const THREE_DECIMAL: [&str; 5] = ["bhd", "jod", "kwd", "omr", "tnd"];

/// Digits after the decimal point in `currency` (ISO code, any case).
pub fn exponent(currency: &str) -> u32 {
    let currency = currency.to_ascii_lowercase();
    if ZERO_DECIMAL.contains(&currency.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&currency.as_str()) {
        3
    } else {
        2
    }
}

/// `minor` units of `currency` as decimal text, exactly (no float): 150000 CLP is "150000",
/// 1999 USD is "19.99", -5 USD is "-0.05".
pub fn amount(minor: i64, currency: &str) -> String {
    let exponent = exponent(currency);
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10u64.pow(exponent);
    let (whole, fraction) = (minor.unsigned_abs() / scale, minor.unsigned_abs() % scale);
    let sign = if minor < 0 { "-" } else { "" };
    format!(
        "{sign}{whole}.{fraction:0width$}",
        width = exponent as usize
    )
}

/// SPEC §19: the dispute decides while it is open or lost; then a refund; then the intent.
pub fn map(intent: &Value, dispute: Option<&Value>) -> Mapped {
    let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    if let Some(dispute_status) = dispute.and_then(|d| text(d, "status")) {
        match dispute_status.as_str() {
            "lost" => return moved(PaymentStatus::ChargedBack),
            "won" | "warning_closed" => {}
            // needs_response, under_review, warning_needs_response, warning_under_review, and
            // any status Stripe adds: the money is held until it ends.
            _ => return unchanged(PaymentStatus::InMediation),
        }
    }
    let refunded = intent
        .pointer("/latest_charge/refunded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if refunded {
        return moved(PaymentStatus::Refunded);
    }
    let status = match text(intent, "status").as_deref() {
        Some("succeeded") => PaymentStatus::Approved,
        Some("processing") => PaymentStatus::InProcess,
        Some("requires_action" | "requires_confirmation") => PaymentStatus::Pending,
        Some("requires_capture") => PaymentStatus::Authorized,
        Some("requires_payment_method") if !intent["last_payment_error"].is_null() => {
            PaymentStatus::Rejected
        }
        Some("requires_payment_method") => PaymentStatus::Pending,
        Some("canceled") => PaymentStatus::Cancelled,
        _ => PaymentStatus::Unknown,
    };
    // A dispute that ended in the seller's favour gives the payment back; the order stays.
    if dispute.is_some() {
        return unchanged(status);
    }
    moved(status)
}

fn moved(status: PaymentStatus) -> Mapped {
    Mapped {
        status,
        order: status.order_target(),
    }
}

fn unchanged(status: PaymentStatus) -> Mapped {
    Mapped {
        status,
        order: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn intent(status: &str) -> Value {
        json!({ "id": "pi_1", "status": status, "last_payment_error": null,
                "latest_charge": { "id": "ch_1", "refunded": false } })
    }

    #[test]
    fn the_fixture_intent_is_approved_and_pays_its_order() {
        let path = format!(
            "{}/tests/fixtures/stripe/payment_intent_succeeded.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let fixture: Value = serde_json::from_str(&text).expect("JSON");
        let mapped = map(&fixture, None);
        assert_eq!(mapped.status, PaymentStatus::Approved);
        assert_eq!(mapped.order, Some(OrderStatus::Paid));
        let minor = fixture["amount"].as_i64().expect("amount");
        assert_eq!(
            amount(minor, fixture["currency"].as_str().expect("currency")),
            "150000"
        );
    }

    #[test]
    fn every_row_of_the_intent_table() {
        use OrderStatus as O;
        use PaymentStatus as P;
        let rows = [
            ("succeeded", P::Approved, O::Paid),
            ("processing", P::InProcess, O::PendingPayment),
            ("requires_action", P::Pending, O::PendingPayment),
            ("requires_confirmation", P::Pending, O::PendingPayment),
            ("requires_capture", P::Authorized, O::PendingPayment),
            ("requires_payment_method", P::Pending, O::PendingPayment),
            ("canceled", P::Cancelled, O::Cancelled),
        ];
        for (status, payment, order) in rows {
            let mapped = map(&intent(status), None);
            assert_eq!(
                (mapped.status, mapped.order),
                (payment, Some(order)),
                "{status}"
            );
        }
        let mut failed = intent("requires_payment_method");
        failed["last_payment_error"] = json!({ "code": "card_declined" });
        assert_eq!(map(&failed, None).status, P::Rejected);
        assert_eq!(map(&failed, None).order, Some(O::Rejected));
        let mut refunded = intent("succeeded");
        refunded["latest_charge"]["refunded"] = json!(true);
        assert_eq!(map(&refunded, None).status, P::Refunded);
        assert_eq!(map(&refunded, None).order, Some(O::Refunded));
        assert_eq!(map(&intent("something_new"), None).status, P::Unknown);
    }

    #[test]
    fn every_row_of_the_dispute_table() {
        use PaymentStatus as P;
        let paid = intent("succeeded");
        for open in [
            "needs_response",
            "under_review",
            "warning_needs_response",
            "warning_under_review",
        ] {
            let mapped = map(&paid, Some(&json!({ "status": open })));
            assert_eq!(
                (mapped.status, mapped.order),
                (P::InMediation, None),
                "{open}"
            );
        }
        let lost = map(&paid, Some(&json!({ "status": "lost" })));
        assert_eq!(
            (lost.status, lost.order),
            (P::ChargedBack, Some(OrderStatus::ChargedBack))
        );
        for ended in ["won", "warning_closed"] {
            let mapped = map(&paid, Some(&json!({ "status": ended })));
            assert_eq!(
                (mapped.status, mapped.order),
                (P::Approved, None),
                "{ended}"
            );
        }
    }

    #[test]
    fn amounts_in_minor_units() {
        assert_eq!(amount(150_000, "clp"), "150000");
        assert_eq!(amount(150_000, "CLP"), "150000");
        assert_eq!(amount(500, "jpy"), "500");
        assert_eq!(amount(1_999, "usd"), "19.99");
        assert_eq!(amount(5, "brl"), "0.05");
        assert_eq!(amount(-5, "usd"), "-0.05");
        assert_eq!(amount(1_234, "kwd"), "1.234");
        assert_eq!(amount(0, "eur"), "0.00");
    }
}
