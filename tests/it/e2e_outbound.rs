//! SPEC §21, signed outbound events, end to end: a real receiver that checks every signature by
//! the spec's algorithm (not Cobro's code), real webhooks processed into payment and order changes
//! whose messages come out of the outbox; order per (endpoint, tenant) under failures, 410,
//! rotation, replay, filters, isolation, and the address rules (SQLite, and PostgreSQL with
//! `COBRO_TEST_POSTGRES_URL`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::utils::receiver::{Answer, Received, Receiver};
use crate::utils::{ADMIN, Tenant, TestApp, poll, poll_for};

pub const SELLER: &str = "2079614828";
/// Fast retries (SPEC: 5 s, 5 min, ...), and private addresses for the local receiver.
pub const FAST: &[(&str, &str)] = &[
    ("outbound_allow_private", "true"),
    ("outbound_retry_schedule", "0.2,0.2,0.2,0.2"),
    ("outbound_timeout_ms", "500"),
    ("outbound_poll_interval_ms", "100"),
];

pub async fn spawn() -> TestApp {
    TestApp::spawn_with(FAST).await
}

/// Creates a tenant endpoint; answers (id, secret).
pub async fn endpoint(
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

pub async fn wait_delivered(receiver: &Receiver, count: usize) -> Vec<Received> {
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
    // The receiver may answer before the attempt's record commits (records go with the
    // writer's next cycle): poll the API.
    let recorded = poll(|| async {
        let (_, listed) = app.get(&path, &tenant.token).await;
        let listed = listed.as_array().cloned().unwrap_or_default();
        listed.len() == 2 && listed.iter().all(|m| m["status"] == "delivered")
    })
    .await;
    let (status, listed) = app.get(&path, &tenant.token).await;
    assert_eq!(status, 200, "{listed}");
    assert!(recorded, "{listed}");
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
    // The receiver answered before Cobro records the attempt: wait for the record.
    let recorded = poll(|| async { app.get(&path, ADMIN).await.1["status"] == "delivered" }).await;
    let (_, detail) = app.get(&path, ADMIN).await;
    assert!(recorded, "{detail}");
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

    // A delivered message sent again by hand (once its delivery is recorded, as the dashboard
    // shows it): the same webhook-id (the receiver deduplicates).
    let message = format!("{base}/messages/{}", got[0].id);
    let recorded =
        poll(|| async { app.get(&message, ADMIN).await.1["status"] == "delivered" }).await;
    assert!(recorded);
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
async fn under_random_failures_each_tenant_is_told_in_order() {
    use rand::{Rng, SeedableRng};
    let app = spawn().await;
    let receiver = Receiver::start().await;
    // A third of the answers fail, at random (seeded): 500, 429 asking for 1 s, a timeout.
    let mut rng = rand::rngs::StdRng::seed_from_u64(25);
    receiver.plan((0..400).map(|_| match rng.random_range(0..9) {
        0 => Answer::status(500),
        1 => Answer::retry_after(429, 1),
        2 => Answer::slow(Duration::from_millis(700)),
        _ => Answer::status(204),
    }));
    let sellers = ["3001", "3002", "3003"];
    let mut tenants = Vec::new();
    for seller in sellers {
        tenants.push(app.create_tenant(seller, None).await);
    }
    let (status, created) = app
        .post(
            "/api/endpoints",
            ADMIN,
            json!({ "url": receiver.url(), "events": ["payment.updated"] }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap_or_default().to_owned();
    const PER_TENANT: u64 = 12;
    // Each tenant's payments one after another (so their commit order is known), the three
    // tenants side by side.
    let (app_ref, tenants_ref) = (&app, &tenants);
    let senders = sellers.iter().enumerate().map(|(t, seller)| {
        let (app, tenants) = (app_ref, tenants_ref);
        async move {
            for k in 0..PER_TENANT {
                let payment = format!("{seller}{k:04}");
                app.mp_serves(&payment, "approved", seller, None).await;
                let (_, answer) = app.webhook(seller, &payment, (t as u64) * 1000 + k).await;
                let event = answer["event_id"].as_str().unwrap_or_default().to_owned();
                app.wait_status(&tenants[t], &event, "success").await;
            }
        }
    });
    futures_util::future::join_all(senders).await;
    let all = poll_for(Duration::from_secs(40), || async {
        receiver.delivered().len() as u64 >= PER_TENANT * sellers.len() as u64
    })
    .await;
    assert!(
        all,
        "{} of {} told",
        receiver.delivered().len(),
        PER_TENANT * 3
    );
    for (t, seller) in sellers.iter().enumerate() {
        let told: Vec<String> = receiver
            .delivered()
            .iter()
            .filter(|m| m.body["tenant_id"] == tenants[t].id.as_str())
            .map(|m| {
                m.body["data"]["paymentId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        let expected: Vec<String> = (0..PER_TENANT).map(|k| format!("{seller}{k:04}")).collect();
        assert_eq!(
            told, expected,
            "tenant {seller}: in commit order, each once"
        );
    }
    let received = receiver.received();
    assert!(received.iter().all(|m| m.signed_by(&secret)));
    let failures = received.iter().filter(|m| !m.delivered()).count();
    assert!(failures >= 5, "the receiver failed {failures} times");
}
