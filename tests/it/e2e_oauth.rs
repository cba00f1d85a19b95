//! SPEC §14, connecting a seller: the whole flow against a fake MercadoPago token endpoint (real
//! HTTP), and every callback that must be refused without changing anything.

use serde_json::json;

use crate::utils::oauth::{
    CLIENT_ID, CLIENT_SECRET, SELLER, SIX_MONTHS, app_with, callback, grant, grants_code, start,
    tenant_json, token_requests, unconnected_tenant,
};
use crate::utils::{ADMIN, TestApp};
use cobro::connect::state;
use cobro::domain::{Provider, TenantId};

#[actix_web::test]
async fn a_seller_connects_and_its_events_use_the_granted_token() {
    let app = app_with(&[]).await;
    let tenant = unconnected_tenant(&app, "555").await;
    let query = start(&app, &tenant).await;
    assert_eq!(query["client_id"], CLIENT_ID);
    assert_eq!(
        query["redirect_uri"],
        "https://cobro.example/oauth/mp/callback"
    );
    assert_eq!(query["code_challenge_method"], "S256");
    grants_code(
        &app,
        "good-code",
        grant("APP_USR-granted", "TG-1", SIX_MONTHS, SELLER),
    )
    .await;

    let (status, page) = callback(&app, &[("code", "good-code"), ("state", &query["state"])]).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Connected") && page.contains(SELLER),
        "{page}"
    );

    // PKCE: the verifier sent with the code hashes to the challenge the seller's browser carried.
    let sent = token_requests(&app).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["grant_type"], "authorization_code");
    assert_eq!(sent[0]["client_secret"], CLIENT_SECRET);
    assert_eq!(
        sent[0]["redirect_uri"],
        "https://cobro.example/oauth/mp/callback"
    );
    assert_eq!(
        state::challenge(&sent[0]["code_verifier"]),
        query["code_challenge"]
    );

    let shown = tenant_json(&app, &tenant).await;
    assert_eq!(shown["mp_connection"], "connected");
    assert_eq!(
        shown["mp_user_id"], SELLER,
        "the account MercadoPago answered"
    );
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(shown["mp_token_expires_at"].clone()).expect("an expiry");
    let in_days = (expires - chrono::Utc::now()).num_days();
    assert!((179..=180).contains(&in_days), "{expires}");
    assert!(shown.get("mp_access_token").is_none() && shown.get("mp_refresh_token").is_none());

    // The granted token is the one processing uses.
    crate::utils::oauth::payment_needs_token(&app, "9001", "APP_USR-granted").await;
    let (status, accepted) = app.webhook(SELLER, "9001", 1).await;
    assert_eq!(status, 200, "{accepted}");
    let event = accepted["event_id"].as_str().expect("event id");
    app.wait_status(&tenant, event, "success").await;

    // The same link a second time: refused, nothing changes.
    let (status, page) = callback(&app, &[("code", "good-code"), ("state", &query["state"])]).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("already used"), "{page}");
    assert_eq!(
        token_requests(&app).await.len(),
        1,
        "a replay never reaches MercadoPago"
    );
}

/// The tenant is as it was: still waiting to be connected, as `mp_user_id`.
async fn unchanged(app: &TestApp, tenant: &crate::utils::Tenant, mp_user_id: &str) {
    let shown = tenant_json(app, tenant).await;
    assert_eq!(shown["mp_connection"], "disconnected", "{shown}");
    assert_eq!(shown["mp_user_id"], mp_user_id, "{shown}");
    assert!(shown["mp_token_expires_at"].is_null(), "{shown}");
}

