//! SPEC §14, keeping a seller connected: refresh before expiry (storing the rotated refresh
//! token), refresh once on a 401, a refused refresh, the `mp-connect` revocation, and never two
//! refreshes of one tenant at once. A fake MercadoPago token endpoint over real HTTP.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use wiremock::ResponseTemplate;

use crate::utils::oauth::{
    SELLER, SIX_MONTHS, app_with, callback, connected_tenant, grant, grants_code, payment_fetches,
    payment_needs_token, refreshes, start, tenant_json, token_requests,
};
use crate::utils::{SECRET, Tenant, TestApp, poll, sign};
use cobro::connect::{self, Reason};
use cobro::domain::TenantId;

fn tenant_id(tenant: &Tenant) -> TenantId {
    TenantId(uuid::Uuid::parse_str(&tenant.id).expect("uuid"))
}

/// The refresh token stored for the tenant, opened.
async fn stored_refresh_token(app: &TestApp, tenant: &Tenant) -> Option<String> {
    let provider = cobro::domain::Provider::MercadoPago;
    let row = cobro::store::accounts::row(&app.state.services.db, tenant_id(tenant), provider)
        .await
        .expect("query")
        .expect("the MercadoPago account");
    let sealed = row.refresh_token?;
    app.state.services.config.secrets.open(&sealed).ok()
}

fn refresh_requests(sent: &[std::collections::HashMap<String, String>]) -> Vec<String> {
    sent.iter()
        .filter(|form| form["grant_type"] == "refresh_token")
        .map(|form| form["refresh_token"].clone())
        .collect()
}

#[actix_web::test]
async fn a_token_near_expiry_is_refreshed_and_the_rotated_refresh_token_stored() {
    // Refresh what expires within 100 days, looking every 200 ms.
    let app = app_with(&[
        ("mp_token_refresh_before_secs", "8640000"),
        ("mp_token_refresh_interval_secs", "1"),
    ])
    .await;
    refreshes(
        &app,
        "TG-1",
        ResponseTemplate::new(200).set_body_json(grant("APP_USR-2", "TG-2", SIX_MONTHS, SELLER)),
    )
    .await;
    // Granted for 50 days: inside the window.
    let tenant = connected_tenant(&app, "APP_USR-1", "TG-1", 50 * 24 * 3600).await;
    let refreshed =
        poll(|| async { stored_refresh_token(&app, &tenant).await.as_deref() == Some("TG-2") })
            .await;
    assert!(refreshed, "the rotated refresh token is stored");
    let shown = tenant_json(&app, &tenant).await;
    assert_eq!(shown["mp_connection"], "connected");
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(shown["mp_token_expires_at"].clone()).expect("expiry");
    assert!(
        (expires - chrono::Utc::now()).num_days() >= 179,
        "the new expiry: {expires}"
    );
    // The new token is outside the window: no second refresh in the next passes.
    actix_rt::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        refresh_requests(&token_requests(&app).await),
        vec!["TG-1".to_owned()]
    );
    // The metrics say so (the recorder is the process's: other tests count too).
    let metrics = app
        .http
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .expect("metrics");
    let metrics = metrics.text().await.unwrap_or_default();
    assert!(
        metrics.contains("cobro_mp_token_refreshes_total{outcome=\"refreshed\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("cobro_mp_tokens_expiring_7d"), "{metrics}");
    // And processing uses the refreshed token.
    payment_needs_token(&app, "9101", "APP_USR-2").await;
    let (_, accepted) = app.webhook(SELLER, "9101", 1).await;
    app.wait_status(
        &tenant,
        accepted["event_id"].as_str().expect("id"),
        "success",
    )
    .await;
}

#[actix_web::test]
async fn a_401_refreshes_once_and_the_event_succeeds_at_once() {
    let app = app_with(&[]).await;
    let tenant = connected_tenant(&app, "APP_USR-old", "TG-1", SIX_MONTHS).await;
    refreshes(
        &app,
        "TG-1",
        ResponseTemplate::new(200).set_body_json(grant("APP_USR-new", "TG-2", SIX_MONTHS, SELLER)),
    )
    .await;
    payment_needs_token(&app, "9201", "APP_USR-new").await;
    let (_, accepted) = app.webhook(SELLER, "9201", 1).await;
    let event = app
        .wait_status(
            &tenant,
            accepted["event_id"].as_str().expect("id"),
            "success",
        )
        .await;
    assert_eq!(
        event["attempts"], 1,
        "the retry after the refresh is part of the same attempt"
    );
    assert_eq!(
        payment_fetches(&app).await,
        2,
        "one refused fetch, one with the new token"
    );
    assert_eq!(
        refresh_requests(&token_requests(&app).await),
        vec!["TG-1".to_owned()]
    );
    assert_eq!(
        stored_refresh_token(&app, &tenant).await.as_deref(),
        Some("TG-2")
    );
}

#[actix_web::test]
async fn a_refused_refresh_asks_for_a_reconnection_and_reconnecting_resumes_the_events() {
    let app = app_with(&[]).await;
    let tenant = connected_tenant(&app, "APP_USR-old", "TG-1", SIX_MONTHS).await;
    refreshes(&app, "TG-1", ResponseTemplate::new(400).set_body_json(
        json!({"error": "invalid_grant", "message": "the refresh token was revoked", "status": 400}),
    ))
    .await;
    payment_needs_token(&app, "9301", "APP_USR-fresh").await;
    let (_, first) = app.webhook(SELLER, "9301", 1).await;
    let first = first["event_id"].as_str().expect("id").to_owned();
    let failed = app.wait_status(&tenant, &first, "failed").await;
    let error = failed["last_error"].as_str().expect("last_error");
    assert!(
        error.contains("invalid_grant")
            && error.ends_with("reconnect the seller's MercadoPago account"),
        "{error}"
    );
    let shown = tenant_json(&app, &tenant).await;
    assert_eq!(shown["mp_connection"], "refresh_failed");
    assert!(
        shown["mp_last_error"]
            .as_str()
            .is_some_and(|e| e.contains("reconnect")),
        "{shown}"
    );

    // While the tenant is not connected, events fail without calling MercadoPago.
    let fetched = payment_fetches(&app).await;
    let (_, second) = app.webhook(SELLER, "9301", 2).await;
    let second = second["event_id"].as_str().expect("id").to_owned();
    let failed = app.wait_status(&tenant, &second, "failed").await;
    assert!(
        failed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("reconnect")),
        "{failed}"
    );
    assert_eq!(payment_fetches(&app).await, fetched);

    // The seller connects again: both events are processed with the new token.
    grants_code(
        &app,
        "again",
        grant("APP_USR-fresh", "TG-9", SIX_MONTHS, SELLER),
    )
    .await;
    let query = start(&app, &tenant).await;
    let (status, page) = callback(&app, &[("code", "again"), ("state", &query["state"])]).await;
    assert_eq!(status, 200, "{page}");
    app.wait_status(&tenant, &first, "success").await;
    app.wait_status(&tenant, &second, "success").await;
    assert_eq!(
        tenant_json(&app, &tenant).await["mp_last_error"],
        serde_json::Value::Null
    );
}

