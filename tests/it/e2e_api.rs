//! SPEC §4, §8, §9: tenants, orders, paging, health, and tenant isolation of the admin API.

use serde_json::json;

use crate::utils::{ADMIN, TestApp};

#[actix_web::test]
async fn tenants_are_created_once_and_never_show_secrets() {
    let app = TestApp::spawn().await;
    let body = json!({ "name": "Academia", "mp_user_id": 2079614828u64, "mp_access_token": "APP_USR-secret",
        "mp_webhook_secret": "whsec", "ghl": { "api_key": "ghl-secret", "location_id": "loc", "tag": "t" } });
    let (status, created) = app.post("/api/tenants", ADMIN, body.clone()).await;
    assert_eq!(status, 201);
    assert_eq!(created["mp_user_id"], "2079614828");
    assert!(
        created["admin_token"]
            .as_str()
            .is_some_and(|t| t.len() > 40)
    );
    let (status, again) = app.post("/api/tenants", ADMIN, body).await;
    assert_eq!(status, 409, "{again}");

    let id = created["id"].as_str().expect("id");
    let (_, read) = app.get(&format!("/api/tenants/{id}"), ADMIN).await;
    let (_, list) = app.get("/api/tenants", ADMIN).await;
    for text in [read.to_string(), list.to_string()] {
        for secret in [
            "APP_USR-secret",
            "whsec",
            "ghl-secret",
            created["admin_token"].as_str().unwrap_or("?"),
        ] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
    }
    assert_eq!(read["has_webhook_secret"], true);
    assert_eq!(read["ghl"], json!({ "location_id": "loc", "tag": "t" }));

    // Without any secret the tenant is refused, unless it asks for unsigned notifications.
    let unsigned = json!({ "name": "QR", "mp_user_id": "55", "mp_access_token": "x" });
    assert_eq!(
        app.post("/api/tenants", ADMIN, unsigned.clone()).await.0,
        422
    );
    let mut allowed = unsigned;
    allowed["allow_unsigned"] = json!(true);
    assert_eq!(app.post("/api/tenants", ADMIN, allowed).await.0, 201);
}

#[actix_web::test]
async fn patch_rotates_the_token_and_delete_removes_the_tenant() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("123", None).await;
    let path = format!("/api/tenants/{}", tenant.id);
    let (status, patched) = app
        .call(
            reqwest::Method::PATCH,
            &path,
            Some(ADMIN),
            Some(json!({ "name": "Renamed", "rotate_admin_token": true })),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "Renamed");
    let new_token = patched["admin_token"].as_str().expect("rotated token");
    let events = format!("/api/tenants/{}/events", tenant.id);
    assert_eq!(
        app.get(&events, &tenant.token).await.0,
        401,
        "the old token is gone"
    );
    assert_eq!(app.get(&events, new_token).await.0, 200);
    let (status, _) = app
        .call(reqwest::Method::DELETE, &path, Some(ADMIN), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(app.get(&path, ADMIN).await.0, 404);
}

#[actix_web::test]
async fn tenant_tokens_reach_only_their_tenant() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("1", None).await;
    let b = app.create_tenant("2", None).await;
    for sub in ["events", "payments", "orders"] {
        let own = format!("/api/tenants/{}/{sub}", a.id);
        let other = format!("/api/tenants/{}/{sub}", b.id);
        assert_eq!(app.get(&own, &a.token).await.0, 200, "{sub}");
        assert_eq!(app.get(&other, &a.token).await.0, 403, "{sub}");
        assert_eq!(
            app.call(reqwest::Method::GET, &own, None, None).await.0,
            401,
            "{sub}"
        );
        assert_eq!(app.get(&own, "wrong").await.0, 401, "{sub}");
    }
    assert_eq!(app.get("/api/tenants", &a.token).await.0, 403);
    let retry_other = format!("/api/tenants/{}/events/retry-failed", b.id);
    assert_eq!(app.post(&retry_other, &a.token, json!({})).await.0, 403);
    // Another tenant's event is not found through your own path either.
    let (_, answer) = app.webhook("2", "9", 1).await;
    let event = answer["event_id"].as_str().expect("id");
    assert_eq!(
        app.get(&format!("/api/tenants/{}/events/{event}", a.id), &a.token)
            .await
            .0,
        404
    );
}

