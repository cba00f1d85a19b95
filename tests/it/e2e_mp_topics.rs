//! SPEC §17 end to end, over real HTTP to a fake MercadoPago and GoHighLevel, on SQLite and
//! PostgreSQL: the `order` topic from its fixture (signature over the lowercased alphanumeric id,
//! exact amounts, the Cobro order moved, the buyer tagged once), version dedup and supersession,
//! the order status table row by row, an unknown status, chargebacks with their deadline, fraud
//! alerts (in `e2e_fraud_alerts`) and claims.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::utils::mp_topics::{SELLER, accepted, get, post, replay};
use crate::utils::{ADMIN, TestApp, fixture, payment};

const ORDER_ID: &str = "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3";

/// `GET /v1/orders/{id}` answers the fixture, for this Cobro order.
async fn mp_serves_order(app: &TestApp, id: &str, fixture_name: &str, order: &str) -> Value {
    let mut body = fixture(&format!("mercadopago/{fixture_name}"));
    body["id"] = json!(id);
    body["external_reference"] = json!(order);
    Mock::given(method("GET"))
        .and(path(format!("/v1/orders/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body.clone()))
        .mount(&app.mp)
        .await;
    body
}

/// Posts an `order` notification of version `version`, signed; answers the accepted event's id.
async fn order_accepted(app: &TestApp, id: &str, version: i64) -> String {
    accepted(&post(app, "order", Some(id), &order_notification(id, version)).await)
}

fn order_notification(id: &str, version: i64) -> Value {
    let mut body =
        fixture("mercadopago/mp_webhook_v1_order_processed.request.json")["body"].clone();
    body["data"]["id"] = json!(id);
    body["data"]["version"] = json!(version);
    body
}

#[actix_web::test]
async fn an_order_notification_pays_the_order_stores_exact_amounts_and_tags_once() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, Some("mp-pago-aprobado")).await;
    let order = app.create_order(&tenant).await;
    mp_serves_order(&app, ORDER_ID, "mp_order_processed.json", &order).await;
    app.ghl_accepts().await;

    // The fixture as MercadoPago sends it: signed over the lowercased id.
    let event_id = accepted(&replay(&app, "mp_webhook_v1_order_processed.request.json").await);
    let event = app.wait_status(&tenant, &event_id, "success").await;
    assert_eq!(
        (
            event["resource_type"].as_str(),
            event["resource_id"].as_str()
        ),
        (Some("order"), Some(ORDER_ID))
    );
    assert_eq!(event["webhook_type"], "order");
    assert_eq!(event["notification_id"], format!("order:{ORDER_ID}:3"));

    let stored = get(&app, &tenant, &format!("orders/{order}")).await;
    assert_eq!(stored["status"], "PAID");
    let payment = get(&app, &tenant, "payments/PAY01JQ4S4KY8HWQ6NA5PXB65B3D4").await;
    assert_eq!(payment["status"], "APPROVED");
    assert_eq!(payment["amount"], "150.00", "the decimal string as sent");
    assert_eq!(payment["refunded_amount"], "0.00");
    assert_eq!(payment["order_id"], json!(order));
    assert_eq!(payment["payer_email"], "comprador@example.com");
    assert!(payment["ghl_tagged_at"].is_string(), "{payment}");
    // The seller's token went to the Orders API.
    let calls = app.mp.received_requests().await.unwrap_or_default();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].url.path(), format!("/v1/orders/{ORDER_ID}"));
    let auth = calls[0]
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    assert_eq!(auth, Some(format!("Bearer APP_USR-{SELLER}").as_str()));
    // paymentStatusUpdated names the payment by its text id.
    let published = app.recorder.payment_updates();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].payment_id, "PAY01JQ4S4KY8HWQ6NA5PXB65B3D4");
    assert_eq!(published[0].mp_payment_id, None);
    assert_eq!(published[0].mapped_order_status.as_deref(), Some("PAID"));

    // The same version again is a duplicate; an older one is accepted but superseded, without a
    // fetch and without a second tag.
    let again = replay(&app, "mp_webhook_v1_order_processed.request.json").await;
    assert_eq!(
        (again.1["status"].as_str(), again.1["event_id"].as_str()),
        (Some("duplicate"), Some(event_id.as_str()))
    );
    let older = order_accepted(&app, ORDER_ID, 2).await;
    let older = app.wait_status(&tenant, &older, "success").await;
    assert_eq!(older["last_error"], "superseded by version 3");
    assert_eq!(
        app.mp_paths().await.len(),
        1,
        "a superseded version fetches nothing"
    );
    let tags = app.ghl.received_requests().await.unwrap_or_default();
    assert_eq!(
        tags.iter()
            .filter(|r| r.url.path().ends_with("/tags"))
            .count(),
        1
    );

    // Searchable by resource.
    let found = get(
        &app,
        &tenant,
        &format!("events?resource_type=order&resource_id={ORDER_ID}"),
    )
    .await;
    assert_eq!(found["items"].as_array().map(Vec::len), Some(2), "{found}");
    let none = get(&app, &tenant, "events?resource_type=claim").await;
    assert_eq!(none["items"].as_array().map(Vec::len), Some(0), "{none}");
}