/// A signed `mp-connect` notice for the seller, created now.
async fn connect_notice(app: &TestApp, action: &str, id: u64) -> (u16, serde_json::Value) {
    connect_notice_of(app, action, id, chrono::Utc::now()).await
}

async fn connect_notice_of(
    app: &TestApp,
    action: &str,
    id: u64,
    created: chrono::DateTime<chrono::Utc>,
) -> (u16, serde_json::Value) {
    let body = json!({"id": id, "type": "mp-connect", "action": action, "api_version": "v1",
        "user_id": SELLER.parse::<u64>().expect("digits"), "data": {"id": "4096647727026581"},
        "date_created": created.to_rfc3339(), "live_mode": true});
    let request_id = uuid::Uuid::new_v4().to_string();
    let signature = sign(SECRET, "4096647727026581", &request_id);
    app.raw_webhook(
        "4096647727026581",
        &body.to_string(),
        &request_id,
        Some(&signature),
    )
    .await
}

#[actix_web::test]
async fn a_revocation_older_than_the_last_connection_changes_nothing() {
    let app = app_with(&[]).await;
    let tenant = connected_tenant(&app, "APP_USR-1", "TG-1", SIX_MONTHS).await;
    let an_hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    let (status, answer) =
        connect_notice_of(&app, "application.deauthorized", 90, an_hour_ago).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    let event_id = answer["event_id"].as_str().expect("stored").to_owned();
    let stored = app.event(&tenant, &event_id).await;
    assert_eq!(stored["status"], "success");
    assert_eq!(
        stored["last_error"],
        "older than the seller's last connection: nothing changed"
    );
    assert_eq!(
        tenant_json(&app, &tenant).await["mp_connection"],
        "connected"
    );
    // One made after the connection still disconnects.
    let (_, answer) = connect_notice(&app, "application.deauthorized", 91).await;
    assert_eq!(answer["status"], "accepted");
    assert_eq!(
        tenant_json(&app, &tenant).await["mp_connection"],
        "disconnected"
    );
}

