//! SPEC §21, signed outbound events, end to end: a real receiver that checks every signature by
//! the spec's algorithm (not Cobro's code), real webhooks processed into payment and order changes
//! whose messages come out of the outbox; order per (endpoint, tenant) under failures, 410,
//! rotation, replay, filters, isolation, and the address rules (SQLite, and PostgreSQL with
//! `COBRO_TEST_POSTGRES_URL`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::utils::receiver::{Answer, Received, Receiver};
use crate::utils::{ADMIN, Tenant, TestApp, poll, poll_for};

const SELLER: &str = "2079614828";
/// Fast retries (SPEC: 5 s, 5 min, ...), and private addresses for the local receiver.
const FAST: &[(&str, &str)] = &[
    ("outbound_allow_private", "true"),
    ("outbound_retry_schedule", "0.2,0.2,0.2,0.2"),
    ("outbound_timeout_ms", "500"),
    ("outbound_poll_interval_ms", "100"),
];

async fn spawn() -> TestApp {
    TestApp::spawn_with(FAST).await
}

/// Creates a tenant endpoint; answers (id, secret).
async fn endpoint(
    app: &TestApp,
    tenant: &Tenant,
    url: &str,
    events: Option<Value>,
) -> (String, String) {
    let mut body = json!({ "url": url, "description": "fulfilment" });
    if let Some(events) = events {
        body["events"] = events;
    }
    let path = format!("/api/tenants/{}/endpoints", tenant.id);
    let (status, created) = app.post(&path, &tenant.token, body).await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"]
        .as_str()
        .expect("the secret, once")
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (created["id"].as_str().expect("id").to_owned(), secret)
}

/// A paid order: its payment's webhook processed.
async fn pay(app: &TestApp, order: &str, payment: &str, n: u64) {
    app.mp_serves(payment, "approved", SELLER, Some(order))
        .await;
    let (status, _) = app.webhook(SELLER, payment, n).await;
    assert_eq!(status, 200);
}

async fn wait_delivered(receiver: &Receiver, count: usize) -> Vec<Received> {
    let arrived = poll_for(Duration::from_secs(20), || async {
        receiver.delivered().len() >= count
    })
    .await;
    assert!(
        arrived,
        "only {:?} arrived",
        receiver
            .received()
            .iter()
            .map(Received::kind)
            .collect::<Vec<_>>()
    );
    receiver.delivered()
}

#[actix_web::test]
async fn a_paid_order_tells_the_platform_signed_and_in_order() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let (endpoint_id, secret) = endpoint(&app, &tenant, &receiver.url(), None).await;
    let order = app.create_order(&tenant).await;
    pay(&app, &order, "9001", 1).await;

    let got = wait_delivered(&receiver, 2).await;
    let kinds: Vec<&str> = got.iter().map(Received::kind).collect();
    assert_eq!(
        kinds,
        ["payment.updated", "order.updated"],
        "the payment's change, then the order's"
    );
    for message in &got {
        assert!(
            message.signed_by(&secret),
            "signature does not verify: {message:?}"
        );
        assert!(message.id.starts_with("msg_"), "{}", message.id);
        assert!((message.timestamp - chrono::Utc::now().timestamp()).abs() < 60);
        assert_eq!(message.body["tenant_id"], tenant.id.as_str());
        assert!(message.body["timestamp"].is_string());
    }
    let payment = &got[0].body["data"];
    assert_eq!(payment["mpPaymentId"], 9001);
    assert_eq!(payment["mappedOrderStatus"], "PAID");
    assert_eq!(payment["orderId"], order.as_str());
    let order_data = &got[1].body["data"];
    assert_eq!(order_data["id"], order.as_str());
    assert_eq!(order_data["status"], "PAID");

    // The API shows each message delivered, with its attempt.
    let path = format!(
        "/api/tenants/{}/endpoints/{endpoint_id}/messages",
        tenant.id
    );
    let (status, listed) = app.get(&path, &tenant.token).await;
    assert_eq!(status, 200, "{listed}");
    let listed = listed.as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed.iter().all(|m| m["status"] == "delivered"),
        "{listed:?}"
    );
    let one = format!("{path}/{}", got[0].id);
    let (status, detail) = app.get(&one, &tenant.token).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["attempt_history"][0]["outcome"], "delivered");
    assert_eq!(detail["attempt_history"][0]["http_status"], 204);
    // The secret is never shown again.
    let (_, read) = app
        .get(
            &format!("/api/tenants/{}/endpoints/{endpoint_id}", tenant.id),
            ADMIN,
        )
        .await;
    assert!(read.get("secret").is_none(), "{read}");
}

