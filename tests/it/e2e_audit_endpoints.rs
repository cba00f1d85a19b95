//! SPEC §20 for the changes people make beyond tenants (issue 27): outbound endpoints and their
//! messages (SPEC §21) and a fraud alert acknowledged (SPEC §17). Each writes its row in the
//! change's transaction, a refused one writes none, and no endpoint secret reaches the trail.

use reqwest::Method;
use serde_json::{Value, json};

use crate::e2e_audit::trail;
use crate::e2e_outbound::{SELLER, spawn, wait_delivered};
use crate::utils::mp_topics::{accepted, replay};
use crate::utils::receiver::{Answer, Receiver};
use crate::utils::{ADMIN, TestApp, poll};

fn actions(rows: &[entity::audit_entry::Model]) -> Vec<&str> {
    rows.iter().map(|r| r.action.as_str()).collect()
}

#[actix_web::test]
async fn endpoint_changes_are_recorded_by_whoever_made_them_and_never_their_secrets() {
    let app = spawn().await;
    let receiver = Receiver::start().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let before = trail(&app).await.len();
    let base = format!("/api/tenants/{}/endpoints", tenant.id);
    let call = |method: Method, path: String, body: Option<Value>| {
        let app = &app;
        let token = tenant.token.clone();
        async move { app.call(method, &path, Some(&token), body).await }
    };

    // Refused: a URL Cobro may not call, a change to an endpoint that is not there.
    let (status, _) = call(
        Method::POST,
        base.clone(),
        Some(json!({ "url": "ftp://x" })),
    )
    .await;
    assert_eq!(status, 422);
    let missing = format!("{base}/{}", uuid::Uuid::now_v7());
    let off = Some(json!({ "disabled": true }));
    assert_eq!(call(Method::PATCH, missing, off).await.0, 404);
    assert_eq!(
        trail(&app).await.len(),
        before,
        "refused changes record nothing"
    );

    let body = json!({ "url": receiver.url(), "description": "fulfilment" });
    let (status, created) = call(Method::POST, base.clone(), Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let path = format!("{base}/{id}");
    let patch = json!({ "events": ["order.updated"], "disabled": false });
    assert_eq!(call(Method::PATCH, path.clone(), Some(patch)).await.0, 200);
    let rotate = format!("{path}/rotate-secret");
    let (status, rotated) = call(Method::POST, rotate, None).await;
    assert_eq!(status, 200);

    // A test message refused at once (400) fails; sent again one by one, then in bulk.
    receiver.plan([Answer::status(400)]);
    let (status, test) = call(Method::POST, format!("{path}/test"), None).await;
    assert_eq!(status, 202, "{test}");
    let message = test["id"].as_str().expect("message id").to_owned();
    let message_path = format!("{path}/messages/{message}");
    let failed = poll(|| async {
        call(Method::GET, message_path.clone(), None).await.1["status"] == "failed"
    })
    .await;
    assert!(failed, "a 400 fails the message at once");
    let bulk = format!("{path}/messages/retry");
    let (_, retried) = call(Method::POST, bulk.clone(), None).await;
    assert_eq!(retried["retried"], 1);
    wait_delivered(&receiver, 1).await;
    let (_, none) = call(Method::POST, bulk, None).await;
    assert_eq!(none["retried"], 0, "nothing failed: nothing recorded");
    let retry_one = format!("{message_path}/retry");
    assert_eq!(call(Method::POST, retry_one, None).await.0, 202);
    assert_eq!(call(Method::DELETE, path.clone(), None).await.0, 204);
    assert_eq!(call(Method::DELETE, path, None).await.0, 404);

    // A platform-wide endpoint: the super admin's, on no tenant.
    let platform = json!({ "url": receiver.url() });
    let (status, platform) = app.post("/api/endpoints", ADMIN, platform).await;
    assert_eq!(status, 201, "{platform}");

    let rows = trail(&app).await.split_off(before);
    assert_eq!(
        actions(&rows),
        [
            "endpoint.create",
            "endpoint.update",
            "endpoint.secret_rotated",
            "endpoint.test_sent",
            "endpoint.messages_retry_failed",
            "endpoint.message_retry",
            "endpoint.delete",
            "endpoint.create",
        ]
    );
    let owner = uuid::Uuid::parse_str(&tenant.id).ok();
    for row in &rows[..7] {
        assert_eq!(row.actor, format!("tenant:{}", tenant.id));
        assert_eq!(row.tenant_id, owner);
        assert_eq!(row.remote_addr.as_deref(), Some("127.0.0.1"));
    }
    assert_eq!(rows[0].target.as_deref(), Some(id.as_str()));
    assert_eq!(
        rows[0].changes,
        Some(json!(["url", "secret", "description"]))
    );
    assert_eq!(rows[1].changes, Some(json!(["events", "disabled"])));
    assert_eq!(rows[2].changes, Some(json!(["secret"])));
    assert_eq!(rows[3].target.as_deref(), Some(message.as_str()));
    assert_eq!(rows[4].target, Some(format!("{id}: 1 failed messages")));
    assert_eq!(rows[5].target.as_deref(), Some(message.as_str()));
    assert_eq!(
        (rows[7].actor.as_str(), rows[7].tenant_id),
        ("super_admin", None)
    );

    let written = format!("{rows:?}");
    for secret in [&created["secret"], &rotated["secret"], &platform["secret"]] {
        let secret = secret.as_str().expect("a secret, shown once");
        assert!(!written.contains(secret), "{secret} reached the audit log");
    }
    // The tenant's own trail has its endpoints' rows, not the platform's.
    let own = format!("/api/tenants/{}/audit?limit=500", tenant.id);
    let (_, mine) = app.get(&own, &tenant.token).await;
    let mine = mine["items"].as_array().map(Vec::len);
    assert_eq!(mine, Some(before + 7));
}

#[actix_web::test]
async fn a_fraud_alert_acknowledged_is_recorded_once_and_a_refused_one_not_at_all() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    app.mp_serves("150211668619", "approved", SELLER, None)
        .await;
    let (_, paid) = app.webhook(SELLER, "150211668619", 1).await;
    let paid = paid["event_id"].as_str().unwrap_or_default().to_owned();
    app.wait_status(&tenant, &paid, "success").await;
    let acknowledge = format!(
        "/api/tenants/{}/payments/150211668619/acknowledge-fraud",
        tenant.id
    );
    let before = trail(&app).await.len();

    // No fraud alert yet: refused, and nothing recorded.
    assert_eq!(
        app.post(&acknowledge, &tenant.token, json!({})).await.0,
        409
    );
    assert_eq!(trail(&app).await.len(), before);

    let alert = accepted(&replay(&app, "mp_webhook_fraud_alert.request.json").await);
    app.wait_status(&tenant, &alert, "success").await;
    let alerts = format!("/api/tenants/{}/fraud-alerts", tenant.id);
    let (_, open) = app.get(&alerts, &tenant.token).await;
    assert_eq!(open["items"].as_array().map(Vec::len), Some(1), "{open}");

    let (status, payment) = app.post(&acknowledge, &tenant.token, json!({})).await;
    assert_eq!(status, 200, "{payment}");
    assert!(payment["fraud_acknowledged_at"].is_string(), "{payment}");
    let (_, open) = app.get(&alerts, &tenant.token).await;
    assert_eq!(
        open["items"],
        json!([]),
        "acknowledged: the alert is no longer open"
    );

    let rows = trail(&app).await.split_off(before);
    assert_eq!(actions(&rows), ["payment.fraud_acknowledged"]);
    assert_eq!(rows[0].actor, format!("tenant:{}", tenant.id));
    assert_eq!(rows[0].target.as_deref(), Some("150211668619"));
    assert_eq!(rows[0].changes, Some(json!(["fraud_acknowledged_at"])));
}
