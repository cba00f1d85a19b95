//! SPEC §5: every row of the answer table, the signature vectors, and the duplicate storm.
//! Refused and ignored webhooks must leave nothing in the database.

use serde_json::{Value, json};

use crate::utils::{ADMIN, SECRET, TestApp, fixture, notification, sign};

const SELLER: &str = "2079614828";

async fn event_count(app: &TestApp, tenant: &crate::utils::Tenant) -> usize {
    let (status, page) = app
        .get(
            &format!("/api/tenants/{}/events?limit=500", tenant.id),
            ADMIN,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().map_or(0, Vec::len)
}

#[actix_web::test]
async fn every_row_of_the_answer_table() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let rid = "c2a1f7e4-8d2b-4a51-9b0e-5f6d3a2c1b7e";
    let good_sig = sign(SECRET, "9", rid);
    let body = |v: Value| v.to_string();
    let v1 = notification(SELLER, "9", 100);
    let without = |field: &str| {
        let mut v = v1.clone();
        v.as_object_mut().map(|o| o.remove(field));
        body(v)
    };

    let cases: Vec<(&str, String, Option<String>, u16, Value)> = vec![
        (
            "not json",
            "{oops".into(),
            Some(good_sig.clone()),
            400,
            Value::Null,
        ),
        (
            "not an object",
            "[1,2]".into(),
            Some(good_sig.clone()),
            400,
            Value::Null,
        ),
        (
            "legacy IPN",
            body(fixture("mercadopago/mp_ipn_legacy_payment.json")["body"].clone()),
            None,
            200,
            json!({"status": "ignored", "reason": "legacy format (topic: payment)"}),
        ),
        (
            "other type",
            body(
                json!({"type": "merchant_order", "action": "x", "user_id": SELLER, "data": {"id": "9"}}),
            ),
            None,
            200,
            json!({"status": "ignored", "reason": "unsupported type: merchant_order"}),
        ),
        (
            "no action",
            without("action"),
            None,
            200,
            json!({"status": "ignored", "reason": "missing action"}),
        ),
        (
            "no data.id",
            without("data"),
            None,
            200,
            json!({"status": "ignored", "reason": "missing data.id"}),
        ),
        (
            "no user_id",
            without("user_id"),
            None,
            200,
            json!({"status": "ignored", "reason": "missing user_id"}),
        ),
        (
            "unknown tenant",
            body(notification("31337", "9", 1)),
            Some(good_sig.clone()),
            200,
            json!({"status": "ignored", "reason": "unknown tenant"}),
        ),
        (
            "no signature",
            body(v1.clone()),
            None,
            401,
            json!({"error": "missing x-signature header", "code": "unauthorized"}),
        ),
        (
            "malformed signature",
            body(v1.clone()),
            Some("garbage".into()),
            401,
            Value::Null,
        ),
        (
            // PostgreSQL cannot store it; refused on both backends before anything is written.
            "NUL character",
            body(
                json!({"id": 100, "type": "payment", "action": "payment.created\u{0}",
                "user_id": SELLER, "data": {"id": "9"}}),
            ),
            Some(good_sig.clone()),
            400,
            json!({"error": "body holds a NUL character (\\u0000), which cannot be stored",
                "code": "bad_request"}),
        ),
        (
            "wrong signature",
            body(v1.clone()),
            Some(sign("another_secret", "9", rid)),
            401,
            json!({"error": "x-signature does not match", "code": "unauthorized"}),
        ),
    ];
    for (name, payload, signature, status, expected) in cases {
        let (got, answer) = app
            .raw_webhook("9", &payload, rid, signature.as_deref())
            .await;
        assert_eq!(got, status, "{name}: {answer}");
        if expected.is_null() {
            assert!(
                answer["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{name}: {answer}"
            );
        } else {
            assert_eq!(answer, expected, "{name}");
        }
    }
    // The query data.id is signed, the body is not: a body naming another payment is refused.
    let (got, answer) = app
        .raw_webhook(
            "9",
            &body(notification(SELLER, "10", 100)),
            rid,
            Some(&good_sig),
        )
        .await;
    assert_eq!(
        (got, answer["error"].as_str()),
        (401, Some("query data.id does not match body data.id"))
    );
    // Over 64 KiB.
    let mut big = v1.clone();
    big["padding"] = json!("x".repeat(70 * 1024));
    let (got, answer) = app.raw_webhook("9", &body(big), rid, Some(&good_sig)).await;
    assert_eq!(got, 413, "{answer}");
    assert!(answer["error"].is_string());
    assert_eq!(
        event_count(&app, &tenant).await,
        0,
        "nothing refused or ignored was stored"
    );

    // New, then the same notification again.
    let (got, first) = app
        .raw_webhook("9", &body(v1.clone()), rid, Some(&good_sig))
        .await;
    assert_eq!((got, first["status"].as_str()), (200, Some("accepted")));
    let (got, again) = app
        .raw_webhook("9", &body(v1.clone()), rid, Some(&good_sig))
        .await;
    assert_eq!((got, again["status"].as_str()), (200, Some("duplicate")));
    assert_eq!(again["event_id"], first["event_id"]);
    assert_eq!(event_count(&app, &tenant).await, 1);
}

#[actix_web::test]
async fn a_tenant_over_its_ingest_rate_gets_429_with_retry_after() {
    let app = TestApp::spawn_with(&[("ingest_per_tenant_per_second", "2")]).await;
    let tenant = app.create_tenant(SELLER, None).await;
    let mut statuses = Vec::new();
    for n in 0..4 {
        statuses.push(
            app.webhook(SELLER, &format!("{}", 500 + n), 500 + n)
                .await
                .0,
        );
    }
    assert_eq!(&statuses[..2], [200, 200]);
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    let response = app
        .http
        .post(format!("{}/webhooks/mp?data.id=600&type=payment", app.url))
        .header("x-request-id", "r")
        .header("x-signature", sign(SECRET, "600", "r"))
        .body(notification(SELLER, "600", 600).to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().get("retry-after").is_some());
    let accepted = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(
        event_count(&app, &tenant).await,
        accepted,
        "a 429 stores nothing"
    );
}

#[actix_web::test]
async fn fifty_concurrent_deliveries_give_one_accepted() {
    duplicate_storm(50).await;
}

#[actix_web::test]
async fn a_thousand_concurrent_deliveries_give_one_accepted() {
    duplicate_storm(1000).await;
}

async fn duplicate_storm(deliveries: usize) {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let deliveries = (0..deliveries).map(|_| app.webhook(SELLER, "4242", 777));
    let answers = futures_util::future::join_all(deliveries).await;
    let count = |s: &str| {
        answers
            .iter()
            .filter(|(code, a)| *code == 200 && a["status"] == s)
            .count()
    };
    let others: Vec<_> = answers
        .iter()
        .filter(|(code, _)| *code != 200)
        .take(3)
        .collect();
    assert_eq!(
        (count("accepted"), count("duplicate")),
        (1, answers.len() - 1),
        "non-200 answers (first 3): {others:?}"
    );
    let ids: std::collections::HashSet<_> = answers
        .iter()
        .map(|(_, a)| a["event_id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "every duplicate names the accepted event");
    assert_eq!(event_count(&app, &tenant).await, 1);
}

/// Every vector of the shared fixture, at the HTTP boundary where a payment id exists and in
/// the verifier for all of them (including the one without a data.id).
#[actix_web::test]
async fn signature_vectors() {
    let vectors = fixture("mercadopago/signature_vectors.json")["vectors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(vectors.len() >= 15);
    for vector in &vectors {
        let secret = vector
            .get("secret_used_to_verify")
            .unwrap_or(&vector["secret"])
            .as_str()
            .expect("secret");
        let verdict = cobro::provider::mercadopago::signature::check(
            secret.as_bytes(),
            vector["x_signature"].as_str(),
            vector["data_id"].as_str(),
            vector["x_request_id"].as_str(),
        );
        assert_eq!(verdict.is_ok(), vector["valid"] == true, "{vector}");
    }

    let app = TestApp::spawn_with(&[("mp_webhook_secret", SECRET)]).await;
    let tenant_body = json!({ "name": "Vectors", "mp_user_id": SELLER, "mp_access_token": "t" });
    assert_eq!(app.post("/api/tenants", ADMIN, tenant_body).await.0, 201);
    for (n, vector) in vectors.iter().enumerate() {
        let Some(data_id) = vector["data_id"].as_str() else {
            continue;
        };
        if vector
            .get("secret_used_to_verify")
            .is_some_and(|s| s != SECRET)
        {
            continue;
        }
        let body = notification(SELLER, data_id, 9000 + n as u64).to_string();
        let request_id = vector["x_request_id"].as_str();
        let mut request = app
            .http
            .post(format!(
                "{}/webhooks/mp?data.id={data_id}&type=payment",
                app.url
            ))
            .header(
                "x-signature",
                vector["x_signature"].as_str().unwrap_or_default(),
            )
            .body(body);
        if let Some(rid) = request_id {
            request = request.header("x-request-id", rid);
        }
        let response = request.send().await.expect("send");
        let expected = if vector["valid"] == true { 200 } else { 401 };
        assert_eq!(response.status().as_u16(), expected, "{vector}");
    }
}
