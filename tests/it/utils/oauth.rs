//! MercadoPago OAuth in tests (SPEC §14): a Cobro with OAuth configured, the fake token endpoint
//! on the MercadoPago wiremock, and helpers that walk a seller through the connection the way a
//! browser would (start, then the callback MercadoPago would redirect to).

use std::collections::HashMap;

use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, ResponseTemplate};

use super::{ADMIN, SECRET, Tenant, TestApp, payment};

pub const CLIENT_ID: &str = "4096647727026581";
pub const CLIENT_SECRET: &str = "test-client-secret";
pub const SELLER: &str = "2079614828";

/// 180 days, what MercadoPago grants.
pub const SIX_MONTHS: u64 = 180 * 24 * 3600;

/// A Cobro with OAuth configured; `extra` are more config overrides.
pub async fn app_with(extra: &[(&str, &str)]) -> TestApp {
    let mut overrides = vec![
        ("mp_client_id", CLIENT_ID),
        ("mp_client_secret", CLIENT_SECRET),
        ("mp_auth_base", "https://auth.mercadopago.example"),
        ("public_url", "https://cobro.example"),
    ];
    overrides.extend_from_slice(extra);
    TestApp::spawn_with(&overrides).await
}

/// A tenant created without a token, waiting to be connected.
pub async fn unconnected_tenant(app: &TestApp, mp_user_id: &str) -> Tenant {
    let body = json!({ "name": "Shop", "mp_user_id": mp_user_id, "mp_webhook_secret": SECRET });
    let (status, created) = app.post("/api/tenants", ADMIN, body).await;
    assert_eq!(status, 201, "{created}");
    let tenant = Tenant {
        id: created["id"].as_str().expect("id").to_owned(),
        token: created["admin_token"].as_str().expect("token").to_owned(),
    };
    let shown = tenant_json(app, &tenant).await;
    assert_eq!(shown["mp_connection"], "disconnected", "{shown}");
    tenant
}

/// `POST .../mp/connect` as the tenant; answers the authorization URL's query pairs.
pub async fn start(app: &TestApp, tenant: &Tenant) -> HashMap<String, String> {
    let (status, answer) = app
        .post(
            &format!("/api/tenants/{}/mp/connect", tenant.id),
            &tenant.token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let url = answer["authorization_url"]
        .as_str()
        .expect("authorization_url");
    let parsed = url::Url::parse(url).expect("a URL");
    assert_eq!(parsed.host_str(), Some("auth.mercadopago.example"));
    parsed.query_pairs().into_owned().collect()
}

/// The redirect MercadoPago would make; answers the status and the page's text.
pub async fn callback(app: &TestApp, query: &[(&str, &str)]) -> (u16, String) {
    let response = app
        .http
        .get(format!("{}/oauth/mp/callback", app.url))
        .query(query)
        .send()
        .await
        .expect("callback reaches cobro");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// The token endpoint answers `code` with these tokens for `user_id`.
pub async fn grants_code(app: &TestApp, code: &str, grant: Value) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains(format!("code={code}&")))
        .respond_with(ResponseTemplate::new(200).set_body_json(grant))
        .mount(&app.mp)
        .await;
}

/// The token endpoint answers a refresh of `refresh_token` with `answer` after `delay`.
pub async fn refreshes(app: &TestApp, refresh_token: &str, answer: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(format!(
            "refresh_token={refresh_token}"
        )))
        .respond_with(answer)
        .mount(&app.mp)
        .await;
}

pub fn grant(access: &str, refresh: &str, expires_in: u64, user_id: &str) -> Value {
    json!({ "access_token": access, "token_type": "Bearer", "expires_in": expires_in,
        "scope": "offline_access read write", "user_id": user_id.parse::<u64>().unwrap_or_default(),
        "refresh_token": refresh, "public_key": "APP_USR-public", "live_mode": true })
}

/// A tenant connected through the whole flow with `access`/`refresh` tokens expiring in
/// `expires_in` seconds.
pub async fn connected_tenant(
    app: &TestApp,
    access: &str,
    refresh: &str,
    expires_in: u64,
) -> Tenant {
    let tenant = unconnected_tenant(app, SELLER).await;
    let code = format!("code-{access}");
    grants_code(app, &code, grant(access, refresh, expires_in, SELLER)).await;
    let query = start(app, &tenant).await;
    let (status, page) = callback(app, &[("code", &code), ("state", &query["state"])]).await;
    assert_eq!(status, 200, "{page}");
    tenant
}

/// The tenant as the API shows it.
pub async fn tenant_json(app: &TestApp, tenant: &Tenant) -> Value {
    let (status, body) = app.get(&format!("/api/tenants/{}", tenant.id), ADMIN).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `GET /v1/payments/{id}` answers 200 with `token`, 401 with any other.
pub async fn payment_needs_token(app: &TestApp, payment_id: &str, token: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v1/payments/{payment_id}")))
        .and(header("authorization", format!("Bearer {token}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(payment(payment_id, "approved", SELLER, None)),
        )
        .with_priority(1)
        .mount(&app.mp)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/payments/{payment_id}")))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"message": "invalid access token", "error": "unauthorized", "status": 401}),
        ))
        .with_priority(2)
        .mount(&app.mp)
        .await;
}

/// The form bodies the token endpoint received, in order.
pub async fn token_requests(app: &TestApp) -> Vec<HashMap<String, String>> {
    let requests = app.mp.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .filter(|r| r.url.path() == "/oauth/token")
        .map(|r| url::form_urlencoded::parse(&r.body).into_owned().collect())
        .collect()
}

/// How many payment fetches MercadoPago's fake answered.
pub async fn payment_fetches(app: &TestApp) -> usize {
    app.mp_paths()
        .await
        .iter()
        .filter(|p| p.starts_with("/v1/payments/"))
        .count()
}
