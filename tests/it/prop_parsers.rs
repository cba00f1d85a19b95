//! Property tests over everything that reads untrusted input: the webhook classifier, the
//! `x-signature` parser and verifier, and the lenient MercadoPago payment reader. No input makes
//! them panic, and each kind of garbage gets its own clear error.

use cobro::domain::{BodyError, Classified, normalize_id};
use cobro::provider::mercadopago::notification::classify;
use cobro::provider::mercadopago::payment;
use cobro::provider::mercadopago::signature::{self, SignatureError};
use proptest::prelude::*;
use serde_json::{Value, json};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::hash_map(
                prop_oneof![
                    Just("id".to_owned()),
                    Just("type".to_owned()),
                    Just("action".to_owned()),
                    Just("user_id".to_owned()),
                    Just("data".to_owned()),
                    Just("topic".to_owned()),
                    Just("status".to_owned()),
                    Just("payer".to_owned()),
                    Just("collector_id".to_owned()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..8,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn classify_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        match classify(&bytes) {
            Ok(_) => {}
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    #[test]
    fn classify_reads_any_json_and_refuses_only_non_objects(value in any_json()) {
        let result = classify(value.to_string().as_bytes());
        match (&value, result) {
            (Value::Object(_), Ok(Classified::Ignored(reason))) => prop_assert!(!reason.is_empty()),
            (Value::Object(_), Ok(Classified::Payment(n))) => {
                prop_assert_eq!(value["type"].as_str(), Some("payment"));
                prop_assert!(!n.payment_id.is_empty() && !n.seller_account_id.is_empty() && !n.action.is_empty());
            }
            (Value::Object(_), Err(err)) => prop_assert!(false, "object refused: {}", err),
            (_, result) => prop_assert_eq!(result, Err(BodyError::NotObject)),
        }
    }

    #[test]
    fn v1_payments_with_ids_of_either_type_are_read(
        id in any::<u64>(), user in 1u64.., data in "[0-9]{1,15}", numeric_user in any::<bool>()
    ) {
        let user_id = if numeric_user { json!(user) } else { json!(user.to_string()) };
        let body = json!({"id": id, "type": "payment", "action": "payment.created", "user_id": user_id, "data": {"id": data}});
        let Ok(Classified::Payment(n)) = classify(body.to_string().as_bytes()) else {
            return Err(TestCaseError::fail("not read as a payment"));
        };
        prop_assert_eq!(n.seller_account_id, user.to_string());
        prop_assert_eq!(n.notification_id, Some(id.to_string()));
    }

    #[test]
    fn signature_header_parser_never_panics(header in ".{0,200}") {
        match signature::parse_header(&header) {
            Ok(parsed) => prop_assert!(!parsed.ts.is_empty()),
            Err(SignatureError::Malformed(why)) => prop_assert!(!why.is_empty()),
            Err(other) => prop_assert!(false, "parser answered {}", other),
        }
    }

    #[test]
    fn signatures_round_trip_and_any_change_is_refused(
        secret in prop::collection::vec(any::<u8>(), 1..64),
        data_id in "[A-Za-z0-9]{1,30}",
        request_id in proptest::option::of("[a-f0-9-]{1,36}"),
        ts in "[0-9]{10,13}",
        flip in 0usize..64,
    ) {
        let manifest = signature::manifest(Some(&data_id), request_id.as_deref(), &ts);
        let v1 = signature::sign(&secret, &manifest);
        let header = format!("ts={ts},v1={v1}");
        prop_assert_eq!(signature::check(&secret, Some(&header), Some(&data_id), request_id.as_deref()), Ok(()));
        // Signed over the lowercased id (MP's docs), still accepted for the raw one.
        let lowered = signature::sign(&secret, &signature::manifest(Some(&data_id.to_lowercase()), request_id.as_deref(), &ts));
        let header_lower = format!("ts={ts},v1={lowered}");
        prop_assert_eq!(signature::check(&secret, Some(&header_lower), Some(&data_id), request_id.as_deref()), Ok(()));
        // One hex digit changed: refused.
        let mut tampered: Vec<char> = v1.chars().collect();
        tampered[flip] = if tampered[flip] == '0' { '1' } else { '0' };
        let tampered: String = tampered.into_iter().collect();
        let header_bad = format!("ts={ts},v1={tampered}");
        prop_assert_eq!(
            signature::check(&secret, Some(&header_bad), Some(&data_id), request_id.as_deref()),
            Err(SignatureError::Mismatch)
        );
        // Another payment id under the same signature: refused.
        let other = format!("{data_id}9");
        prop_assert_eq!(
            signature::check(&secret, Some(&header), Some(&other), request_id.as_deref()),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn payment_reader_takes_any_object_and_refuses_the_rest(value in any_json()) {
        let is_object = value.is_object();
        match payment::read(value) {
            Ok(payment) => {
                prop_assert!(is_object);
                if let Some(name) = payment.payer_name {
                    prop_assert!(!name.is_empty());
                }
            }
            Err(err) => {
                prop_assert!(!is_object);
                prop_assert!(!err.to_string().is_empty());
            }
        }
    }

    #[test]
    fn numeric_ids_normalise_to_their_digits(n in any::<u64>()) {
        prop_assert_eq!(normalize_id(&json!(n)), Some(n.to_string()));
        prop_assert_eq!(normalize_id(&json!(n.to_string())), Some(n.to_string()));
    }
}
