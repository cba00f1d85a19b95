//! SPEC §21's rules around the messages: whose endpoints are whose, the addresses Cobro may call
//! (a name resolving to 127.0.0.1 refused by default, no redirects followed, answers read up to
//! 4 KiB), an endpoint failing for too long disabled, retention (SQLite and PostgreSQL).

use std::time::Duration;

use serde_json::{Value, json};

use crate::e2e_outbound::{FAST, SELLER, endpoint, spawn, wait_delivered};
use crate::utils::receiver::{Answer, Receiver};
use crate::utils::{ADMIN, TestApp, poll};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

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

#[actix_web::test]
async fn redirects_are_not_followed_and_answers_are_read_up_to_4_kib() {
    let app = spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    // An endpoint that redirects elsewhere: the elsewhere is never called.
    let elsewhere = Receiver::start().await;
    let redirecting = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", elsewhere.url().as_str()),
        )
        .mount(&redirecting)
        .await;
    // An endpoint that answers 10 kB.
    let talkative = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(10_000)))
        .mount(&talkative)
        .await;
    let path = format!("/api/tenants/{}/endpoints", tenant.id);
    let mut messages = Vec::new();
    for url in [
        format!("{}/hooks", redirecting.uri()),
        format!("{}/hooks", talkative.uri()),
    ] {
        let (id, _) = endpoint(&app, &tenant, &url, None).await;
        let (status, test) = app
            .post(&format!("{path}/{id}/test"), &tenant.token, json!({}))
            .await;
        assert_eq!(status, 202, "{test}");
        messages.push(format!(
            "{path}/{id}/messages/{}",
            test["id"].as_str().unwrap_or_default()
        ));
    }
    let settled = poll(|| async {
        let (_, redirected) = app.get(&messages[0], ADMIN).await;
        let (_, read) = app.get(&messages[1], ADMIN).await;
        redirected["status"] == "failed" && read["status"] == "delivered"
    })
    .await;
    let (_, redirected) = app.get(&messages[0], ADMIN).await;
    let (_, read) = app.get(&messages[1], ADMIN).await;
    assert!(settled, "{redirected} {read}");
    assert_eq!(redirected["last_error"], "answered 307", "{redirected}");
    assert!(elsewhere.received().is_empty(), "the redirect was followed");
    let kept = read["attempt_history"][0]["response"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(kept.len(), 4096, "the answer is read up to 4 KiB");
}

#[actix_web::test]
async fn an_endpoint_failing_too_long_is_disabled_and_the_platform_told() {
    let mut overrides = FAST.to_vec();
    overrides.push(("outbound_disable_after_secs", "1"));
    let app = TestApp::spawn_with(&overrides).await;
    let tenant = app.create_tenant(SELLER, None).await;
    let platform = Receiver::start().await;
    let (status, _) = app
        .post(
            "/api/endpoints",
            ADMIN,
            json!({ "url": platform.url(), "events": ["order.updated"] }),
        )
        .await;
    assert_eq!(status, 201);
    let failing = Receiver::start().await;
    failing.plan((0..100).map(|_| Answer::status(503)));
    let (id, _) = endpoint(&app, &tenant, &failing.url(), None).await;
    let base = format!("/api/tenants/{}/endpoints/{id}", tenant.id);
    // Four messages: the first one's retries span more than the second the endpoint may fail.
    for _ in 0..4 {
        let (status, _) = app
            .post(&format!("{base}/test"), &tenant.token, json!({}))
            .await;
        assert_eq!(status, 202);
    }
    let disabled = poll(|| async { app.get(&base, ADMIN).await.1["disabled"] == true }).await;
    let (_, shown) = app.get(&base, ADMIN).await;
    assert!(disabled, "{shown}");
    assert_eq!(shown["disabled_reason"], "failing for 1s", "{shown}");
    assert!(shown["failing_since"].is_string(), "{shown}");
    let told = poll(|| async {
        platform
            .delivered()
            .iter()
            .any(|m| m.kind() == "endpoint.disabled")
    })
    .await;
    assert!(
        told,
        "endpoint.disabled reaches the platform-wide endpoint whatever its filter"
    );
    // Disabled, it is called no more.
    let calls = failing.received().len();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(failing.received().len(), calls);
}
