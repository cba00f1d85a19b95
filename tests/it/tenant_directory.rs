//! Issue 23: the tenant directory (the ack path's and the pipeline's tenant cache) holds one copy
//! of each tenant, whichever way it was found, and a change through the admin API is seen at
//! once. Real database, real app.

use std::sync::Arc;

use cobro::domain::{Provider, TenantId};

const MP: Provider = Provider::MercadoPago;
use serde_json::json;

use crate::utils::{ADMIN, TestApp};

#[actix_rt::test]
async fn a_tenant_found_by_seller_and_by_id_is_one_copy_and_changes_are_seen() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("7001", Some("paid")).await;
    let id = TenantId(tenant.id.parse().expect("a uuid"));
    let directory = &app.state.services.directory;

    let by_seller = directory
        .find(MP, "7001")
        .await
        .expect("read")
        .expect("found");
    let by_id = directory.get(id).await.expect("read").expect("found");
    assert!(Arc::ptr_eq(&by_seller, &by_id), "one copy of the tenant");
    let again = directory
        .find(MP, "7001")
        .await
        .expect("read")
        .expect("found");
    assert!(Arc::ptr_eq(&by_seller, &again), "answered from the cache");
    assert!(directory.find(MP, "7999").await.expect("read").is_none());

    let path = format!("/api/tenants/{}", tenant.id);
    let ghl = json!({"api_key": "ghl-key", "location_id": "loc-1", "tag": "vip"});
    let body = Some(json!({ "ghl": ghl }));
    let (status, _) = app
        .call(reqwest::Method::PATCH, &path, Some(ADMIN), body)
        .await;
    assert_eq!(status, 200);
    let changed = directory.get(id).await.expect("read").expect("found");
    assert_eq!(
        changed.ghl.as_ref().map(|g| g.tag.as_str()),
        Some("vip"),
        "the change is seen at once"
    );
    let found = directory
        .find(MP, "7001")
        .await
        .expect("read")
        .expect("found");
    assert!(
        Arc::ptr_eq(&changed, &found),
        "still one copy after the change"
    );
    app.stop().await;
}
