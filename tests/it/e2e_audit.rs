//! SPEC §20, issue 27: the audit trail of people's actions. Each change through the admin API or
//! the CLI appends its row in the same transaction (a refused change appends none), with the
//! actor, the request's origin and the names of the fields changed, never a secret's value.

use entity::audit_entry::{Column, Entity as AuditLog, Model};
use sea_orm::ActiveValue::Set;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::json;

use crate::utils::{ADMIN, TestApp};

pub async fn trail(app: &TestApp) -> Vec<Model> {
    AuditLog::find()
        .order_by_asc(Column::Id)
        .all(&app.state.services.db)
        .await
        .expect("audit_log reads")
}

/// Sends `body` with an `x-request-id`, as a platform's backend would.
async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> u16 {
    let mut request = app
        .http
        .request(method, format!("{}{path}", app.url))
        .bearer_auth(ADMIN)
        .header("x-request-id", "req-audit-1");
    if let Some(body) = body {
        request = request.json(&body);
    }
    request
        .send()
        .await
        .expect("request reaches cobro")
        .status()
        .as_u16()
}

#[actix_web::test]
async fn tenant_changes_are_recorded_with_who_where_and_field_names_only() {
    let app = TestApp::spawn().await;
    let secrets = [
        "APP_USR-audit-secret",
        "whsec-audit",
        "ghl-audit-key",
        "whsec-rotated",
    ];
    let body = json!({ "name": "Academia", "mp_user_id": "777", "mp_access_token": secrets[0],
        "mp_webhook_secret": secrets[1], "ghl": { "api_key": secrets[2], "location_id": "loc", "tag": "t" } });
    let (status, created) = app.post("/api/tenants", ADMIN, body.clone()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let path = format!("/api/tenants/{id}");

    // Refused changes record nothing: a duplicate seller, an empty name.
    assert_eq!(app.post("/api/tenants", ADMIN, body).await.0, 409);
    let empty_name = Some(json!({ "name": "" }));
    assert_eq!(
        send(&app, reqwest::Method::PATCH, &path, empty_name).await,
        422
    );
    assert_eq!(trail(&app).await.len(), 1, "only the creation so far");

    let patch =
        json!({ "name": "Renamed", "mp_webhook_secret": secrets[3], "rotate_admin_token": true });
    assert_eq!(
        send(&app, reqwest::Method::PATCH, &path, Some(patch)).await,
        200
    );
    assert_eq!(send(&app, reqwest::Method::DELETE, &path, None).await, 204);

    let rows = trail(&app).await;
    let actions: Vec<_> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "tenant.create",
            "tenant.update",
            "tenant.token_rotated",
            "tenant.delete"
        ]
    );
    let tenant = uuid::Uuid::parse_str(&id).expect("uuid");
    for row in &rows {
        assert_eq!(row.actor, "super_admin");
        assert_eq!(row.tenant_id, Some(tenant), "the trail outlives the tenant");
        assert_eq!(row.remote_addr.as_deref(), Some("127.0.0.1"));
    }
    assert_eq!(rows[0].request_id, None, "created without an x-request-id");
    assert_eq!(rows[1].request_id.as_deref(), Some("req-audit-1"));
    assert_eq!(
        rows[0].changes,
        Some(json!([
            "name",
            "mp_user_id",
            "mp_access_token",
            "mp_webhook_secret",
            "ghl"
        ]))
    );
    assert_eq!(rows[1].changes, Some(json!(["name", "mp_webhook_secret"])));
    assert_eq!(rows[2].changes, Some(json!(["admin_token"])));
    let written = format!("{rows:?}");
    for secret in secrets {
        assert!(!written.contains(secret), "{secret} reached the audit log");
    }
}

#[actix_web::test]
async fn a_tenant_deleted_twice_is_recorded_once() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("888", None).await;
    let path = format!("/api/tenants/{}", tenant.id);
    assert_eq!(send(&app, reqwest::Method::DELETE, &path, None).await, 204);
    assert_eq!(send(&app, reqwest::Method::DELETE, &path, None).await, 404);
    // The API's 404 stops the second delete before the store; the store's own "no such tenant"
    // (a delete racing another) records nothing either.
    let gone = cobro::domain::TenantId(uuid::Uuid::parse_str(&tenant.id).expect("uuid"));
    let by = cobro::store::audit::By::cli();
    let deleted = cobro::store::tenants::delete(&app.state.services.db, gone, &by).await;
    assert_eq!(deleted.ok(), Some(false));
    let deletes = trail(&app)
        .await
        .into_iter()
        .filter(|row| row.action == "tenant.delete")
        .count();
    assert_eq!(deletes, 1);
}