#[actix_web::test]
async fn the_order_status_table_row_by_row_and_never_backwards() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    for (n, (fixture_name, order_status, payment_status)) in [
        ("mp_order_refunded.json", "REFUNDED", "REFUNDED"),
        ("mp_order_failed.json", "REJECTED", "REJECTED"),
        (
            "mp_order_action_required.json",
            "PENDING_PAYMENT",
            "PENDING",
        ),
        ("mp_order_partially_refunded.json", "PAID", "APPROVED"),
    ]
    .into_iter()
    .enumerate()
    {
        let order = app.create_order(&tenant).await;
        let id = format!("ORD0ROW{n}");
        let served = mp_serves_order(&app, &id, fixture_name, &order).await;
        let pay_id = served["transactions"]["payments"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let event = order_accepted(&app, &id, 1).await;
        app.wait_status(&tenant, &event, "success").await;
        let stored = get(&app, &tenant, &format!("orders/{order}")).await;
        assert_eq!(stored["status"], order_status, "{fixture_name}");
        let payment = get(&app, &tenant, &format!("payments/{pay_id}")).await;
        assert_eq!(payment["status"], payment_status, "{fixture_name}");
        if fixture_name == "mp_order_partially_refunded.json" {
            assert_eq!(payment["refunded_amount"], "50.00");
            // A later version that says `action_required` does not take a paid order back.
            app.mp.reset().await;
            mp_serves_order(&app, &id, "mp_order_action_required.json", &order).await;
            let later = order_accepted(&app, &id, 2).await;
            app.wait_status(&tenant, &later, "success").await;
            let stored = get(&app, &tenant, &format!("orders/{order}")).await;
            assert_eq!(stored["status"], "PAID", "never backwards");
        }
    }
}

#[actix_web::test]
async fn an_unknown_order_status_fails_the_event_visibly() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let order = app.create_order(&tenant).await;
    let mut body = fixture("mercadopago/mp_order_processed.json");
    body["external_reference"] = json!(order);
    body["status"] = json!("on_hold");
    Mock::given(method("GET"))
        .and(path(format!("/v1/orders/{ORDER_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&app.mp)
        .await;
    let event = order_accepted(&app, ORDER_ID, 1).await;
    let failed = app.wait_status(&tenant, &event, "failed").await;
    assert_eq!(failed["attempts"], 1, "permanent: no retry");
    assert_eq!(
        failed["last_error"],
        "unknown MercadoPago order status 'on_hold/accredited'"
    );
    let stored = get(&app, &tenant, &format!("orders/{order}")).await;
    assert_eq!(stored["status"], "CREATED", "nothing guessed");
}

#[actix_web::test]
async fn a_chargeback_disputes_the_payment_and_shows_its_deadline() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let order = app.create_order(&tenant).await;
    let mut charged = payment("150211668619", "charged_back", SELLER, Some(&order));
    charged["status_detail"] = json!("reimbursed");
    Mock::given(method("GET"))
        .and(path("/v1/payments/150211668619"))
        .respond_with(ResponseTemplate::new(200).set_body_json(charged))
        .mount(&app.mp)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/chargebacks/233218391843"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("mercadopago/mp_chargeback.json")),
        )
        .mount(&app.mp)
        .await;
    let event = accepted(&replay(&app, "mp_webhook_chargeback.request.json").await);
    let event = app.wait_status(&tenant, &event, "success").await;
    assert_eq!(
        (
            event["resource_type"].as_str(),
            event["resource_id"].as_str()
        ),
        (Some("chargeback"), Some("233218391843"))
    );
    let payment = get(&app, &tenant, "payments/150211668619").await;
    assert_eq!(payment["status"], "CHARGED_BACK");
    assert_eq!(payment["dispute"]["id"], "233218391843");
    assert_eq!(
        payment["dispute"]["date_documentation_deadline"],
        "2026-12-14T23:59:59.000-04:00"
    );
    assert_eq!(payment["dispute"]["documentation_status"], "pending");
    let stored = get(&app, &tenant, &format!("orders/{order}")).await;
    assert_eq!(stored["status"], "CHARGED_BACK");
}