#[actix_web::test]
async fn lists_are_paged_with_a_cursor() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("1", None).await;
    for n in 0..5 {
        let body =
            json!({ "amount": 10 + n, "currency": "BRL", "description": format!("order {n}") });
        assert_eq!(
            app.post(
                &format!("/api/tenants/{}/orders", tenant.id),
                &tenant.token,
                body
            )
            .await
            .0,
            201
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/tenants/{}/orders?limit=2", tenant.id);
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (_, page) = app.get(&path, &tenant.token).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|o| o["description"].as_str().unwrap_or_default().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["order 4", "order 3", "order 2", "order 1", "order 0"],
        "newest first, each once"
    );
    let (status, _) = app
        .get(
            &format!("/api/tenants/{}/orders?cursor=nope", tenant.id),
            &tenant.token,
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .get(
            &format!("/api/tenants/{}/events?status=done", tenant.id),
            &tenant.token,
        )
        .await;
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn health_ready_and_an_unconfigured_admin_token() {
    let app = TestApp::spawn_with(&[("admin_token", "")]).await;
    assert_eq!(
        app.call(reqwest::Method::GET, "/health", None, None).await,
        (200, json!({ "status": "ok" }))
    );
    assert_eq!(
        app.call(reqwest::Method::GET, "/ready", None, None).await,
        (200, json!({ "status": "ready" }))
    );
    let (status, body) = app
        .call(reqwest::Method::GET, "/api/tenants", None, None)
        .await;
    assert_eq!(
        (status, body),
        (
            503,
            json!({ "error": "admin token not configured", "code": "admin_not_configured" })
        )
    );
    let (status, _) = app.get("/api/tenants", "anything").await;
    assert_eq!(status, 503);
}

#[actix_web::test]
async fn metrics_are_prometheus_text_with_the_spec_series() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let app = TestApp::spawn_with(&[("retry_schedule", "60")]).await;
    let tenant = app.create_tenant("2079614828", None).await;
    app.mp_serves("1", "approved", "2079614828", None).await;
    let (_, answer) = app.webhook("2079614828", "1", 1).await;
    app.wait_status(&tenant, answer["event_id"].as_str().expect("id"), "success")
        .await;
    // A second seller whose payment MercadoPago cannot serve: its event waits a minute for its
    // retry, so its queue depth is 1 while the first seller's is 0.
    let waiting = app.create_tenant("2079614829", None).await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/2"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.mp)
        .await;
    let (_, answer) = app.webhook("2079614829", "2", 2).await;
    let retrying = answer["event_id"].as_str().expect("id");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.event(&waiting, retrying).await["attempts"] != 1 {
        assert!(std::time::Instant::now() < deadline, "no first attempt");
        actix_rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    app.call(reqwest::Method::POST, "/webhooks/mp", None, None)
        .await;

    let response = app
        .http
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap_or_default();
    for series in [
        "cobro_webhooks_received_total{outcome=\"accepted\"}",
        "cobro_webhooks_received_total{outcome=\"bad_request\"}",
        "cobro_events{status=\"success\"} 1",
        "cobro_events{status=\"failed\"} 0",
        "cobro_processing_duration_seconds_bucket{result=\"success\",le=\"0.005\"}",
        "cobro_outbound_request_duration_seconds_bucket{service=\"mercadopago\",status=\"200\"",
        &format!("cobro_tenant_queue_depth{{tenant=\"{}\"}} 1", waiting.id),
        "cobro_tenant_actors",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
    // Only tenants with work have a series: a tenant with an empty queue is not listed.
    let idle = format!("cobro_tenant_queue_depth{{tenant=\"{}\"}}", tenant.id);
    assert!(!text.contains(&idle), "{idle} listed in:\n{text}");
}

#[actix_web::test]
async fn checkout_creates_a_preference_and_waits_for_payment() {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, ResponseTemplate};
    let app = TestApp::spawn_with(&[("public_url", "https://pay.example.com")]).await;
    let tenant = app.create_tenant("2079614828", None).await;
    Mock::given(method("POST"))
        .and(path("/checkout/preferences"))
        .and(header("authorization", "Bearer APP_USR-2079614828"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "2079614828-pref", "init_point": "https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=x" })))
        .mount(&app.mp)
        .await;
    let body = json!({ "amount": 45000.5, "currency": "ARS", "description": "Plan anual",
        "customer_email": "maria@example.com", "checkout": true });
    let (status, order) = app
        .post(
            &format!("/api/tenants/{}/orders", tenant.id),
            &tenant.token,
            body,
        )
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["status"], "PENDING_PAYMENT");
    assert_eq!(
        order["init_point"],
        "https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=x"
    );

    let sent = app.mp.received_requests().await.unwrap_or_default();
    let preference: serde_json::Value = serde_json::from_slice(&sent[0].body).expect("json");
    assert_eq!(preference["external_reference"], order["id"]);
    assert_eq!(
        preference["notification_url"],
        "https://pay.example.com/webhooks/mp"
    );
    assert_eq!(preference["items"][0]["unit_price"], 45000.5);
    assert_eq!(preference["items"][0]["currency_id"], "ARS");
    assert_eq!(preference["items"][0]["quantity"], 1);
    assert_eq!(preference["payer"]["email"], "maria@example.com");
}