#[actix_web::test]
async fn the_trail_is_read_newest_first_a_tenant_its_own_and_nobody_edits_it() {
    let app = TestApp::spawn().await;
    let (a, b) = (
        app.create_tenant("901", None).await,
        app.create_tenant("902", None).await,
    );
    let rename = Some(json!({ "name": "A renamed" }));
    let path_a = format!("/api/tenants/{}", a.id);
    assert_eq!(
        send(&app, reqwest::Method::PATCH, &path_a, rename).await,
        200
    );

    let (status, all) = app.get("/api/audit", ADMIN).await;
    assert_eq!(status, 200, "{all}");
    let actions: Vec<_> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["action"].clone())
        .collect();
    assert_eq!(
        actions,
        [
            json!("tenant.update"),
            json!("tenant.create"),
            json!("tenant.create")
        ]
    );

    // A tenant reads its own trail only; the whole trail is the super admin's.
    let own = format!("/api/tenants/{}/audit", a.id);
    let (status, mine) = app.get(&own, &a.token).await;
    assert_eq!(status, 200);
    let tenants: Vec<_> = mine["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["tenant_id"].clone())
        .collect();
    assert_eq!(tenants, [json!(a.id), json!(a.id)]);
    assert_eq!(app.get(&own, &b.token).await.0, 403);
    assert_eq!(app.get("/api/audit", &a.token).await.0, 403);

    // Filters and pages.
    let (_, updates) = app.get("/api/audit?action=tenant.update", ADMIN).await;
    assert_eq!(updates["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(updates["items"][0]["changes"], json!(["name"]));
    let (_, first) = app.get("/api/audit?limit=2", ADMIN).await;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let (_, second) = app
        .get(&format!("/api/audit?limit=2&cursor={cursor}"), ADMIN)
        .await;
    assert_eq!(second["items"][0]["action"], "tenant.create");
    assert_eq!(second["next_cursor"], json!(null));
    let (_, future) = app.get("/api/audit?from=2999-01-01T00:00:00Z", ADMIN).await;
    assert_eq!(future["items"], json!([]));

    // Append-only: no method edits or deletes it.
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        assert_eq!(
            send(&app, method.clone(), "/api/audit", Some(json!({}))).await,
            405,
            "{method}"
        );
        assert_eq!(send(&app, method, &own, Some(json!({}))).await, 405);
    }
    assert_eq!(trail(&app).await.len(), 3, "nothing changed the trail");
}

#[actix_web::test]
async fn retention_deletes_rows_past_their_days_and_nothing_newer() {
    let app = TestApp::spawn_with(&[
        ("audit_retention_days", "365"),
        ("retention_interval_secs", "1"),
    ])
    .await;
    app.create_tenant("903", None).await;
    let long_ago = chrono::Utc::now() - chrono::Duration::days(400);
    let seconds = u64::try_from(long_ago.timestamp()).expect("after 1970");
    let old_id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, seconds, 0));
    let old = entity::audit_entry::ActiveModel {
        id: Set(old_id),
        at: Set(long_ago),
        actor: Set("super_admin".into()),
        action: Set("tenant.update".into()),
        tenant_id: Set(None),
        target: Set(None),
        changes: Set(None),
        remote_addr: Set(None),
        request_id: Set(None),
    };
    AuditLog::insert(old)
        .exec_without_returning(&app.state.services.db)
        .await
        .expect("an old row");
    let pruned =
        crate::utils::poll(|| async { trail(&app).await.iter().all(|row| row.id != old_id) }).await;
    assert!(pruned, "the 400-day-old row was pruned");
    let left: Vec<_> = trail(&app)
        .await
        .into_iter()
        .map(|row| row.action)
        .collect();
    assert_eq!(left, ["tenant.create"], "the recent row stays");
}

