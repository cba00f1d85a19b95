//! Reading a MercadoPago webhook before anything is trusted: is it JSON, is it a V1 payment
//! notification, which fields does it carry. Pure; ingest acts on the answer. The reasons are the
//! exact texts of SPEC §5.

use serde_json::{Map, Value};

use crate::domain::{BodyError, Classified, Notification, Topic, normalize_id};
use crate::provider::Delivery;

/// The body read by [`classify`], with the delivery's `x-request-id` (the deduplication key of a
/// body without `id`).
pub fn read(body: &[u8], delivery: &impl Delivery) -> Result<Classified, BodyError> {
    let mut classified = classify(body)?;
    if let Classified::Payment(notification) = &mut classified {
        notification.delivery_id = delivery.header("x-request-id").map(str::to_owned);
    }
    Ok(classified)
}

/// The body alone: a V1 payment notification (`delivery_id` left empty), or why it is ignored.
pub fn classify(body: &[u8]) -> Result<Classified, BodyError> {
    let raw: Value = serde_json::from_slice(body).map_err(|e| BodyError::NotJson(e.to_string()))?;
    let Value::Object(fields) = &raw else {
        return Err(BodyError::NotObject);
    };
    if fields.contains_key("topic") && !fields.contains_key("action") {
        let topic = text(fields, "topic").unwrap_or_else(|| "unknown".into());
        return Ok(Classified::Ignored(format!(
            "legacy format (topic: {topic})"
        )));
    }
    match text(fields, "type").as_deref() {
        Some("payment") => {}
        Some("mp-connect") => return Ok(connection_notice(fields, &raw)),
        Some(other) => return Ok(Classified::Ignored(format!("unsupported type: {other}"))),
        None => return Ok(Classified::Ignored("missing type".into())),
    }
    let action = text(fields, "action");
    let data_id = fields
        .get("data")
        .and_then(|d| d.get("id"))
        .and_then(normalize_id);
    let user_id = text(fields, "user_id");
    let (action, data_id, user_id) = match (action, data_id, user_id) {
        (Some(action), Some(data_id), Some(user_id)) => (action, data_id, user_id),
        (None, _, _) => return Ok(Classified::Ignored("missing action".into())),
        (_, None, _) => return Ok(Classified::Ignored("missing data.id".into())),
        (_, _, None) => return Ok(Classified::Ignored("missing user_id".into())),
    };
    Ok(Classified::Payment(Notification {
        topic: Topic::Payment,
        notification_id: fields.get("id").and_then(normalize_id),
        delivery_id: None,
        seller_account_id: user_id,
        action,
        payment_id: data_id,
        raw,
    }))
}

/// `mp-connect` (SPEC §14): `application.deauthorized` or `application.authorized` for the
/// seller in `user_id`. Its `data.id` is kept when sent (it is part of the signed manifest).
fn connection_notice(fields: &Map<String, Value>, raw: &Value) -> Classified {
    let authorized = match text(fields, "action").as_deref() {
        Some("application.authorized") => true,
        Some("application.deauthorized") => false,
        Some(other) => {
            return Classified::Ignored(format!("unsupported mp-connect action: {other}"));
        }
        None => return Classified::Ignored("missing action".into()),
    };
    let Some(user_id) = text(fields, "user_id") else {
        return Classified::Ignored("missing user_id".into());
    };
    let data_id = fields
        .get("data")
        .and_then(|d| d.get("id"))
        .and_then(normalize_id);
    Classified::Payment(Notification {
        topic: Topic::Connection { authorized },
        notification_id: fields.get("id").and_then(normalize_id),
        delivery_id: None,
        seller_account_id: user_id,
        action: text(fields, "action").unwrap_or_default(),
        payment_id: data_id.unwrap_or_default(),
        raw: raw.clone(),
    })
}

fn text(fields: &Map<String, Value>, key: &str) -> Option<String> {
    fields.get(key).and_then(normalize_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ignored(body: Value) -> Option<String> {
        match classify(body.to_string().as_bytes()) {
            Ok(Classified::Ignored(reason)) => Some(reason),
            _ => None,
        }
    }

    #[test]
    fn v1_payment_is_read_with_either_id_type() {
        let body = json!({"id": 117889882382u64, "type": "payment", "action": "payment.created",
            "user_id": "2079614828", "data": {"id": 150211668619u64}, "extra": true});
        let Ok(Classified::Payment(n)) = classify(body.to_string().as_bytes()) else {
            panic!("not a payment");
        };
        assert_eq!(n.notification_id.as_deref(), Some("117889882382"));
        assert_eq!(
            (n.seller_account_id.as_str(), n.payment_id.as_str()),
            ("2079614828", "150211668619")
        );
        assert_eq!(n.raw["extra"], json!(true), "unknown fields are kept");
    }

    #[test]
    fn ignored_reasons_are_the_spec_texts() {
        let legacy = json!({"resource": "150211668619", "topic": "payment"});
        assert_eq!(
            ignored(legacy).as_deref(),
            Some("legacy format (topic: payment)")
        );
        let other =
            json!({"type": "merchant_order", "action": "x", "user_id": 1, "data": {"id": "1"}});
        assert_eq!(
            ignored(other).as_deref(),
            Some("unsupported type: merchant_order")
        );
        let base = json!({"type": "payment", "action": "payment.created", "user_id": 1, "data": {"id": "9"}});
        for (field, reason) in [
            ("action", "missing action"),
            ("user_id", "missing user_id"),
            ("data", "missing data.id"),
        ] {
            let mut body = base.clone();
            body.as_object_mut().map(|o| o.remove(field));
            assert_eq!(ignored(body).as_deref(), Some(reason), "{field}");
        }
    }

    #[test]
    fn mp_connect_notices_are_read() {
        let body = json!({"id": 9, "type": "mp-connect", "action": "application.deauthorized",
            "user_id": 2079614828u64, "data": {"id": "app-1"}});
        let Ok(Classified::Payment(n)) = classify(body.to_string().as_bytes()) else {
            panic!("not read");
        };
        assert_eq!(n.topic, Topic::Connection { authorized: false });
        assert_eq!(
            (n.seller_account_id.as_str(), n.payment_id.as_str()),
            ("2079614828", "app-1")
        );
        let granted =
            json!({"type": "mp-connect", "action": "application.authorized", "user_id": "7"});
        let Ok(Classified::Payment(n)) = classify(granted.to_string().as_bytes()) else {
            panic!("not read");
        };
        assert_eq!(n.topic, Topic::Connection { authorized: true });
        let other = json!({"type": "mp-connect", "action": "application.renamed", "user_id": "7"});
        assert_eq!(
            ignored(other).as_deref(),
            Some("unsupported mp-connect action: application.renamed")
        );
    }

    #[test]
    fn garbage_is_a_bad_request() {
        assert!(matches!(classify(b"not json"), Err(BodyError::NotJson(_))));
        assert_eq!(classify(b"[1,2]"), Err(BodyError::NotObject));
        assert_eq!(classify(b"\"x\""), Err(BodyError::NotObject));
    }
}