#[actix_web::test]
async fn a_failing_message_holds_its_pair_and_retries_honour_the_receiver() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let (endpoint_id, secret) = endpoint(
        &app,
        &tenant,
        &receiver.url(),
        Some(json!(["payment.updated"])),
    )
    .await;
    // The first message meets a 500, a 429 asking for 1 s, a timeout; then all is well.
    receiver.plan([
        Answer::status(500),
        Answer::retry_after(429, 1),
        Answer::slow(Duration::from_millis(900)),
    ]);
    let order = app.create_order(&tenant).await;
    for (n, payment) in ["9101", "9102", "9103"].iter().enumerate() {
        pay(&app, &order, payment, 10 + n as u64).await;
        // Each processed before the next arrives: their messages commit in this order.
        let done = poll(|| async { app.recorder.payments_published() > n }).await;
        assert!(done, "payment {payment} not processed");
    }
    let got = wait_delivered(&receiver, 3).await;
    let ids: Vec<Value> = got
        .iter()
        .map(|m| m.body["data"]["mpPaymentId"].clone())
        .collect();
    assert_eq!(
        ids,
        [json!(9101), json!(9102), json!(9103)],
        "only payment.updated, in commit order"
    );
    let all = receiver.received();
    let first_ok = all
        .iter()
        .position(Received::delivered)
        .unwrap_or(usize::MAX);
    assert!(
        all[..first_ok].iter().all(|r| r.id == got[0].id),
        "a later message overtook the one retrying: {:?}",
        all.iter()
            .map(|r| (&r.id, r.answered.status))
            .collect::<Vec<_>>()
    );
    assert_eq!(first_ok, 3, "three failed attempts, then the success");
    // 429's Retry-After (1 s) was honoured over the schedule (0.2 s).
    let waited = all[2].timestamp - all[1].timestamp;
    assert!(waited >= 1, "retried {waited}s after the 429");
    assert!(all.iter().all(|r| r.signed_by(&secret)));
    let path = format!(
        "/api/tenants/{}/endpoints/{endpoint_id}/messages/{}",
        tenant.id, got[0].id
    );
    let (_, detail) = app.get(&path, ADMIN).await;
    let outcomes: Vec<&str> = detail["attempt_history"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["outcome"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        outcomes,
        ["retry", "retry", "retry", "delivered"],
        "{detail}"
    );
    assert_eq!(detail["attempt_history"][1]["http_status"], 429);

    // 410 Gone disables the endpoint at once; the platform-wide endpoint hears of it.
    let platform = Receiver::start().await;
    let (status, _) = app
        .post(
            "/api/endpoints",
            ADMIN,
            json!({ "url": platform.url(), "events": ["event.failed"] }),
        )
        .await;
    assert_eq!(status, 201);
    receiver.plan([Answer::status(410)]);
    pay(&app, &order, "9104", 20).await;
    let disabled = poll(|| async {
        let (_, read) = app
            .get(
                &format!("/api/tenants/{}/endpoints/{endpoint_id}", tenant.id),
                ADMIN,
            )
            .await;
        read["disabled"] == true
    })
    .await;
    assert!(disabled, "a 410 did not disable the endpoint");
    let notices = poll(|| async {
        platform
            .delivered()
            .iter()
            .any(|m| m.kind() == "endpoint.disabled")
    })
    .await;
    assert!(
        notices,
        "no endpoint.disabled: {:?}",
        platform
            .received()
            .iter()
            .map(Received::kind)
            .collect::<Vec<_>>()
    );
    let notice = platform
        .delivered()
        .into_iter()
        .find(|m| m.kind() == "endpoint.disabled");
    let notice = notice.map(|m| m.body).unwrap_or_default();
    assert_eq!(notice["data"]["endpoint_id"], endpoint_id.as_str());
    assert_eq!(notice["data"]["reason"], "answered 410 Gone");
    // Enabled again by hand, the waiting message goes.
    let path = format!("/api/tenants/{}/endpoints/{endpoint_id}", tenant.id);
    let (status, _) = app
        .call(
            reqwest::Method::PATCH,
            &path,
            Some(ADMIN),
            Some(json!({ "disabled": false })),
        )
        .await;
    assert_eq!(status, 200);
    let got = wait_delivered(&receiver, 4).await;
    assert_eq!(got[3].body["data"]["mpPaymentId"], 9104);
}

