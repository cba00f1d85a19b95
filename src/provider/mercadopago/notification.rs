//! Reading a MercadoPago webhook before anything is trusted: is it JSON, is it a V1 payment
//! notification, which fields does it carry. Pure; ingest acts on the answer. The reasons are the
//! exact texts of SPEC §5.

use serde_json::{Map, Value};

use crate::domain::{BodyError, Classified, Notification, Topic, normalize_id};
use crate::provider::port::Delivery;

/// The body read by [`classify`], with the delivery's `x-request-id` (the deduplication key of a
/// body without `id`).
pub fn read(body: &[u8], delivery: &impl Delivery) -> Result<Classified, BodyError> {
    let mut classified = classify(body)?;
    if let Classified::Payment(notification) = &mut classified {
        notification.delivery_id = delivery.header("x-request-id").map(str::to_owned);
    }
    Ok(classified)
}

/// The body alone: a V1 notification Cobro takes (`delivery_id` left empty), or why it is
/// ignored. Topics (SPEC §17): `payment`, `order`, `topic_chargebacks_wh`,
/// `stop_delivery_op_wh` (fraud alert), `topic_claims_integration_wh`, `mp-connect`.
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
    let topic = match text(fields, "type").as_deref() {
        Some("payment") => Topic::Payment,
        Some("order") => Topic::Order {
            version: data_field(fields, "version").and_then(|v| v.parse().ok()),
        },
        Some("topic_chargebacks_wh") => Topic::Chargeback,
        Some("stop_delivery_op_wh") => Topic::FraudAlert,
        Some("topic_claims_integration_wh") => Topic::Claim,
        Some("mp-connect") => return Ok(connection_notice(fields, &raw)),
        Some(other) => return Ok(Classified::Ignored(format!("unsupported type: {other}"))),
        None => return Ok(Classified::Ignored("missing type".into())),
    };
    let required = match read_fields(fields, topic) {
        Ok(required) => required,
        Err(missing) => return Ok(Classified::Ignored(format!("missing {missing}"))),
    };
    Ok(Classified::Payment(Notification {
        topic,
        notification_id: fields.get("id").and_then(normalize_id),
        delivery_id: None,
        seller_account_id: required.user_id,
        action: required.action,
        signed_id: data_field(fields, "id"),
        resource_id: required.resource_id,
        payment_id: required.payment_id,
        raw,
    }))
}

/// What every topic must carry, read leniently.
struct Required {
    action: String,
    resource_id: String,
    payment_id: String,
    user_id: String,
}

/// The fields a topic needs, or the name of the first one missing (the SPEC §5 reason).
/// A payment needs `action`, `data.id` and `user_id`, as always. The optional topics are
/// documented less firmly (MERCADOPAGO.md §6), so only what Cobro cannot work without is
/// required: a chargeback's `actions` is an array, and a fraud alert has no `data.id`.
fn read_fields(fields: &Map<String, Value>, topic: Topic) -> Result<Required, &'static str> {
    let action = text(fields, "action").or_else(|| actions(fields));
    let data_id = data_field(fields, "id");
    let data_payment = data_field(fields, "payment_id");
    let (action, resource_id, payment_id) = match topic {
        Topic::Payment => {
            let action = action.ok_or("action")?;
            let id = data_id.ok_or("data.id")?;
            (action, id.clone(), id)
        }
        Topic::Order { .. } | Topic::Claim => {
            let action = action.ok_or("action")?;
            (action, data_id.ok_or("data.id")?, String::new())
        }
        Topic::Chargeback => {
            let id = data_id.ok_or("data.id")?;
            (
                action.unwrap_or_default(),
                id,
                data_payment.unwrap_or_default(),
            )
        }
        Topic::FraudAlert => {
            let payment = data_payment.ok_or("data.payment_id")?;
            (action.unwrap_or_default(), payment.clone(), payment)
        }
        // Read by `connection_notice`; the common envelope otherwise.
        Topic::Connection { .. } => (
            action.unwrap_or_default(),
            data_id.unwrap_or_default(),
            String::new(),
        ),
    };
    let user_id = text(fields, "user_id").ok_or("user_id")?;
    Ok(Required {
        action,
        resource_id,
        payment_id,
        user_id,
    })
}

/// A chargeback notice's `actions` array, as one text (`changed_case_status`).
fn actions(fields: &Map<String, Value>) -> Option<String> {
    let list = fields.get("actions")?.as_array()?;
    let words: Vec<String> = list.iter().filter_map(normalize_id).collect();
    Some(words.join(",")).filter(|joined| !joined.is_empty())
}

fn data_field(fields: &Map<String, Value>, key: &str) -> Option<String> {
    fields
        .get("data")
        .and_then(|d| d.get(key))
        .and_then(normalize_id)
}

