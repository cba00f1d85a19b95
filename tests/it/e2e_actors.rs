//! The tenant actors' own promises: idle actors retire without losing work, the MercadoPago rate
//! limiter holds, and the SQLite durability settings are in force.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};

use crate::utils::{TestApp, poll};

const SELLER: &str = "2079614828";

#[actix_web::test]
async fn idle_tenant_actors_retire_and_come_back_with_the_next_webhook() {
    let app = TestApp::spawn_with(&[("tenant_idle_secs", "1")]).await;
    let tenant = app.create_tenant(SELLER, None).await;
    app.mp_serves("1", "approved", SELLER, None).await;
    app.mp_serves("2", "approved", SELLER, None).await;
    let (_, first) = app.webhook(SELLER, "1", 1).await;
    app.wait_status(&tenant, first["event_id"].as_str().expect("id"), "success")
        .await;
    assert_eq!(app.state.registry.len(), 1);
    assert!(
        poll(|| async { app.state.registry.is_empty() }).await,
        "the idle actor retired"
    );

    let (_, second) = app.webhook(SELLER, "2", 2).await;
    app.wait_status(&tenant, second["event_id"].as_str().expect("id"), "success")
        .await;
}

#[actix_web::test]
async fn mercadopago_calls_respect_the_tenant_rate_limit() {
    let app = TestApp::spawn_with(&[("mp_requests_per_second", "2")]).await;
    let tenant = app.create_tenant(SELLER, None).await;
    let started = Instant::now();
    let mut ids = Vec::new();
    for n in 1..=5 {
        app.mp_serves(&n.to_string(), "approved", SELLER, None)
            .await;
        let (_, answer) = app.webhook(SELLER, &n.to_string(), n).await;
        ids.push(answer["event_id"].as_str().expect("id").to_owned());
    }
    for id in &ids {
        app.wait_status(&tenant, id, "success").await;
    }
    // A burst of 2, then one every 500 ms: the fifth call cannot start before 1.5 s.
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
}

#[actix_web::test]
async fn sqlite_runs_in_wal_mode_with_full_synchronous() {
    let app = TestApp::spawn().await;
    let db = &app.state.services.db;
    if cobro::store::db::is_postgres(db) {
        return;
    }
    let pragma =
        |name: &str| Statement::from_string(db.get_database_backend(), format!("PRAGMA {name}"));
    let journal = db
        .query_one_raw(pragma("journal_mode"))
        .await
        .expect("query")
        .expect("row");
    assert_eq!(journal.try_get_by_index::<String>(0).expect("text"), "wal");
    let synchronous = db
        .query_one_raw(pragma("synchronous"))
        .await
        .expect("query")
        .expect("row");
    assert_eq!(
        synchronous.try_get_by_index::<i32>(0).expect("int"),
        2,
        "2 is FULL"
    );
}
