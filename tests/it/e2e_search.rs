//! Issue 13, search: a tenant's events and payments by status, action, payment id, buyer email,
//! order id and time range, and the CSV export of the filtered payments; on SQLite and PostgreSQL.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::utils::{Tenant, TestApp, payment};

const SELLER: &str = "2079614828";

/// MercadoPago answers this payment approved, for this buyer and order.
async fn serves(app: &TestApp, id: &str, email: &str, order: Option<&str>) {
    let mut body = payment(id, "approved", SELLER, order);
    body["payer"]["email"] = json!(email);
    Mock::given(method("GET"))
        .and(path(format!("/v1/payments/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&app.mp)
        .await;
}

async fn ids(app: &TestApp, tenant: &Tenant, query: &str) -> Vec<String> {
    let (status, page) = app
        .get(
            &format!("/api/tenants/{}/events?{query}", tenant.id),
            &tenant.token,
        )
        .await;
    assert_eq!(status, 200, "{query}: {page}");
    let mut found: Vec<String> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["mp_payment_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    found.sort();
    found
}

#[actix_web::test]
async fn events_and_payments_are_found_by_each_filter() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let order = app.create_order(&tenant).await;
    serves(&app, "8001", "maria@example.com", Some(&order)).await;
    serves(&app, "8002", "juan@example.com", None).await;
    serves(&app, "8003", "maria@example.com", None).await;
    let before = chrono::Utc::now();
    for (n, payment) in ["8001", "8002"].into_iter().enumerate() {
        let (_, accepted) = app.webhook(SELLER, payment, n as u64 + 1).await;
        app.wait_status(
            &tenant,
            accepted["event_id"].as_str().expect("id"),
            "success",
        )
        .await;
    }
    actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
    let between = chrono::Utc::now();
    actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
    let (_, accepted) = app.webhook(SELLER, "8003", 3).await;
    app.wait_status(
        &tenant,
        accepted["event_id"].as_str().expect("id"),
        "success",
    )
    .await;

    assert_eq!(ids(&app, &tenant, "").await, ["8001", "8002", "8003"]);
    assert_eq!(
        ids(&app, &tenant, "email=maria@example.com").await,
        ["8001", "8003"]
    );
    assert_eq!(
        ids(&app, &tenant, &format!("order_id={order}")).await,
        ["8001"]
    );
    assert_eq!(ids(&app, &tenant, "mp_payment_id=8002").await, ["8002"]);
    assert_eq!(
        ids(&app, &tenant, "action=payment.updated&status=success")
            .await
            .len(),
        3
    );
    assert!(
        ids(&app, &tenant, "action=payment.created")
            .await
            .is_empty()
    );
    assert!(ids(&app, &tenant, "status=failed").await.is_empty());
    let range = |from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>| {
        format!(
            "from={}&to={}",
            urlencode(&from.to_rfc3339()),
            urlencode(&to.to_rfc3339())
        )
    };
    assert_eq!(
        ids(&app, &tenant, &range(before, between)).await,
        ["8001", "8002"]
    );
    let later = chrono::Utc::now() + chrono::Duration::seconds(5);
    assert_eq!(ids(&app, &tenant, &range(between, later)).await, ["8003"]);
    assert_eq!(
        ids(
            &app,
            &tenant,
            &format!("email=maria@example.com&{}", range(between, later))
        )
        .await,
        ["8003"],
        "filters combine"
    );
    // Another tenant's buyer is not found through this tenant.
    let other = app.create_tenant("5550001", None).await;
    assert!(
        ids(&app, &other, "email=maria@example.com")
            .await
            .is_empty()
    );

    // Payments, with the same filters, and their CSV.
    let payments = format!("/api/tenants/{}/payments", tenant.id);
    let (_, page) = app
        .get(
            &format!("{payments}?email=maria@example.com&status=approved"),
            &tenant.token,
        )
        .await;
    let found: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["mp_payment_id"].as_str())
        .collect();
    assert_eq!(found, ["8003", "8001"], "newest first: {page}");
    let csv = app
        .http
        .get(format!(
            "{}{payments}/export?email=maria@example.com",
            app.url
        ))
        .bearer_auth(&tenant.token)
        .send()
        .await
        .expect("export");
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/csv")
    );
    let text = csv.text().await.expect("text");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("mp_payment_id,status,"), "{text}");
    assert!(lines[1].starts_with("8003,APPROVED,approved,"), "{text}");
    assert!(
        lines[2].contains(&order),
        "the order id is in the row: {text}"
    );
    // A bad time is a bad query, and a NUL character is refused before the database sees it.
    let (status, answer) = app
        .get(&format!("{payments}?from=yesterday"), &tenant.token)
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("invalid_query"))
    );
    let (status, _) = app
        .get(
            &format!("/api/tenants/{}/events?email=a%00b", tenant.id),
            &tenant.token,
        )
        .await;
    assert_eq!(status, 400);
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