/// Any V1 body that names a seller, read as a notification only to find and verify its tenant
/// for the delivery log: a type Cobro does not take (`merchant_order`, ...) is still a delivery
/// a seller may ask about.
pub fn envelope(body: &[u8], delivery: &impl Delivery) -> Option<Notification> {
    let raw: Value = serde_json::from_slice(body).ok()?;
    let fields = raw.as_object()?;
    let seller = text(fields, "user_id")?;
    let signed_id = data_field(fields, "id");
    Some(Notification {
        topic: Topic::Payment,
        notification_id: fields.get("id").and_then(normalize_id),
        delivery_id: delivery.header("x-request-id").map(str::to_owned),
        seller_account_id: seller,
        action: text(fields, "action")
            .or_else(|| actions(fields))
            .unwrap_or_default(),
        resource_id: signed_id.clone().unwrap_or_default(),
        signed_id,
        payment_id: String::new(),
        raw,
    })
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
    let data_id = data_field(fields, "id");
    Classified::Payment(Notification {
        topic: Topic::Connection { authorized },
        notification_id: fields.get("id").and_then(normalize_id),
        delivery_id: None,
        seller_account_id: user_id.clone(),
        action: text(fields, "action").unwrap_or_default(),
        resource_id: data_id.clone().unwrap_or(user_id),
        signed_id: data_id,
        payment_id: String::new(),
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
            (n.seller_account_id.as_str(), n.signed_id.as_deref()),
            ("2079614828", Some("app-1"))
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

    fn fixture_body(name: &str) -> Value {
        crate::provider::mercadopago::fixture(name)["body"].clone()
    }

    fn read_fixture(name: &str) -> Notification {
        let body = fixture_body(name).to_string();
        match classify(body.as_bytes()) {
            Ok(Classified::Payment(n)) => n,
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn the_optional_topics_are_read_from_their_fixtures() {
        let order = read_fixture("mp_webhook_v1_order_processed.request.json");
        assert_eq!(order.topic, Topic::Order { version: Some(3) });
        assert_eq!(order.resource_id, "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3");
        assert_eq!(
            order.signed_id.as_deref(),
            Some("ORD01JQ4S4KY8HWQ6NA5PXB65B3D3")
        );
        assert_eq!(
            (order.payment_id.as_str(), order.action.as_str()),
            ("", "order.processed")
        );

        let chargeback = read_fixture("mp_webhook_chargeback.request.json");
        assert_eq!(chargeback.topic, Topic::Chargeback);
        assert_eq!(chargeback.resource_id, "233218391843");
        assert_eq!(chargeback.payment_id, "150211668619");
        assert_eq!(
            chargeback.action, "changed_case_status",
            "the `actions` array"
        );

        let fraud = read_fixture("mp_webhook_fraud_alert.request.json");
        assert_eq!(fraud.topic, Topic::FraudAlert);
        assert_eq!(
            fraud.signed_id, None,
            "no data.id: the manifest has no id part"
        );
        assert_eq!(
            (fraud.resource_id.as_str(), fraud.payment_id.as_str()),
            ("150211668619", "150211668619")
        );

        let claim = read_fixture("mp_webhook_claim.request.json");
        assert_eq!(claim.topic, Topic::Claim);
        assert_eq!(
            (claim.resource_id.as_str(), claim.payment_id.as_str()),
            ("5300012345", "")
        );
    }

    #[test]
    fn optional_topics_without_what_they_need_are_ignored() {
        let mut fraud = fixture_body("mp_webhook_fraud_alert.request.json");
        fraud["data"]
            .as_object_mut()
            .map(|d| d.remove("payment_id"));
        assert_eq!(ignored(fraud).as_deref(), Some("missing data.payment_id"));
        let mut order = fixture_body("mp_webhook_v1_order_processed.request.json");
        order["data"].as_object_mut().map(|d| d.remove("id"));
        assert_eq!(ignored(order).as_deref(), Some("missing data.id"));
        let unversioned = json!({"type": "order", "action": "order.processed", "user_id": 1,
            "data": {"id": "ORD1"}});
        let Ok(Classified::Payment(n)) = classify(unversioned.to_string().as_bytes()) else {
            panic!("read");
        };
        assert_eq!(n.topic, Topic::Order { version: None });
    }

    #[test]
    fn garbage_is_a_bad_request() {
        assert!(matches!(classify(b"not json"), Err(BodyError::NotJson(_))));
        assert_eq!(classify(b"[1,2]"), Err(BodyError::NotObject));
        assert_eq!(classify(b"\"x\""), Err(BodyError::NotObject));
    }
}
