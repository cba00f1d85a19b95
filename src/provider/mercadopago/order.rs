//! MercadoPago's Orders API (MERCADOPAGO.md §6, SPEC §17): `GET /v1/orders/{id}` read leniently
//! into an [`OrderSnapshot`]. The order's status words move the Cobro order by SPEC §17's table;
//! each `transactions.payments[]` entry becomes a payment of the tenant (amounts are decimal
//! strings, kept as sent). A status word not in the table is an error, never a guess.

use serde_json::Value;

use super::payment::{number, payer_name, payer_parts};
use crate::domain::{
    OrderSnapshot, OrderStatus, PaymentSnapshot, PaymentStatus, Provider, normalize_id,
};

/// Why an order body could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnreadableOrder {
    #[error("order body is not a JSON object")]
    NotObject,
    /// SPEC §17's sentence; the event fails for good until Cobro learns the word.
    #[error("unknown MercadoPago order status '{0}'")]
    UnknownStatus(String),
}

/// A `GET /v1/orders/{id}` answer as a snapshot.
pub fn read(raw: &Value) -> Result<OrderSnapshot, UnreadableOrder> {
    if !raw.is_object() {
        return Err(UnreadableOrder::NotObject);
    }
    let text = |path: &str| raw.pointer(path).and_then(normalize_id);
    let status = text("/status").unwrap_or_default();
    let detail = text("/status_detail");
    let chargebacks = raw
        .pointer("/transactions/chargebacks")
        .and_then(Value::as_array)
        .is_some_and(|list| !list.is_empty());
    let target = match chargebacks {
        true => OrderStatus::ChargedBack,
        false => order_target(&status, detail.as_deref())?,
    };
    let entries = raw
        .pointer("/transactions/payments")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let payments = entries
        .iter()
        .map(|entry| payment(raw, entry, chargebacks))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OrderSnapshot {
        id: text("/id").unwrap_or_default(),
        provider_status: words(&status, detail.as_deref()),
        target,
        external_reference: text("/external_reference"),
        seller_account_id: text("/user_id"),
        payments,
    })
}

fn words(status: &str, detail: Option<&str>) -> String {
    match detail {
        Some(detail) => format!("{status}/{detail}"),
        None => status.to_owned(),
    }
}

/// SPEC §17: MP order `status` / `status_detail` → Cobro order, compared case-insensitively.
pub fn order_target(status: &str, detail: Option<&str>) -> Result<OrderStatus, UnreadableOrder> {
    use OrderStatus as O;
    let status = status.to_ascii_lowercase();
    let detail = detail.map(str::to_ascii_lowercase);
    Ok(match (status.as_str(), detail.as_deref()) {
        ("created" | "processing" | "action_required", _) => O::PendingPayment,
        ("processed", Some("accredited" | "partially_refunded")) => O::Paid,
        ("processed", Some("refunded")) | ("refunded", _) => O::Refunded,
        ("failed", _) => O::Rejected,
        ("canceled" | "cancelled" | "expired", _) => O::Cancelled,
        _ => {
            let seen = words(&status, detail.as_deref());
            return Err(UnreadableOrder::UnknownStatus(seen));
        }
    })
}

/// A transaction payment's status (the order's words) as Cobro's payment status. A partial
/// refund stays approved, as it does in the Payments API.
pub fn payment_status(
    status: &str,
    detail: Option<&str>,
) -> Result<PaymentStatus, UnreadableOrder> {
    use PaymentStatus as P;
    let status = status.to_ascii_lowercase();
    let detail = detail.map(str::to_ascii_lowercase);
    Ok(match (status.as_str(), detail.as_deref()) {
        ("created", _) => P::Pending,
        ("processing", _) => P::InProcess,
        ("action_required", Some("waiting_capture")) => P::Authorized,
        ("action_required", _) => P::Pending,
        ("processed", Some("accredited" | "partially_refunded")) => P::Approved,
        ("processed", Some("refunded")) | ("refunded", _) => P::Refunded,
        ("failed", _) => P::Rejected,
        ("canceled" | "cancelled" | "expired", _) => P::Cancelled,
        ("charged_back", _) => P::ChargedBack,
        _ => {
            let seen = words(&status, detail.as_deref());
            return Err(UnreadableOrder::UnknownStatus(seen));
        }
    })
}

