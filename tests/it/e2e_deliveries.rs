//! SPEC §18, the delivery log, on SQLite and PostgreSQL: a row for every row of the §5 answer
//! table (bodies only for authenticated deliveries of a known tenant), the tenant's view and the
//! super admin's, an event's deliveries in its detail, the cap on unauthenticated rows under a
//! burst of 1,000 bad requests, and retention.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::utils::{ADMIN, SECRET, TestApp, notification, poll, sign};

const SELLER: &str = "2079614828";

async fn deliveries(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, page) = app
        .get(&format!("/api/deliveries?limit=500{query}"), ADMIN)
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

/// Waits until `count` rows are logged (rows of unanswered-by-event requests ride the next cycle).
async fn logged(app: &TestApp, count: usize) -> Vec<Value> {
    assert!(
        poll(|| async { deliveries(app, "").await.len() >= count }).await,
        "fewer than {count} rows: {:?}",
        deliveries(app, "").await
    );
    deliveries(app, "").await
}

async fn post(app: &TestApp, query: &str, body: &str, signature: Option<&str>) -> u16 {
    let mut request = app
        .http
        .post(format!("{}/webhooks/mp?{query}", app.url))
        .header("content-type", "application/json")
        .header("x-request-id", "11111111-2222-4333-8444-555555555555")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("x-signature", signature);
    }
    request
        .send()
        .await
        .expect("reaches cobro")
        .status()
        .as_u16()
}

fn row<'a>(rows: &'a [Value], outcome: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["outcome"] == outcome)
        .unwrap_or_else(|| panic!("no {outcome} row in {rows:?}"))
}

#[actix_web::test]
async fn every_answer_is_logged_and_only_authenticated_bodies_are_kept() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    app.mp_serves("150211668619", "approved", SELLER, None)
        .await;
    let rid = "11111111-2222-4333-8444-555555555555";

    assert_eq!(
        post(&app, "data.id=1&type=payment", "not json", None).await,
        400
    );
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    assert_eq!(post(&app, "type=payment", &big, None).await, 413);
    let legacy = json!({"resource": "150211668619", "topic": "payment"}).to_string();
    assert_eq!(
        post(&app, "topic=payment&id=150211668619", &legacy, None).await,
        200
    );
    let unknown = notification("999", "5", 1).to_string();
    assert_eq!(
        post(
            &app,
            "data.id=5&type=payment",
            &unknown,
            Some(&sign(SECRET, "5", rid))
        )
        .await,
        200
    );
    let forged = notification(SELLER, "6", 2).to_string();
    assert_eq!(
        post(
            &app,
            "data.id=6&type=payment",
            &forged,
            Some(&sign("wrong", "6", rid))
        )
        .await,
        401
    );
    // A merchant_order the tenant signed: ignored, but the tenant's, with its body.
    let mut merchant = notification(SELLER, "7", 3);
    merchant["type"] = json!("merchant_order");
    let merchant = merchant.to_string();
    assert_eq!(
        post(
            &app,
            "data.id=7&type=merchant_order",
            &merchant,
            Some(&sign(SECRET, "7", rid))
        )
        .await,
        200
    );
    let (status, accepted) = app.webhook(SELLER, "150211668619", 4).await;
    assert_eq!(status, 200);
    let event_id = accepted["event_id"].as_str().expect("event").to_owned();
    let (_, duplicate) = app.webhook(SELLER, "150211668619", 4).await;
    assert_eq!(duplicate["status"], "duplicate");

    let rows = logged(&app, 8).await;
    assert_eq!(rows.len(), 8, "{rows:?}");
    for row in &rows {
        assert_eq!(row["provider"], "mercadopago");
        assert!(row["ack_ms"].as_i64().is_some());
    }
    let bad = row(&rows, "bad_request");
    assert_eq!(
        (
            bad["http_status"].as_i64(),
            bad["tenant_id"].is_null(),
            bad["body"].is_null()
        ),
        (Some(400), true, true)
    );
    let large = row(&rows, "too_large");
    assert_eq!(large["http_status"], 413);
    assert!(large["body_bytes"].as_i64().is_some_and(|b| b > 64 * 1024));
    let refused = row(&rows, "refused");
    assert_eq!(
        (refused["http_status"].as_i64(), refused["body"].is_null()),
        (Some(401), true)
    );
    assert_eq!(
        refused["tenant_id"],
        json!(tenant.id),
        "named, but not authenticated: no body"
    );
    assert_eq!(refused["request_id"], rid);
    let ignored: Vec<_> = rows.iter().filter(|r| r["outcome"] == "ignored").collect();
    assert_eq!(ignored.len(), 3);
    let mine = ignored
        .iter()
        .find(|r| r["type"] == "merchant_order")
        .expect("merchant_order");
    assert_eq!(mine["tenant_id"], json!(tenant.id));
    assert_eq!(
        mine["body"]["type"], "merchant_order",
        "authenticated: the body is kept"
    );
    assert_eq!(mine["reason"], "unsupported type: merchant_order");
    for other in ignored.iter().filter(|r| r["type"] != "merchant_order") {
        assert!(
            other["tenant_id"].is_null() && other["body"].is_null(),
            "{other}"
        );
    }
    let accepted = row(&rows, "accepted");
    assert_eq!(accepted["event_id"], json!(event_id));
    assert_eq!(
        (accepted["type"].as_str(), accepted["resource_id"].as_str()),
        (Some("payment"), Some("150211668619"))
    );
    assert_eq!(
        accepted["body"]["data"]["id"], "150211668619",
        "the event's body"
    );
    let duplicate = row(&rows, "duplicate");
    assert_eq!(duplicate["event_id"], json!(event_id));
    assert_eq!(duplicate["body"]["id"], 4);

    // The tenant sees its own rows only; the super admin can ask for the tenant-less ones.
    let (status, own) = app
        .get(
            &format!("/api/tenants/{}/deliveries", tenant.id),
            &tenant.token,
        )
        .await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(own["items"].as_array().map(Vec::len), Some(4), "{own}");
    let (_, refused_only) = app
        .get(
            &format!("/api/tenants/{}/deliveries?outcome=refused", tenant.id),
            &tenant.token,
        )
        .await;
    assert_eq!(refused_only["items"].as_array().map(Vec::len), Some(1));
    let anonymous = deliveries(&app, "&tenant=none").await;
    assert_eq!(anonymous.len(), 4, "{anonymous:?}");
    // The event's detail links its deliveries: the accepted one, then its duplicate.
    let detail = app.event(&tenant, &event_id).await;
    let outcomes: Vec<_> = detail["deliveries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| d["outcome"].clone())
        .collect();
    assert_eq!(outcomes, [json!("accepted"), json!("duplicate")]);
}

