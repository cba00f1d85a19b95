//! SPEC §20, issue 27: the audit trail of people's actions. Each change through the admin API or
//! the CLI appends its row in the same transaction (a refused change appends none), with the
//! actor, the request's origin and the names of the fields changed, never a secret's value.

use entity::audit_entry::{Column, Entity as AuditLog, Model};
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::json;

use crate::utils::{ADMIN, TestApp};

async fn trail(app: &TestApp) -> Vec<Model> {
    AuditLog::find()
        .order_by_asc(Column::Seq)
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
    let deletes = trail(&app)
        .await
        .into_iter()
        .filter(|row| row.action == "tenant.delete")
        .count();
    assert_eq!(deletes, 1);
}
