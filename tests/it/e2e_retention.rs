//! Issue 5 retention: processed events older than the configured age go, in batches, by the
//! background job and by `cobro prune`; failed events stay unless pruned explicitly.

use std::process::Command;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::utils::{ADMIN, Tenant, TestApp, poll};

const SELLER: &str = "2079614828";

/// An old success, an old failure and a recent success; answers their ids in that order.
async fn three_events(app: &TestApp, tenant: &Tenant) -> [String; 3] {
    app.mp_serves("1", "approved", SELLER, None).await;
    app.mp_serves("3", "approved", SELLER, None).await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/2"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&app.mp)
        .await;
    let mut ids = Vec::new();
    for (payment, status) in [("1", "success"), ("2", "failed"), ("3", "success")] {
        let (_, answer) = app
            .webhook(SELLER, payment, payment.parse().unwrap_or(0))
            .await;
        let id = answer["event_id"].as_str().expect("id").to_owned();
        app.wait_status(tenant, &id, status).await;
        ids.push(id);
    }
    let old = Utc::now() - chrono::Duration::days(40);
    let backdate: Vec<uuid::Uuid> = ids[..2]
        .iter()
        .map(|id| id.parse().expect("uuid"))
        .collect();
    entity::webhook_event::Entity::update_many()
        .col_expr(entity::webhook_event::Column::CreatedAt, Expr::value(old))
        .filter(entity::webhook_event::Column::Id.is_in(backdate))
        .exec(&app.state.services.db)
        .await
        .expect("backdate");
    [ids[0].clone(), ids[1].clone(), ids[2].clone()]
}

async fn exists(app: &TestApp, tenant: &Tenant, id: &str) -> bool {
    app.get(&format!("/api/tenants/{}/events/{id}", tenant.id), ADMIN)
        .await
        .0
        == 200
}

#[actix_web::test]
async fn the_background_job_deletes_old_successes_and_keeps_failures() {
    let app =
        TestApp::spawn_with(&[("retention_days", "30"), ("retention_interval_secs", "1")]).await;
    let tenant = app.create_tenant(SELLER, None).await;
    let [old_success, old_failure, recent] = three_events(&app, &tenant).await;
    assert!(
        poll(|| async { !exists(&app, &tenant, &old_success).await }).await,
        "old success pruned"
    );
    assert!(
        exists(&app, &tenant, &old_failure).await,
        "failed events are kept"
    );
    assert!(
        exists(&app, &tenant, &recent).await,
        "recent events are kept"
    );
}

#[actix_web::test]
async fn cobro_prune_shows_progress_and_takes_failures_only_when_asked() {
    let app = TestApp::spawn_with(&[("retention_days", "0")]).await;
    let tenant = app.create_tenant(SELLER, None).await;
    let [old_success, old_failure, recent] = three_events(&app, &tenant).await;
    let prune = |extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_cobro"))
            .args(["prune", "--older-than", "30d"])
            .args(extra)
            .env("COBRO_DATABASE_URL", &app.db.url)
            .env_remove("COBRO_CONFIG")
            .env("RUST_LOG", "error")
            .output()
            .expect("cobro runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let first = prune(&[]);
    assert!(
        first.contains("deleted 1") && first.contains("done: 1 events deleted"),
        "{first}"
    );
    assert!(!exists(&app, &tenant, &old_success).await);
    assert!(exists(&app, &tenant, &old_failure).await);
    let second = prune(&["--failed"]);
    assert!(second.contains("done: 1 events deleted"), "{second}");
    assert!(!exists(&app, &tenant, &old_failure).await);
    assert!(exists(&app, &tenant, &recent).await);
    // Each run that deleted is in the audit trail, by `cli`; one that found nothing is not.
    let third = prune(&["--failed"]);
    assert!(third.contains("done: 0 events deleted"), "{third}");
    let runs: Vec<(String, Option<String>)> = crate::e2e_audit::trail(&app)
        .await
        .into_iter()
        .filter(|row| row.action == "events.pruned")
        .map(|row| (row.actor, row.target))
        .collect();
    let cli = |target: &str| ("cli".to_owned(), Some(target.to_owned()));
    assert_eq!(
        runs,
        [
            cli("success events older than 30days"),
            cli("success and failed events older than 30days")
        ]
    );
}