#[actix_web::test]
async fn rotation_signs_with_both_secrets_and_messages_can_be_sent_again() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let (endpoint_id, old) = endpoint(&app, &tenant, &receiver.url(), None).await;
    let base = format!("/api/tenants/{}/endpoints/{endpoint_id}", tenant.id);
    let (status, rotated) = app
        .post(&format!("{base}/rotate-secret"), &tenant.token, json!({}))
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["secret"]
        .as_str()
        .expect("the new secret")
        .to_owned();
    assert_ne!(new, old);
    assert!(rotated["previous_secret_until"].is_string());
    let (status, test) = app
        .post(&format!("{base}/test"), &tenant.token, json!({}))
        .await;
    assert_eq!(status, 202, "{test}");
    let got = wait_delivered(&receiver, 1).await;
    assert_eq!(got[0].kind(), "endpoint.test");
    assert_eq!(
        got[0].signatures.len(),
        2,
        "both secrets sign during the overlap"
    );
    assert!(got[0].signed_by(&old) && got[0].signed_by(&new));

    // A delivered message sent again by hand: the same webhook-id (the receiver deduplicates).
    let retry = format!("{base}/messages/{}/retry", got[0].id);
    let (status, again) = app.post(&retry, &tenant.token, json!({})).await;
    assert_eq!(status, 202, "{again}");
    let twice = poll(|| async { receiver.received().len() >= 2 }).await;
    assert!(twice);
    assert_eq!(receiver.received()[1].id, got[0].id);

    // Every attempt failing ends `failed`; the bulk retry sends it again.
    receiver.plan((0..5).map(|_| Answer::status(503)));
    let (_, test) = app
        .post(&format!("{base}/test"), &tenant.token, json!({}))
        .await;
    let failed = poll(|| async {
        let (_, m) = app
            .get(
                &format!(
                    "{base}/messages/{}",
                    test["id"].as_str().unwrap_or_default()
                ),
                ADMIN,
            )
            .await;
        m["status"] == "failed"
    })
    .await;
    assert!(failed, "five 503s did not fail the message");
    let (status, bulk) = app
        .post(&format!("{base}/messages/retry"), ADMIN, json!({}))
        .await;
    assert_eq!((status, bulk["retried"].clone()), (202, json!(1)));
    let delivered = poll(|| async {
        receiver
            .delivered()
            .iter()
            .any(|m| Some(m.id.as_str()) == test["id"].as_str())
    })
    .await;
    assert!(delivered, "the bulk retry did not deliver it");
}