/// One `transactions.payments[]` entry as a payment of the tenant: the order gives the buyer,
/// currency, seller and reference; the entry its id, status, amounts and method.
fn payment(
    order: &Value,
    entry: &Value,
    charged_back: bool,
) -> Result<PaymentSnapshot, UnreadableOrder> {
    let of_order = |path: &str| order.pointer(path).and_then(normalize_id);
    let of_entry = |path: &str| entry.pointer(path).and_then(normalize_id);
    let provider_status = of_entry("/status");
    let detail = of_entry("/status_detail");
    let status = match charged_back {
        true => PaymentStatus::ChargedBack,
        false => payment_status(
            provider_status.as_deref().unwrap_or_default(),
            detail.as_deref(),
        )?,
    };
    let amount = of_entry("/amount").or_else(|| of_entry("/paid_amount"));
    let (first_name, last_name) = payer_parts(order);
    Ok(PaymentSnapshot {
        provider: Provider::MercadoPago,
        id: of_entry("/id"),
        status,
        order_target: status.order_target(),
        provider_status,
        status_detail: detail,
        seller_account_id: of_order("/user_id"),
        external_reference: of_order("/external_reference"),
        transaction_amount: entry
            .pointer("/amount")
            .or_else(|| entry.pointer("/paid_amount"))
            .and_then(number),
        amount,
        refunded_amount: of_entry("/refunded_amount").or_else(|| refunds_of(order, entry)),
        currency_id: of_order("/currency"),
        payer_email: of_order("/payer/email"),
        payer_name: payer_name(order),
        payer_first_name: first_name,
        payer_last_name: last_name,
        payment_method: of_entry("/payment_method/id"),
        payment_type: of_entry("/payment_method/type"),
        date_created: of_order("/created_date"),
        date_approved: None,
        date_last_updated: of_order("/last_updated_date"),
        raw: entry.clone(),
    })
}