#[actix_web::test]
async fn a_claim_is_kept_on_its_payment() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    app.mp_serves("150211668619", "approved", SELLER, None)
        .await;
    Mock::given(method("GET"))
        .and(path("/post-purchase/v1/claims/5300012345"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("mercadopago/mp_claim.json")),
        )
        .mount(&app.mp)
        .await;
    let event = accepted(&replay(&app, "mp_webhook_claim.request.json").await);
    app.wait_status(&tenant, &event, "success").await;
    let payment = get(&app, &tenant, "payments/150211668619").await;
    assert_eq!(payment["claim"]["id"], "5300012345");
    assert_eq!(
        (
            payment["claim"]["status"].as_str(),
            payment["claim"]["stage"].as_str()
        ),
        (Some("opened"), Some("claim"))
    );
    assert_eq!(
        app.recorder.payments_published(),
        1,
        "paymentStatusUpdated for the claim"
    );
}

#[actix_web::test]
async fn an_order_fetch_that_fails_is_retried_and_replayable_like_a_payment() {
    let app = TestApp::spawn_with(&[("retry_schedule", "0.2")]).await;
    let tenant = app.create_tenant(SELLER, None).await;
    let order = app.create_order(&tenant).await;
    // MercadoPago is down for the first two fetches: the first attempt is retried, the second
    // (the last of the schedule) ends in the dead letter.
    Mock::given(method("GET"))
        .and(path(format!("/v1/orders/{ORDER_ID}")))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&app.mp)
        .await;
    let event = order_accepted(&app, ORDER_ID, 1).await;
    let failed = app.wait_status(&tenant, &event, "failed").await;
    assert_eq!(failed["attempts"], 2, "{failed}");
    assert_eq!(
        failed["last_error"],
        format!("MercadoPago failed with 503"),
        "{failed}"
    );
    // A person retries once MercadoPago is back: the order is paid.
    mp_serves_order(&app, ORDER_ID, "mp_order_processed.json", &order).await;
    let (status, _) = app
        .post(
            &format!("/api/tenants/{}/events/{event}/retry", tenant.id),
            &tenant.token,
            json!({}),
        )
        .await;
    assert_eq!(status, 202);
    let done = app.wait_status(&tenant, &event, "success").await;
    assert_eq!(done["attempts"], 3);
    assert_eq!(
        get(&app, &tenant, &format!("orders/{order}")).await["status"],
        "PAID"
    );
    let history = done["history"].as_array().map(Vec::len);
    assert_eq!(history, Some(3), "every attempt is in the history: {done}");
}

#[actix_web::test]
async fn events_are_found_by_what_they_are_about() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    app.mp_serves("150211668619", "approved", SELLER, None)
        .await;
    let (_, paid) = app.webhook(SELLER, "150211668619", 1).await;
    let paid = paid["event_id"].as_str().expect("event").to_owned();
    mp_serves_order(&app, ORDER_ID, "mp_order_processed.json", "ext").await;
    let order = order_accepted(&app, ORDER_ID, 1).await;
    let ids = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["id"].as_str().map(str::to_owned))
            .collect()
    };
    let search = |query: &'static str| get(&app, &tenant, query);
    assert_eq!(
        ids(search("events?resource_type=payment").await),
        [paid.as_str()]
    );
    assert_eq!(
        ids(search("events?resource_type=payment&resource_id=150211668619").await),
        [paid.as_str()]
    );
    assert_eq!(
        ids(search("events?resource_id=150211668619").await),
        [paid.as_str()],
        "a payment by its id alone"
    );
    assert_eq!(
        ids(search("events?resource_type=order").await),
        [order.as_str()]
    );
    assert_eq!(
        ids(search("events?resource_id=ORD01JQ4S4KY8HWQ6NA5PXB65B3D3").await),
        [order.as_str()]
    );
    assert!(ids(search("events?resource_type=order&resource_id=150211668619").await).is_empty());
    let (status, _) = app
        .get(
            &format!("/api/tenants/{}/events?resource_type=invoice", tenant.id),
            ADMIN,
        )
        .await;
    assert_eq!(status, 400, "an unknown kind is refused");
}
