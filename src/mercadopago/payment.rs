//! Lenient reading of MercadoPago payment bodies (MERCADOPAGO.md §4): every field may be missing
//! or of a drifting type, so fields are picked out of the JSON value one by one and a surprise in
//! one never loses the others. Only a body that is not a JSON object is unreadable.

use serde_json::Value;

/// The fields Cobro uses, normalised. `raw` keeps the whole body for the database.
#[derive(Debug, Clone, PartialEq)]
pub struct MpPayment {
    pub id: Option<String>,
    pub status: Option<String>,
    pub status_detail: Option<String>,
    pub collector_id: Option<String>,
    pub external_reference: Option<String>,
    pub transaction_amount: Option<f64>,
    pub currency_id: Option<String>,
    pub payer_email: Option<String>,
    pub payer_name: Option<String>,
    pub payment_method: Option<String>,
    pub payment_type: Option<String>,
    pub date_created: Option<String>,
    pub date_approved: Option<String>,
    pub date_last_updated: Option<String>,
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payment body is not a JSON object")]
pub struct UnreadablePayment;

impl MpPayment {
    pub fn from_json(raw: Value) -> Result<Self, UnreadablePayment> {
        if !raw.is_object() {
            return Err(UnreadablePayment);
        }
        let text = |path: &str| raw.pointer(path).and_then(normalize_id);
        Ok(Self {
            id: text("/id"),
            status: text("/status"),
            status_detail: text("/status_detail"),
            collector_id: text("/collector_id"),
            external_reference: text("/external_reference"),
            transaction_amount: raw.pointer("/transaction_amount").and_then(number),
            currency_id: text("/currency_id"),
            payer_email: text("/payer/email"),
            payer_name: payer_name(&raw),
            payment_method: text("/payment_method_id"),
            payment_type: text("/payment_type_id"),
            date_created: text("/date_created"),
            date_approved: text("/date_approved"),
            date_last_updated: text("/date_last_updated"),
            raw,
        })
    }

    /// MP's numeric payment id, when it is one (the WebSocket payload wants a number).
    pub fn numeric_id(&self) -> Option<u64> {
        self.id.as_deref().and_then(|id| id.parse().ok())
    }
}

/// A string or a number as text: `150211668619`, `"150211668619"` and `1.50211668619e11` all
/// give `"150211668619"`. Empty strings, objects and nulls give `None`.
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

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// SPEC §10: `payer.first_name/last_name`, else `additional_info.payer`, else the cardholder.
fn payer_name(raw: &Value) -> Option<String> {
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

    #[test]
    fn names_fall_back_in_spec_order() {
        let payer = json!({"payer": {"first_name": "Ana", "last_name": null}});
        assert_eq!(
            MpPayment::from_json(payer)
                .ok()
                .and_then(|p| p.payer_name)
                .as_deref(),
            Some("Ana")
        );
        let additional = json!({"payer": {"first_name": null},
            "additional_info": {"payer": {"first_name": "Maria", "last_name": "Gonzalez"}}});
        let name = MpPayment::from_json(additional)
            .ok()
            .and_then(|p| p.payer_name);
        assert_eq!(name.as_deref(), Some("Maria Gonzalez"));
        let card = json!({"card": {"cardholder": {"name": "MARIA GONZALEZ"}}});
        let name = MpPayment::from_json(card).ok().and_then(|p| p.payer_name);
        assert_eq!(name.as_deref(), Some("MARIA GONZALEZ"));
    }

    #[test]
    fn wrong_types_lose_only_that_field() {
        let body = json!({"id": "42", "status": "approved", "transaction_amount": "12.50",
            "payer": "not an object", "collector_id": 7});
        let payment = MpPayment::from_json(body).expect("an object is readable");
        assert_eq!(payment.numeric_id(), Some(42));
        assert_eq!(payment.transaction_amount, Some(12.5));
        assert_eq!(payment.payer_email, None);
        assert_eq!(payment.collector_id.as_deref(), Some("7"));
    }

    #[test]
    fn non_objects_are_unreadable() {
        for body in [json!([]), json!("x"), json!(null), json!(3)] {
            assert_eq!(MpPayment::from_json(body), Err(UnreadablePayment));
        }
    }
}