#[actix_web::test]
async fn retries_and_orders_are_recorded_with_their_target_and_actor() {
    let app = TestApp::spawn().await;
    let seller = "2079614828";
    let tenant = app.create_tenant(seller, None).await;
    // MercadoPago refuses the token: the event fails for good at once.
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/v1/payments/7"))
        .respond_with(wiremock::ResponseTemplate::new(401))
        .mount(&app.mp)
        .await;
    let (_, answer) = app.webhook(seller, "7", 7).await;
    let event = answer["event_id"].as_str().expect("event id").to_owned();
    app.wait_status(&tenant, &event, "failed").await;

    let retry = format!("/api/tenants/{}/events/{event}/retry", tenant.id);
    assert_eq!(app.post(&retry, &tenant.token, json!({})).await.0, 202);
    app.wait_status(&tenant, &event, "failed").await;
    let all_failed = format!("/api/tenants/{}/events/retry-failed", tenant.id);
    let (status, requeued) = app.post(&all_failed, ADMIN, json!({})).await;
    assert_eq!((status, requeued["requeued"].clone()), (202, json!(1)));
    app.wait_status(&tenant, &event, "failed").await;
    // A tenant with nothing failed: a retry that changes nothing records nothing.
    let quiet = app.create_tenant("2079614829", None).await;
    let quiet_retry = format!("/api/tenants/{}/events/retry-failed", quiet.id);
    let (_, none) = app.post(&quiet_retry, ADMIN, json!({})).await;
    assert_eq!(none["requeued"], 0, "{none}");
    assert_eq!(
        app.post(&retry, ADMIN, json!({})).await.0,
        202,
        "failed again, retried"
    );
    let success = format!(
        "/api/tenants/{}/events/{}/retry",
        tenant.id,
        uuid::Uuid::now_v7()
    );
    assert_eq!(app.post(&success, ADMIN, json!({})).await.0, 404);

    let orders = format!("/api/tenants/{}/orders", tenant.id);
    let order = json!({ "amount": 10.5, "currency": "ARS", "description": "Curso" });
    let (status, created) = app.post(&orders, &tenant.token, order).await;
    assert_eq!(status, 201, "{created}");

    let rows: Vec<_> = trail(&app)
        .await
        .into_iter()
        .filter(|r| r.action != "tenant.create")
        .collect();
    let seen: Vec<_> = rows
        .iter()
        .map(|r| (r.action.as_str(), r.actor.as_str(), r.target.as_deref()))
        .collect();
    let as_tenant = format!("tenant:{}", tenant.id);
    assert_eq!(
        seen,
        [
            ("event.retry", as_tenant.as_str(), Some(event.as_str())),
            (
                "events.retry_failed",
                "super_admin",
                Some("1 failed events")
            ),
            ("event.retry", "super_admin", Some(event.as_str())),
            ("order.create", as_tenant.as_str(), created["id"].as_str()),
        ]
    );
    assert_eq!(
        rows[3].changes,
        Some(json!(["amount", "currency", "description"]))
    );
}

#[actix_web::test]
async fn a_seller_connecting_and_cobro_refreshing_are_recorded_without_tokens() {
    use crate::utils::oauth::{SELLER, SIX_MONTHS, app_with, connected_tenant, grant, refreshes};
    // Refresh what expires within 100 days, looking every second.
    let app = app_with(&[
        ("mp_token_refresh_before_secs", "8640000"),
        ("mp_token_refresh_interval_secs", "1"),
    ])
    .await;
    let rotated = grant("APP_USR-audit-2", "TG-audit-2", SIX_MONTHS, SELLER);
    refreshes(
        &app,
        "TG-audit-1",
        wiremock::ResponseTemplate::new(200).set_body_json(rotated),
    )
    .await;
    let tenant = connected_tenant(&app, "APP_USR-audit-1", "TG-audit-1", 50 * 24 * 3600).await;
    let refreshed = crate::utils::poll(|| async {
        trail(&app)
            .await
            .iter()
            .any(|row| row.action == "mp.token_refreshed")
    })
    .await;
    assert!(refreshed, "the refresh is recorded");
    let rows = trail(&app).await;
    let as_tenant = format!("tenant:{}", tenant.id);
    let seen: Vec<_> = rows
        .iter()
        .map(|r| (r.action.as_str(), r.actor.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("tenant.create", "super_admin"),
            ("mp.connect_started", as_tenant.as_str()),
            ("mp.connected", as_tenant.as_str()),
            ("mp.token_refreshed", "system"),
        ]
    );
    assert_eq!(
        rows[2].remote_addr.as_deref(),
        Some("127.0.0.1"),
        "the callback's peer"
    );
    assert_eq!(rows[3].remote_addr, None, "nobody's request");
    let written = format!("{rows:?}");
    for token in [
        "APP_USR-audit-1",
        "TG-audit-1",
        "APP_USR-audit-2",
        "TG-audit-2",
    ] {
        assert!(!written.contains(token), "{token} reached the audit log");
    }
}
