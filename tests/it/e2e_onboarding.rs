//! SPEC §17 onboarding, on SQLite and PostgreSQL: a tenant created with a name alone has no
//! MercadoPago account until OAuth or a `PATCH` links one; no webhook reaches it until then;
//! several such tenants coexist; an account another tenant holds is refused with 409.

use serde_json::json;

use crate::utils::oauth::{SIX_MONTHS, app_with, callback, grant, grants_code, start, tenant_json};
use crate::utils::{ADMIN, SECRET, Tenant, TestApp};

async fn by_name(app: &TestApp, name: &str) -> Tenant {
    let (status, created) = app
        .post(
            "/api/tenants",
            ADMIN,
            json!({ "name": name, "mp_webhook_secret": SECRET }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(created["mp_user_id"].is_null(), "{created}");
    Tenant {
        id: created["id"].as_str().expect("id").to_owned(),
        token: created["admin_token"].as_str().expect("token").to_owned(),
    }
}

#[actix_web::test]
async fn a_tenant_created_by_name_alone_waits_for_its_account() {
    let app = TestApp::spawn().await;
    let first = by_name(&app, "Tienda Uno").await;
    let _second = by_name(&app, "Tienda Dos").await;
    let shown = tenant_json(&app, &first).await;
    assert_eq!(
        (
            shown["mp_connection"].as_str(),
            shown["mp_user_id"].is_null()
        ),
        (Some("disconnected"), true)
    );
    // A token without its account is kept, but nothing reaches the tenant until one is linked.
    let (status, kept) = app
        .post(
            "/api/tenants",
            ADMIN,
            json!({ "name": "x", "mp_access_token": "APP_USR-1", "mp_webhook_secret": SECRET }),
        )
        .await;
    assert_eq!(
        (status, kept["mp_user_id"].is_null()),
        (201, true),
        "{kept}"
    );
    // No webhook reaches it: not by any seller id, not by the placeholder it stores.
    let placeholder = format!("unlinked:{}", first.id);
    for user in [placeholder.as_str(), "0"] {
        let mut body = crate::utils::notification("1", "9", 1);
        body["user_id"] = json!(user);
        let rid = uuid::Uuid::new_v4().to_string();
        let (_, answer) = app
            .raw_webhook(
                "9",
                &body.to_string(),
                &rid,
                Some(&crate::utils::sign(SECRET, "9", &rid)),
            )
            .await;
        assert_eq!(answer["reason"], "unknown tenant", "{user}: {answer}");
    }
    // A PATCH links it; another tenant's account is refused.
    let path = format!("/api/tenants/{}", first.id);
    let (status, linked) = app
        .call(
            reqwest::Method::PATCH,
            &path,
            Some(ADMIN),
            Some(json!({ "mp_user_id": "2079614828" })),
        )
        .await;
    assert_eq!(status, 200, "{linked}");
    assert_eq!(linked["mp_user_id"], "2079614828");
    let other = app.create_tenant("3030303", None).await;
    let other_path = format!("/api/tenants/{}", other.id);
    let (status, taken) = app
        .call(
            reqwest::Method::PATCH,
            &other_path,
            Some(ADMIN),
            Some(json!({ "mp_user_id": 2079614828u64 })),
        )
        .await;
    assert_eq!(
        (status, taken["code"].as_str()),
        (409, Some("conflict")),
        "{taken}"
    );
}

#[actix_web::test]
async fn oauth_links_a_tenant_created_by_name_alone() {
    let app = app_with(&[]).await;
    let tenant = by_name(&app, "Nueva Tienda").await;
    grants_code(
        &app,
        "code-new",
        grant("APP_USR-new", "TG-new", SIX_MONTHS, "5550001"),
    )
    .await;
    let query = start(&app, &tenant).await;
    let (status, page) = callback(&app, &[("code", "code-new"), ("state", &query["state"])]).await;
    assert_eq!(status, 200, "{page}");
    let shown = tenant_json(&app, &tenant).await;
    assert_eq!(
        (
            shown["mp_user_id"].as_str(),
            shown["mp_connection"].as_str()
        ),
        (Some("5550001"), Some("connected"))
    );
}