#[actix_web::test]
async fn a_tenant_over_its_rate_is_logged_as_rate_limited() {
    let app = TestApp::spawn_with(&[("ingest_per_tenant_per_second", "1")]).await;
    let _tenant = app.create_tenant(SELLER, None).await;
    app.mp_serves("1", "approved", SELLER, None).await;
    let mut statuses = Vec::new();
    for n in 0..3 {
        statuses.push(app.webhook(SELLER, "1", 100 + n).await.0);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let rows = logged(&app, 3).await;
    let limited = row(&rows, "rate_limited");
    assert_eq!(limited["http_status"], 429);
    assert!(limited["body"].is_null());
}

#[actix_web::test]
async fn a_burst_of_bad_requests_is_logged_up_to_the_cap_and_counted() {
    let app = TestApp::spawn().await;
    let started = Instant::now();
    let sends = (0..1000).map(|_| post(&app, "type=payment", "{broken", None));
    let statuses = futures_util::future::join_all(sends).await;
    let took = started.elapsed().as_secs_f64();
    assert!(statuses.iter().all(|s| *s == 400));
    // Every admitted row is written with the next cycle; give them a moment.
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    let rows = deliveries(&app, "&outcome=bad_request").await.len();
    let cap = 50.0 + 50.0 * (took + 0.5);
    assert!(rows >= 50, "the first 50 are logged: {rows}");
    assert!(
        (rows as f64) <= cap,
        "{rows} rows in {took:.2} s, cap {cap:.0}"
    );
    let metrics = app
        .http
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .expect("metrics");
    let text = metrics.text().await.unwrap_or_default();
    let unlogged = text
        .lines()
        .find(|l| l.starts_with("cobro_deliveries_unlogged_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_default();
    assert!(
        unlogged >= (1000 - rows) as f64,
        "unlogged {unlogged}, logged {rows}"
    );
}

#[actix_web::test]
async fn old_deliveries_are_pruned_and_recent_ones_kept() {
    let app = TestApp::spawn().await;
    let _tenant = app.create_tenant(SELLER, None).await;
    assert_eq!(refused(&app, 1).await, 401);
    actix_rt::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(refused(&app, 2).await, 401);
    logged(&app, 2).await;
    let services = &app.state.services;
    let pruned =
        cobro::retention::prune_deliveries(&services.db, &services.gate, Duration::from_secs(1))
            .await
            .expect("prune");
    assert_eq!(pruned, 1);
    let rows = deliveries(&app, "").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["resource_id"], "2", "{rows:?}");
}

/// A notification for the seller with a signature that does not match.
async fn refused(app: &TestApp, n: u64) -> u16 {
    let body = notification(SELLER, &n.to_string(), n).to_string();
    let query = format!("data.id={n}&type=payment");
    let wrong = format!("ts=1,v1={}", "0".repeat(64));
    post(app, &query, &body, Some(&wrong)).await
}