#[actix_web::test]
async fn a_refused_checkout_is_reported_and_leaves_the_order_created() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("2079614828", None).await;
    Mock::given(method("POST"))
        .and(path("/checkout/preferences"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({ "message": "invalid unit_price", "status": 400 })),
        )
        .mount(&app.mp)
        .await;
    let body = json!({ "amount": 10, "currency": "ARS", "description": "x", "checkout": true });
    let (status, answer) = app
        .post(
            &format!("/api/tenants/{}/orders", tenant.id),
            &tenant.token,
            body,
        )
        .await;
    assert_eq!(status, 502, "{answer}");
    let error = answer["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("invalid unit_price") && error.contains("stays CREATED"),
        "{error}"
    );
    let (_, orders) = app
        .get(&format!("/api/tenants/{}/orders", tenant.id), &tenant.token)
        .await;
    assert_eq!(orders["items"][0]["status"], "CREATED");
    assert!(orders["items"][0]["init_point"].is_null());
}

#[actix_web::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::spawn().await;
    let (status, doc) = app
        .call(reqwest::Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{doc}"
    );
    let routes = [
        ("post", "/webhooks/mp"),
        ("post", "/webhooks/stripe"),
        ("get", "/checkout/done"),
        ("get", "/api/me"),
        ("post", "/api/tenants"),
        ("get", "/api/tenants"),
        ("get", "/api/tenants/{tid}"),
        ("patch", "/api/tenants/{tid}"),
        ("delete", "/api/tenants/{tid}"),
        ("get", "/api/tenants/{tid}/events"),
        ("get", "/api/tenants/{tid}/events/{id}"),
        ("post", "/api/tenants/{tid}/events/{id}/retry"),
        ("post", "/api/tenants/{tid}/events/retry-failed"),
        ("post", "/api/tenants/{tid}/orders"),
        ("get", "/api/tenants/{tid}/orders"),
        ("get", "/api/tenants/{tid}/orders/{id}"),
        ("get", "/api/tenants/{tid}/payments"),
        ("get", "/api/tenants/{tid}/payments/{mp_payment_id}"),
        ("get", "/api/tenants/{tid}/payments/export"),
        ("get", "/api/tenants/{tid}/fraud-alerts"),
        (
            "post",
            "/api/tenants/{tid}/payments/{mp_payment_id}/acknowledge-fraud",
        ),
        ("get", "/api/tenants/{tid}/deliveries"),
        ("get", "/api/deliveries"),
        ("get", "/api/tenants/{tid}/audit"),
        ("get", "/api/audit"),
        ("get", "/api/tenants/{tid}/endpoints"),
        ("post", "/api/tenants/{tid}/endpoints"),
        ("get", "/api/tenants/{tid}/endpoints/{eid}"),
        ("patch", "/api/tenants/{tid}/endpoints/{eid}"),
        ("delete", "/api/tenants/{tid}/endpoints/{eid}"),
        ("post", "/api/tenants/{tid}/endpoints/{eid}/rotate-secret"),
        ("post", "/api/tenants/{tid}/endpoints/{eid}/test"),
        ("get", "/api/tenants/{tid}/endpoints/{eid}/messages"),
        ("post", "/api/tenants/{tid}/endpoints/{eid}/messages/retry"),
        ("get", "/api/tenants/{tid}/endpoints/{eid}/messages/{mid}"),
        (
            "post",
            "/api/tenants/{tid}/endpoints/{eid}/messages/{mid}/retry",
        ),
        ("get", "/api/endpoints"),
        ("post", "/api/endpoints"),
        ("get", "/api/endpoints/{eid}"),
        ("patch", "/api/endpoints/{eid}"),
        ("delete", "/api/endpoints/{eid}"),
        ("post", "/api/endpoints/{eid}/rotate-secret"),
        ("post", "/api/endpoints/{eid}/test"),
        ("get", "/api/endpoints/{eid}/messages"),
        ("post", "/api/endpoints/{eid}/messages/retry"),
        ("get", "/api/endpoints/{eid}/messages/{mid}"),
        ("post", "/api/endpoints/{eid}/messages/{mid}/retry"),
        ("get", "/api/tenants/{tid}/stats"),
        ("get", "/api/stats"),
        ("post", "/api/tenants/{tid}/mp/connect"),
        ("get", "/oauth/mp/callback"),
        ("get", "/health"),
        ("get", "/ready"),
        ("get", "/api/cluster"),
        ("get", "/metrics"),
        ("get", "/ws"),
    ];
    for (method, path) in routes {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    let documented: usize = doc["paths"].as_object().map_or(0, |p| {
        p.values()
            .map(|ops| ops.as_object().map_or(0, |o| o.len()))
            .sum()
    });
    assert_eq!(
        documented,
        routes.len(),
        "no undocumented extras, no stale ones"
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // The document is served without a token, and each of these routes answers (not 404).
    for (method, path) in routes
        .iter()
        .filter(|(m, p)| *m == "get" && !p.contains('{') && *p != "/ws")
    {
        let (code, _) = app
            .call(reqwest::Method::GET, path, Some(ADMIN), None)
            .await;
        assert_ne!(code, 404, "{method} {path}");
    }
}