#[actix_web::test]
async fn every_bad_callback_gets_a_clear_page_and_changes_nothing() {
    let app = app_with(&[]).await;
    let tenant = unconnected_tenant(&app, "555").await;
    let tenant_id = TenantId(uuid::Uuid::parse_str(&tenant.id).expect("uuid"));
    let key = state::signing_key(CLIENT_SECRET);

    // The seller said no on MercadoPago's page.
    let (status, page) = callback(&app, &[("error", "access_denied"), ("state", "x")]).await;
    assert_eq!(
        (status, page.contains("did not authorize")),
        (403, true),
        "{page}"
    );
    // No code, or no state.
    let (status, _) = callback(&app, &[("state", "x")]).await;
    assert_eq!(status, 403);
    let (status, _) = callback(&app, &[("code", "x")]).await;
    assert_eq!(status, 400);
    // A forged state: another tenant's id under a made-up signature.
    let query = start(&app, &tenant).await;
    let forged = query["state"].replacen(&tenant.id, &uuid::Uuid::now_v7().to_string(), 1);
    let (status, page) = callback(&app, &[("code", "c"), ("state", &forged)]).await;
    assert_eq!(
        (status, page.contains("not made by Cobro")),
        (403, true),
        "{page}"
    );
    // Signed with another secret.
    let stranger = state::issue(
        &state::signing_key("not ours"),
        tenant_id,
        chrono::Utc::now() + chrono::Duration::minutes(5),
    );
    let (status, _) = callback(&app, &[("code", "c"), ("state", &stranger.state)]).await;
    assert_eq!(status, 403);
    // Expired: signed by us, but its ten minutes are over.
    let old = state::issue(
        &key,
        tenant_id,
        chrono::Utc::now() - chrono::Duration::seconds(1),
    );
    let (status, page) = callback(&app, &[("code", "c"), ("state", &old.state)]).await;
    assert_eq!((status, page.contains("expired")), (403, true), "{page}");
    // Signed by us but never issued (no row): treated as used.
    let unissued = state::issue(
        &key,
        tenant_id,
        chrono::Utc::now() + chrono::Duration::minutes(5),
    );
    let (status, page) = callback(&app, &[("code", "c"), ("state", &unissued.state)]).await;
    assert_eq!(
        (status, page.contains("already used")),
        (403, true),
        "{page}"
    );
    assert!(
        token_requests(&app).await.is_empty(),
        "no bad state reaches MercadoPago"
    );

    // MercadoPago refuses the code.
    wiremock::Mock::given(wiremock::matchers::body_string_contains("code=used-code&"))
        .respond_with(wiremock::ResponseTemplate::new(400).set_body_json(
            json!({"error": "invalid_grant", "message": "<b>invalid</b> authorization code", "status": 400}),
        ))
        .mount(&app.mp)
        .await;
    let query = start(&app, &tenant).await;
    let (status, page) = callback(&app, &[("code", "used-code"), ("state", &query["state"])]).await;
    assert_eq!(status, 502, "{page}");
    assert!(
        page.contains("invalid_grant"),
        "MercadoPago's reason is shown: {page}"
    );
    assert!(page.contains("&lt;b&gt;invalid"), "and escaped: {page}");
    // MercadoPago is down.
    wiremock::Mock::given(wiremock::matchers::body_string_contains("code=down-code&"))
        .respond_with(wiremock::ResponseTemplate::new(503))
        .mount(&app.mp)
        .await;
    let query = start(&app, &tenant).await;
    let (status, page) = callback(&app, &[("code", "down-code"), ("state", &query["state"])]).await;
    assert_eq!(
        (status, page.contains("could not be reached")),
        (502, true),
        "{page}"
    );
    unchanged(&app, &tenant, "555").await;

    // The account MercadoPago answers is another tenant's: 409, and both tenants stay as they were.
    let other = app.create_tenant(SELLER, None).await;
    grants_code(
        &app,
        "their-code",
        grant("APP_USR-x", "TG-x", SIX_MONTHS, SELLER),
    )
    .await;
    let query = start(&app, &tenant).await;
    let (status, page) =
        callback(&app, &[("code", "their-code"), ("state", &query["state"])]).await;
    assert_eq!(
        (status, page.contains("another tenant")),
        (409, true),
        "{page}"
    );
    unchanged(&app, &tenant, "555").await;
    let theirs = tenant_json(&app, &other).await;
    assert_eq!(
        (
            theirs["mp_connection"].as_str(),
            theirs["mp_user_id"].as_str()
        ),
        (Some("manual"), Some(SELLER))
    );
}