#[actix_web::test]
async fn endpoints_are_the_tenants_own_and_the_platforms_the_super_admins() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let (a, b) = (
        app.create_tenant(SELLER, None).await,
        app.create_tenant("111", None).await,
    );
    let (endpoint_a, _) = endpoint(&app, &a, &receiver.url(), None).await;
    let (status, _) = app
        .get(
            &format!("/api/tenants/{}/endpoints/{endpoint_a}", a.id),
            &b.token,
        )
        .await;
    assert_eq!(status, 403, "another tenant's token");
    let (status, _) = app
        .get(
            &format!("/api/tenants/{}/endpoints/{endpoint_a}", b.id),
            &b.token,
        )
        .await;
    assert_eq!(status, 404, "under another tenant's path");
    let (status, _) = app.get("/api/endpoints", &a.token).await;
    assert_eq!(status, 403, "platform endpoints are the super admin's");
    let (status, body) = app
        .post(
            &format!("/api/tenants/{}/endpoints", a.id),
            &a.token,
            json!({ "url": receiver.url(), "events": ["payment.created"] }),
        )
        .await;
    assert_eq!(status, 400, "an unknown event type: {body}");
    let (status, _) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/tenants/{}/endpoints/{endpoint_a}", a.id),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(status, 204);
}

#[actix_web::test]
async fn a_url_resolving_to_loopback_is_refused_by_default() {
    let app = TestApp::spawn_with(&[("outbound_poll_interval_ms", "100")]).await;
    let receiver = Receiver::start().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let path = format!("/api/tenants/{}/endpoints", tenant.id);
    for url in [
        receiver.url(),
        "https://127.0.0.1/hooks".to_owned(),
        "https://[::1]/x".to_owned(),
    ] {
        let (status, body) = app.post(&path, &tenant.token, json!({ "url": url })).await;
        assert_eq!(status, 422, "{url}: {body}");
    }
    // A name is accepted as written, and refused when it resolves to 127.0.0.1.
    let port = receiver.server.address().port();
    let url = format!("https://localhost:{port}/hooks");
    let (status, created) = app.post(&path, &tenant.token, json!({ "url": url })).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap_or_default();
    let (status, test) = app
        .post(&format!("{path}/{id}/test"), &tenant.token, json!({}))
        .await;
    assert_eq!(status, 202);
    let message = format!(
        "{path}/{id}/messages/{}",
        test["id"].as_str().unwrap_or_default()
    );
    let refused = poll(|| async { app.get(&message, ADMIN).await.1["status"] == "failed" }).await;
    let (_, detail) = app.get(&message, ADMIN).await;
    assert!(refused, "{detail}");
    let error = detail["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("is not a public address"), "{error}");
    assert!(receiver.received().is_empty(), "the receiver was called");
}

#[actix_web::test]
async fn delivered_messages_go_with_retention_and_failed_ones_stay() {
    let mut overrides = FAST.to_vec();
    overrides.extend([
        ("outbound_retention_days", "14"),
        ("retention_interval_secs", "1"),
    ]);
    let app = TestApp::spawn_with(&overrides).await;
    let receiver = Receiver::start().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let (endpoint_id, _) = endpoint(&app, &tenant, &receiver.url(), None).await;
    let base = format!("/api/tenants/{}/endpoints/{endpoint_id}", tenant.id);
    // One delivered, one failed (a 400 is not retried: failed at once).
    let (_, delivered) = app
        .post(&format!("{base}/test"), &tenant.token, json!({}))
        .await;
    wait_delivered(&receiver, 1).await;
    receiver.plan([Answer::status(400)]);
    let (_, failed) = app
        .post(&format!("{base}/test"), &tenant.token, json!({}))
        .await;
    let message = |m: &Value| format!("{base}/messages/{}", m["id"].as_str().unwrap_or_default());
    let is_failed =
        poll(|| async { app.get(&message(&failed), ADMIN).await.1["status"] == "failed" }).await;
    assert!(is_failed);
    // Both made 20 days ago.
    let old = chrono::Utc::now() - chrono::Duration::days(20);
    use sea_orm::{EntityTrait, sea_query::Expr};
    entity::outbound_message::Entity::update_many()
        .col_expr(
            entity::outbound_message::Column::CreatedAt,
            Expr::value(old),
        )
        .exec(&app.state.services.db)
        .await
        .expect("backdate");
    let gone = poll(|| async { app.get(&message(&delivered), ADMIN).await.0 == 404 }).await;
    assert!(gone, "the old delivered message was pruned");
    assert_eq!(
        app.get(&message(&failed), ADMIN).await.0,
        200,
        "a failed one stays"
    );
}
