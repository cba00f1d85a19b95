//! MercadoPago's chargebacks (`GET /v1/chargebacks/{id}`) and claims
//! (`GET /post-purchase/v1/claims/{id}`), read leniently (MERCADOPAGO.md §6: their shapes are
//! less settled than payments'; every field is optional). What a seller acts on is kept as a
//! small JSON summary on the payment: the documentation deadline of a dispute above all.

use serde_json::{Map, Value};

use super::payment::number;
use crate::domain::{ClaimSnapshot, DisputeSnapshot, normalize_id};

/// Why a chargeback or claim body could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} body is not a JSON object")]
pub struct UnreadableDispute(pub &'static str);

/// A chargeback as the payments it disputes and the summary shown on them.
pub fn read_chargeback(
    raw: &Value,
    notified_id: &str,
) -> Result<DisputeSnapshot, UnreadableDispute> {
    if !raw.is_object() {
        return Err(UnreadableDispute("chargeback"));
    }
    let id = raw
        .pointer("/id")
        .and_then(normalize_id)
        .unwrap_or_else(|| notified_id.to_owned());
    let payment_ids = raw
        .pointer("/payments")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(payment_id).collect())
        .unwrap_or_default();
    let mut summary = pick(
        raw,
        &[
            "currency",
            "documentation_required",
            "documentation_status",
            "date_documentation_deadline",
            "coverage_applied",
            "coverage_elegible",
            "reason",
            "date_created",
            "date_last_updated",
        ],
    );
    summary.insert("id".into(), Value::from(id.clone()));
    if let Some(amount) = raw.pointer("/amount").and_then(number) {
        summary.insert("amount".into(), Value::from(amount));
    }
    Ok(DisputeSnapshot {
        id,
        payment_ids,
        summary: Value::Object(summary),
    })
}

/// A claim and the payment it is on (when its `resource` is a payment, or unnamed).
pub fn read_claim(raw: &Value, notified_id: &str) -> Result<ClaimSnapshot, UnreadableDispute> {
    if !raw.is_object() {
        return Err(UnreadableDispute("claim"));
    }
    let id = raw
        .pointer("/id")
        .and_then(normalize_id)
        .unwrap_or_else(|| notified_id.to_owned());
    let on_payment = raw
        .pointer("/resource")
        .and_then(Value::as_str)
        .is_none_or(|resource| resource.eq_ignore_ascii_case("payment"));
    let payment_id = raw
        .pointer("/resource_id")
        .and_then(normalize_id)
        .filter(|_| on_payment);
    let mut summary = pick(
        raw,
        &[
            "status",
            "stage",
            "type",
            "reason_id",
            "resource",
            "date_created",
            "last_updated",
        ],
    );
    summary.insert("id".into(), Value::from(id.clone()));
    Ok(ClaimSnapshot {
        id,
        payment_id,
        summary: Value::Object(summary),
    })
}

/// A payment id in a chargeback's `payments`: a number, a text, or an object with `id`.
fn payment_id(entry: &Value) -> Option<String> {
    normalize_id(entry).or_else(|| entry.get("id").and_then(normalize_id))
}

/// The named fields that are present, as sent (scalars only: a surprise object is left out).
fn pick(raw: &Value, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|key| {
            let value = raw.get(*key)?;
            let scalar = matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_));
            scalar.then(|| ((*key).to_owned(), value.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::mercadopago::fixture;
    use serde_json::json;

    #[test]
    fn the_chargeback_fixture_names_its_payment_and_deadline() {
        let read = read_chargeback(&fixture("mp_chargeback.json"), "x").expect("read");
        assert_eq!(read.id, "233218391843");
        assert_eq!(read.payment_ids, ["150211668619"]);
        assert_eq!(
            read.summary["date_documentation_deadline"],
            "2026-12-14T23:59:59.000-04:00"
        );
        assert_eq!(read.summary["amount"], 150.0);
        assert_eq!(read.summary["documentation_status"], "pending");
        assert_eq!(read.summary["coverage_applied"], false);
    }

    #[test]
    fn the_claim_fixture_is_on_its_payment() {
        let read = read_claim(&fixture("mp_claim.json"), "x").expect("read");
        assert_eq!(read.id, "5300012345");
        assert_eq!(read.payment_id.as_deref(), Some("150211668619"));
        assert_eq!(read.summary["stage"], "claim");
        assert_eq!(read.summary["status"], "opened");
        assert_eq!(read.summary["reason_id"], "PNR");
    }

    #[test]
    fn lenient_reading() {
        let sparse =
            read_chargeback(&json!({"payments": [{"id": 7}, "8", 9]}), "cb-1").expect("read");
        assert_eq!((sparse.id.as_str(), sparse.payment_ids.len()), ("cb-1", 3));
        let shipment =
            read_claim(&json!({"resource": "shipment", "resource_id": 5}), "c").expect("read");
        assert_eq!(shipment.payment_id, None);
        assert!(read_claim(&json!([1]), "c").is_err());
    }
}