#[actix_web::test]
async fn connect_needs_oauth_configured_and_the_callers_own_tenant() {
    let plain = TestApp::spawn().await;
    let tenant = plain.create_tenant("777", None).await;
    let (status, answer) = plain
        .post(
            &format!("/api/tenants/{}/mp/connect", tenant.id),
            &tenant.token,
            json!({}),
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (503, Some("oauth_not_configured")),
        "{answer}"
    );
    let (status, page) = callback(&plain, &[("code", "c"), ("state", "s")]).await;
    assert_eq!(status, 503, "{page}");

    let app = app_with(&[]).await;
    let mine = unconnected_tenant(&app, "1").await;
    let theirs = unconnected_tenant(&app, "2").await;
    let (status, _) = app
        .post(
            &format!("/api/tenants/{}/mp/connect", theirs.id),
            &mine.token,
            json!({}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .post(
            &format!("/api/tenants/{}/mp/connect", theirs.id),
            ADMIN,
            json!({}),
        )
        .await;
    assert_eq!(
        status, 200,
        "the super admin may start any tenant's connection"
    );
}

#[actix_web::test]
async fn granted_tokens_and_pkce_verifiers_are_sealed_at_rest() {
    use base64::Engine;
    use sea_orm::EntityTrait;
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let app = app_with(&[("secret_key", &key)]).await;
    let tenant = unconnected_tenant(&app, "555").await;
    let query = start(&app, &tenant).await;
    let db = &app.state.services.db;
    let pending = entity::oauth_state::Entity::find()
        .all(db)
        .await
        .expect("states");
    assert_eq!(pending.len(), 1);
    assert!(
        pending[0].code_verifier.starts_with("enc:v1:"),
        "the PKCE verifier is sealed"
    );
    grants_code(
        &app,
        "sealed-code",
        grant("APP_USR-plain", "TG-plain", SIX_MONTHS, SELLER),
    )
    .await;
    let (status, page) =
        callback(&app, &[("code", "sealed-code"), ("state", &query["state"])]).await;
    assert_eq!(status, 200, "{page}");
    let id = uuid::Uuid::parse_str(&tenant.id).expect("uuid");
    let row = cobro::store::accounts::row(db, TenantId(id), Provider::MercadoPago)
        .await
        .expect("query")
        .expect("row");
    for stored in [
        row.access_token.as_str(),
        row.refresh_token.as_deref().unwrap_or_default(),
    ] {
        assert!(
            stored.starts_with("enc:v1:") && !stored.contains("plain"),
            "{stored}"
        );
    }
    assert!(
        entity::oauth_state::Entity::find()
            .all(db)
            .await
            .expect("states")
            .is_empty(),
        "used"
    );
}

#[actix_web::test]
async fn connecting_while_webhooks_pour_in_never_meets_a_locked_database() {
    // SQLite: the callback's read-then-write transaction must not race the writer's commits
    // (SQLITE_BUSY_SNAPSHOT, which the busy timeout does not retry); the demo met it once.
    let app = app_with(&[]).await;
    // A busy seller whose webhooks keep the writer committing.
    app.create_tenant("4440001", None).await;
    app.mp_serves("1", "approved", "4440001", None).await;
    let pouring = {
        let (url, http) = (app.url.clone(), app.http.clone());
        actix_rt::spawn(async move {
            for n in 0..400u64 {
                let body = crate::utils::notification("4440001", "1", 10_000 + n);
                let request_id = uuid::Uuid::new_v4().to_string();
                let _ = http
                    .post(format!("{url}/webhooks/mp?data.id=1&type=payment"))
                    .header("x-request-id", &request_id)
                    .header(
                        "x-signature",
                        crate::utils::sign(crate::utils::SECRET, "1", &request_id),
                    )
                    .body(body.to_string())
                    .send()
                    .await;
            }
        })
    };
    for n in 0..8 {
        let seller = format!("77700{n}");
        let tenant = unconnected_tenant(&app, &seller).await;
        let code = format!("pour-{n}");
        grants_code(&app, &code, grant("APP_USR-p", "TG-p", SIX_MONTHS, &seller)).await;
        let query = start(&app, &tenant).await;
        let (status, page) = callback(&app, &[("code", &code), ("state", &query["state"])]).await;
        assert_eq!(status, 200, "connection {n}: {page}");
    }
    pouring.await.expect("webhooks sent");
}
