//! Issue 13, the overview's figures: `GET /api/tenants/{tid}/stats` and `GET /api/stats`, counted
//! on a real database (SQLite and PostgreSQL).

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::utils::{ADMIN, TestApp};

const SELLER: &str = "2079614828";

fn sum(buckets: &Value, status: &str) -> i64 {
    buckets
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b[status].as_i64().unwrap_or_default())
        .sum()
}

#[actix_web::test]
async fn the_overview_counts_by_status_amount_and_queue() {
    // A long retry delay keeps the event MercadoPago does not know yet `pending`.
    let app = TestApp::spawn_with(&[("retry_schedule", "60")]).await;
    let tenant = app.create_tenant(SELLER, None).await;
    app.mp_serves("9901", "approved", SELLER, None).await;
    app.mp_serves("9902", "approved", SELLER, None).await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/9903"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "unauthorized"})))
        .mount(&app.mp)
        .await;
    let mut ids = Vec::new();
    for (n, payment) in ["9901", "9902", "9903", "9904"].into_iter().enumerate() {
        let (_, accepted) = app.webhook(SELLER, payment, n as u64 + 1).await;
        ids.push(accepted["event_id"].as_str().expect("id").to_owned());
    }
    app.wait_status(&tenant, &ids[0], "success").await;
    app.wait_status(&tenant, &ids[1], "success").await;
    app.wait_status(&tenant, &ids[2], "failed").await;
    let pending = app.wait_status(&tenant, &ids[3], "pending").await;
    assert!(
        pending["next_retry_at"].is_string(),
        "waiting for its retry: {pending}"
    );

    let (status, stats) = app
        .get(&format!("/api/tenants/{}/stats", tenant.id), &tenant.token)
        .await;
    assert_eq!(status, 200, "{stats}");
    for window in ["per_minute", "per_day"] {
        let buckets = &stats[window];
        assert_eq!(
            (
                sum(buckets, "success"),
                sum(buckets, "failed"),
                sum(buckets, "pending")
            ),
            (2, 1, 1),
            "{window}: {stats}"
        );
    }
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(stats["per_day"][0]["bucket"], today.as_str(), "{stats}");
    assert!(
        stats["per_minute"][0]["bucket"]
            .as_str()
            .is_some_and(|b| b.starts_with(&today) && b.len() == 16)
    );
    let rate = stats["failure_rate"].as_f64().expect("a rate");
    assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{stats}");
    assert_eq!(
        stats["approved_per_day"],
        json!([{"day": today, "currency": "ARS", "amount": 90000.0}])
    );
    assert_eq!(
        (
            stats["queue"]["pending"].as_i64(),
            stats["queue"]["processing"].as_i64()
        ),
        (Some(1), Some(0))
    );
    let oldest: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(stats["queue"]["oldest_pending_at"].clone()).expect("a time");
    let received: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(pending["created_at"].clone()).expect("a time");
    assert!(
        (oldest - received).num_milliseconds().abs() < 5,
        "{oldest} vs {received}"
    );

    // Another tenant's events are not counted for this one; the super admin sees both.
    let other = app.create_tenant("5550002", None).await;
    app.mp_serves("9905", "approved", "5550002", None).await;
    let (_, accepted) = app.webhook("5550002", "9905", 9).await;
    app.wait_status(
        &other,
        accepted["event_id"].as_str().expect("id"),
        "success",
    )
    .await;
    let (_, mine) = app
        .get(&format!("/api/tenants/{}/stats", tenant.id), &tenant.token)
        .await;
    assert_eq!(sum(&mine["per_day"], "success"), 2);
    let (status, all) = app.get("/api/stats", ADMIN).await;
    assert_eq!(status, 200);
    assert_eq!(sum(&all["per_day"], "success"), 3);
    let (status, _) = app.get("/api/stats", &tenant.token).await;
    assert_eq!(status, 403, "only the super admin sees every tenant");
}