#[actix_web::test]
async fn the_mp_connect_revocation_disconnects_the_tenant_once() {
    let app = app_with(&[]).await;
    let tenant = connected_tenant(&app, "APP_USR-1", "TG-1", SIX_MONTHS).await;
    let (status, answer) = connect_notice(&app, "application.deauthorized", 77).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    let event_id = answer["event_id"].as_str().expect("stored").to_owned();
    let stored = app.event(&tenant, &event_id).await;
    assert_eq!(
        (stored["status"].as_str(), stored["webhook_type"].as_str()),
        (Some("success"), Some("mp-connect")),
        "{stored}"
    );
    let shown = tenant_json(&app, &tenant).await;
    assert_eq!(shown["mp_connection"], "disconnected");
    let (status, again) = connect_notice(&app, "application.deauthorized", 77).await;
    assert_eq!((status, again["status"].as_str()), (200, Some("duplicate")));

    // Events of a disconnected seller fail without calling MercadoPago.
    let (_, accepted) = app.webhook(SELLER, "9401", 1).await;
    let failed = app
        .wait_status(
            &tenant,
            accepted["event_id"].as_str().expect("id"),
            "failed",
        )
        .await;
    assert!(
        failed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("reconnect")),
        "{failed}"
    );
    assert_eq!(payment_fetches(&app).await, 0);

    // An unsigned notice is refused like any webhook, and changes nothing.
    let body = json!({"id": 78, "type": "mp-connect", "action": "application.authorized", "user_id": SELLER});
    let (status, _) = app.raw_webhook("x", &body.to_string(), "rid", None).await;
    assert_eq!(status, 401);
    assert_eq!(
        tenant_json(&app, &tenant).await["mp_connection"],
        "disconnected"
    );
    // A signed `application.authorized` marks it connected again.
    let (status, _) = connect_notice(&app, "application.authorized", 79).await;
    assert_eq!(status, 200);
    assert_eq!(
        tenant_json(&app, &tenant).await["mp_connection"],
        "connected"
    );
    // The audit trail (SPEC §20): each change of state once, by `system`, oldest first.
    let audit = format!("/api/tenants/{}/audit", tenant.id);
    let (_, trail) = crate::utils::TestApp::get(&app, &audit, crate::utils::ADMIN).await;
    let by_system: Vec<_> = trail["items"]
        .as_array()
        .expect("items")
        .iter()
        .rev()
        .filter(|row| row["actor"] == "system")
        .map(|row| (row["action"].clone(), row["target"].clone()))
        .collect();
    assert_eq!(
        by_system,
        [
            (json!("mp.disconnected"), json!("disconnected")),
            (json!("mp.connected"), json!("connected")),
        ]
    );
}

#[actix_web::test]
async fn concurrent_refreshes_of_one_tenant_reach_mercadopago_once() {
    let app = app_with(&[]).await;
    let tenant = connected_tenant(&app, "APP_USR-old", "TG-1", SIX_MONTHS).await;
    let slow = ResponseTemplate::new(200)
        .set_body_json(grant("APP_USR-new", "TG-2", SIX_MONTHS, SELLER))
        .set_delay(Duration::from_millis(400));
    refreshes(&app, "TG-1", slow).await;
    let services = Arc::clone(&app.state.services.connector);
    let id = tenant_id(&tenant);
    let tries: Vec<_> = (0..6)
        .map(|_| {
            let services = Arc::clone(&services);
            actix_rt::spawn(async move {
                let reason = Reason::Refused {
                    stale_access_token: "APP_USR-old",
                };
                connect::refresh(&services, id, reason).await
            })
        })
        .collect();
    for tried in tries {
        let token = tried.await.expect("joined").expect("a token");
        assert_eq!(token, "APP_USR-new", "every caller gets the one new token");
    }
    assert_eq!(
        refresh_requests(&token_requests(&app).await).len(),
        1,
        "one refresh in flight, ever"
    );
}

#[actix_web::test]
async fn the_refresh_pass_refreshes_only_the_tenants_this_node_owns() {
    // The hourly pass, called by hand: the test decides which tenants the node owns.
    let app = app_with(&[("mp_token_refresh_before_secs", "8640000")]).await;
    let tenant = connected_tenant(&app, "APP_USR-1", "TG-1", 50 * 24 * 3600).await;
    refreshes(
        &app,
        "TG-1",
        ResponseTemplate::new(200).set_body_json(grant("APP_USR-2", "TG-2", SIX_MONTHS, SELLER)),
    )
    .await;
    let services = &app.state.services.connector;
    let owns_none: cobro::connect::refresh_job::Owns = Arc::new(|_| false);
    let refreshed = cobro::connect::refresh_job::once(services, &owns_none)
        .await
        .expect("pass");
    assert_eq!(refreshed, 0, "another node owns it");
    assert!(refresh_requests(&token_requests(&app).await).is_empty());
    let id = tenant_id(&tenant);
    let owns_it: cobro::connect::refresh_job::Owns = Arc::new(move |t| t == id);
    let refreshed = cobro::connect::refresh_job::once(services, &owns_it)
        .await
        .expect("pass");
    assert_eq!(refreshed, 1);
    assert_eq!(
        stored_refresh_token(&app, &tenant).await.as_deref(),
        Some("TG-2")
    );
}