/// A payment's refunded amount from the order's `transactions.refunds[]` (the Node SDK's
/// `RefundResponse`: `transaction_id`, `amount`), summed exactly, when the payment entry has no
/// `refunded_amount` of its own. `None` when no refund names it (or one cannot be read).
fn refunds_of(order: &Value, entry: &Value) -> Option<String> {
    use rust_decimal::Decimal;
    let id = entry.pointer("/id").and_then(normalize_id)?;
    let refunds = order.pointer("/transactions/refunds")?.as_array()?;
    let mut total: Option<Decimal> = None;
    for refund in refunds {
        if refund
            .pointer("/transaction_id")
            .and_then(normalize_id)
            .as_deref()
            != Some(id.as_str())
        {
            continue;
        }
        let amount = refund.pointer("/amount").and_then(normalize_id)?;
        let amount: Decimal = amount.parse().ok()?;
        total = Some(total.unwrap_or_default() + amount);
    }
    total.map(|t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::mercadopago::fixture;

    #[test]
    fn the_processed_fixture_pays_its_order_with_exact_amounts() {
        let order = read(&fixture("mp_order_processed.json")).expect("read");
        assert_eq!(order.id, "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3");
        assert_eq!(order.target, OrderStatus::Paid);
        assert_eq!(order.external_reference.as_deref(), Some("ext_ref_1234"));
        assert_eq!(order.seller_account_id.as_deref(), Some("2079614828"));
        let [payment] = order.payments.as_slice() else {
            panic!("one payment");
        };
        assert_eq!(payment.id.as_deref(), Some("PAY01JQ4S4KY8HWQ6NA5PXB65B3D4"));
        assert_eq!(payment.status, PaymentStatus::Approved);
        assert_eq!(payment.amount.as_deref(), Some("150.00"));
        assert_eq!(payment.refunded_amount.as_deref(), Some("0.00"));
        assert_eq!(
            payment.payer_email.as_deref(),
            Some("comprador@example.com")
        );
        assert_eq!(payment.payer_name.as_deref(), Some("Ana Pérez"));
        assert_eq!(payment.currency_id.as_deref(), Some("ARS"));
        assert_eq!(payment.payment_method.as_deref(), Some("master"));
    }

    #[test]
    fn every_order_fixture_maps_by_the_table() {
        for (name, order, payment) in [
            (
                "mp_order_processed.json",
                OrderStatus::Paid,
                PaymentStatus::Approved,
            ),
            (
                "mp_order_partially_refunded.json",
                OrderStatus::Paid,
                PaymentStatus::Approved,
            ),
            (
                "mp_order_refunded.json",
                OrderStatus::Refunded,
                PaymentStatus::Refunded,
            ),
            (
                "mp_order_failed.json",
                OrderStatus::Rejected,
                PaymentStatus::Rejected,
            ),
            (
                "mp_order_action_required.json",
                OrderStatus::PendingPayment,
                PaymentStatus::Pending,
            ),
        ] {
            let read = read(&fixture(name)).expect(name);
            assert_eq!(read.target, order, "{name}");
            assert_eq!(read.payments[0].status, payment, "{name}");
        }
        let refunded = read(&fixture("mp_order_partially_refunded.json")).expect("read");
        assert_eq!(
            refunded.payments[0].refunded_amount.as_deref(),
            Some("50.00")
        );
    }

    #[test]
    fn the_spec_table_row_by_row_case_insensitively() {
        use OrderStatus as O;
        for (status, detail, target) in [
            ("created", Some("created"), O::PendingPayment),
            ("processing", Some("in_process"), O::PendingPayment),
            (
                "action_required",
                Some("waiting_payment"),
                O::PendingPayment,
            ),
            ("PROCESSED", Some("Accredited"), O::Paid),
            ("processed", Some("partially_refunded"), O::Paid),
            ("processed", Some("refunded"), O::Refunded),
            ("refunded", None, O::Refunded),
            ("failed", Some("rejected_by_issuer"), O::Rejected),
            ("canceled", None, O::Cancelled),
            ("cancelled", None, O::Cancelled),
            ("expired", None, O::Cancelled),
        ] {
            assert_eq!(
                order_target(status, detail),
                Ok(target),
                "{status}/{detail:?}"
            );
        }
    }

    #[test]
    fn unknown_words_are_errors_not_guesses() {
        assert_eq!(
            order_target("on_hold", None).map_err(|e| e.to_string()),
            Err("unknown MercadoPago order status 'on_hold'".into())
        );
        assert!(order_target("processed", Some("something_new")).is_err());
        assert!(order_target("processed", None).is_err());
        let mut body = fixture("mp_order_processed.json");
        body["transactions"]["payments"][0]["status"] = "teleported".into();
        assert_eq!(
            read(&body).map(|_| ()),
            Err(UnreadableOrder::UnknownStatus(
                "teleported/accredited".into()
            ))
        );
    }

    #[test]
    fn refunds_are_summed_exactly_when_the_payment_does_not_say() {
        let mut body = fixture("mp_order_partially_refunded.json");
        let payment = &mut body["transactions"]["payments"][0];
        payment.as_object_mut().map(|p| p.remove("refunded_amount"));
        body["transactions"]["refunds"] = serde_json::json!([
            {"id": "R1", "transaction_id": "PAY01JQ4S4KY8HWQ6NA5PXB65B3D4", "amount": "0.10"},
            {"id": "R2", "transaction_id": "PAY01JQ4S4KY8HWQ6NA5PXB65B3D4", "amount": "0.20"},
            {"id": "R3", "transaction_id": "PAY01OTHER", "amount": "99.00"}
        ]);
        let read = read(&body).expect("read");
        assert_eq!(
            read.payments[0].refunded_amount.as_deref(),
            Some("0.30"),
            "not 0.30000000000000004"
        );
    }

    #[test]
    fn a_chargeback_on_the_order_charges_it_back() {
        let mut body = fixture("mp_order_processed.json");
        body["transactions"]["chargebacks"] = serde_json::json!([{"id": "CHB01"}]);
        let order = read(&body).expect("read");
        assert_eq!(order.target, OrderStatus::ChargedBack);
        assert_eq!(order.payments[0].status, PaymentStatus::ChargedBack);
    }
}
