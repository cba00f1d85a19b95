//! Lenient reading of MercadoPago payment bodies (MERCADOPAGO.md §4): every field may be missing
//! or of a drifting type, so fields are picked out of the JSON value one by one and a surprise in
//! one never loses the others. Only a body that is not a JSON object is unreadable.

use serde_json::Value;

use super::status;
use crate::domain::{PaymentSnapshot, Provider, normalize_id};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payment body is not a JSON object")]
pub struct UnreadablePayment;

/// A `GET /v1/payments/{id}` answer as a snapshot; `raw` keeps the whole body.
pub fn read(raw: Value) -> Result<PaymentSnapshot, UnreadablePayment> {
    if !raw.is_object() {
        return Err(UnreadablePayment);
    }
    let text = |path: &str| raw.pointer(path).and_then(normalize_id);
    let provider_status = text("/status");
    let (first_name, last_name) = payer_parts(&raw);
    let mapped = status::map(provider_status.as_deref().unwrap_or_default());
    Ok(PaymentSnapshot {
        provider: Provider::MercadoPago,
        id: text("/id"),
        status: mapped,
        order_target: mapped.order_target(),
        provider_status,
        status_detail: text("/status_detail"),
        seller_account_id: text("/collector_id"),
        external_reference: text("/external_reference"),
        transaction_amount: raw.pointer("/transaction_amount").and_then(number),
        // The Payments API sends JSON numbers: `transaction_amount` is the amount.
        amount: None,
        refunded_amount: None,
        currency_id: text("/currency_id"),
        payer_email: text("/payer/email"),
        payer_name: payer_name(&raw),
        payer_first_name: first_name,
        payer_last_name: last_name,
        payment_method: text("/payment_method_id"),
        payment_type: text("/payment_type_id"),
        date_created: text("/date_created"),
        date_approved: text("/date_approved"),
        date_last_updated: text("/date_last_updated"),
        raw,
    })
}

/// The buyer's first and last name for GoHighLevel: `payer`'s, else `additional_info.payer`'s,
/// each part on its own (strings only, as GoHighLevel wants text).
pub(super) fn payer_parts(raw: &Value) -> (Option<String>, Option<String>) {
    let text = |path: &str| raw.pointer(path).and_then(Value::as_str).map(str::to_owned);
    let part = |field: &str| {
        text(&format!("/payer/{field}"))
            .or_else(|| text(&format!("/additional_info/payer/{field}")))
    };
    (part("first_name"), part("last_name"))
}

pub(super) fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// SPEC §10: `payer.first_name/last_name`, else `additional_info.payer`, else the cardholder.
pub(super) fn payer_name(raw: &Value) -> Option<String> {
    let full_name = |base: &str| {
        let part = |field: &str| {
            raw.pointer(&format!("{base}/{field}"))
                .and_then(normalize_id)
        };
        let joined = [part("first_name"), part("last_name")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        Some(joined).filter(|name| !name.is_empty())
    };
    full_name("/payer")
        .or_else(|| full_name("/additional_info/payer"))
        .or_else(|| raw.pointer("/card/cardholder/name").and_then(normalize_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_fall_back_in_spec_order() {
        let payer = json!({"payer": {"first_name": "Ana", "last_name": null}});
        assert_eq!(
            read(payer).ok().and_then(|p| p.payer_name).as_deref(),
            Some("Ana")
        );
        let additional = json!({"payer": {"first_name": null},
            "additional_info": {"payer": {"first_name": "Maria", "last_name": "Gonzalez"}}});
        let name = read(additional).ok().and_then(|p| p.payer_name);
        assert_eq!(name.as_deref(), Some("Maria Gonzalez"));
        let card = json!({"card": {"cardholder": {"name": "MARIA GONZALEZ"}}});
        let name = read(card).ok().and_then(|p| p.payer_name);
        assert_eq!(name.as_deref(), Some("MARIA GONZALEZ"));
    }

    #[test]
    fn name_parts_for_ghl_fall_back_part_by_part() {
        let body = json!({"payer": {"first_name": "Ana", "last_name": null},
            "additional_info": {"payer": {"first_name": "Maria", "last_name": "Gonzalez"}}});
        let payment = read(body).expect("an object is readable");
        assert_eq!(payment.payer_first_name.as_deref(), Some("Ana"));
        assert_eq!(payment.payer_last_name.as_deref(), Some("Gonzalez"));
        let numbers = read(json!({"payer": {"first_name": 7}})).expect("readable");
        assert_eq!(numbers.payer_first_name, None, "GoHighLevel gets text only");
    }

    #[test]
    fn wrong_types_lose_only_that_field() {
        let body = json!({"id": "42", "status": "approved", "transaction_amount": "12.50",
            "payer": "not an object", "collector_id": 7});
        let payment = read(body).expect("an object is readable");
        assert_eq!(payment.numeric_id(), Some(42));
        assert_eq!(payment.status, crate::domain::PaymentStatus::Approved);
        assert_eq!(payment.transaction_amount, Some(12.5));
        assert_eq!(payment.payer_email, None);
        assert_eq!(payment.seller_account_id.as_deref(), Some("7"));
    }

    #[test]
    fn non_objects_are_unreadable() {
        for body in [json!([]), json!("x"), json!(null), json!(3)] {
            assert_eq!(read(body), Err(UnreadablePayment));
        }
    }
}
