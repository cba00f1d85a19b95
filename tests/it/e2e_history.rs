//! Issue 13, attempt history: every processing attempt is recorded with the attempt's result (its
//! number, duration, outcome, what MercadoPago and GoHighLevel answered, the error), shown by
//! `GET .../events/{id}`, and deleted with its event.

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::utils::TestApp;

const SELLER: &str = "2079614828";

fn field<'a>(history: &'a [Value], name: &str) -> Vec<&'a Value> {
    history.iter().map(|a| &a[name]).collect()
}

#[actix_web::test]
async fn an_event_that_failed_twice_then_succeeded_shows_three_attempts() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/7001"))
        .respond_with(ResponseTemplate::new(503).set_body_string("busy"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&app.mp)
        .await;
    app.mp_serves("7001", "approved", SELLER, None).await;
    let (_, accepted) = app.webhook(SELLER, "7001", 1).await;
    let id = accepted["event_id"].as_str().expect("id");
    let event = app.wait_status(&tenant, id, "success").await;

    let history = event["history"].as_array().expect("history").clone();
    assert_eq!(history.len(), 3, "{event}");
    assert_eq!(field(&history, "attempt"), [1, 2, 3]);
    assert_eq!(field(&history, "outcome"), ["retry", "retry", "success"]);
    assert_eq!(field(&history, "mp_status"), [503, 503, 200]);
    assert!(
        history.iter().all(|a| a["ghl_status"].is_null()),
        "no GoHighLevel settings"
    );
    assert!(
        history[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("503")),
        "{event}"
    );
    assert!(history[2]["error"].is_null());
    let started: Vec<chrono::DateTime<chrono::Utc>> = history
        .iter()
        .map(|a| serde_json::from_value(a["started_at"].clone()).expect("time"))
        .collect();
    assert!(
        started.windows(2).all(|w| w[0] <= w[1]),
        "in order: {started:?}"
    );
    assert!(
        history
            .iter()
            .all(|a| a["duration_ms"].as_i64().is_some_and(|d| d >= 0))
    );
    // The list stays as it was: no history there.
    let (_, page) = app
        .get(&format!("/api/tenants/{}/events", tenant.id), &tenant.token)
        .await;
    assert!(page["items"][0].get("history").is_none(), "{page}");
}

#[actix_web::test]
async fn a_gohighlevel_failure_is_recorded_with_both_statuses_and_the_history_goes_with_its_event()
{
    let app = TestApp::spawn_with(&[("retry_schedule", "0.1")]).await;
    let tenant = app.create_tenant(SELLER, Some("cliente")).await;
    app.mp_serves("7002", "approved", SELLER, None).await;
    Mock::given(method("GET"))
        .and(path("/contacts/search/duplicate"))
        .respond_with(ResponseTemplate::new(500).set_body_string("ghl down"))
        .mount(&app.ghl)
        .await;
    let (_, accepted) = app.webhook(SELLER, "7002", 1).await;
    let id = accepted["event_id"].as_str().expect("id");
    let event = app.wait_status(&tenant, id, "failed").await;
    let history = event["history"].as_array().expect("history").clone();
    assert_eq!(field(&history, "outcome"), ["retry", "failed"], "{event}");
    assert_eq!(field(&history, "mp_status"), [200, 200]);
    assert_eq!(field(&history, "ghl_status"), [500, 500]);
    assert_eq!(history[1]["details"]["service"], "gohighlevel");

    // Deleted with its event (retention deletes events; the history follows by cascade).
    let conn = sea_orm::Database::connect(&app.db.url).await.expect("db");
    use sea_orm::{EntityTrait, PaginatorTrait};
    let count = || entity::event_attempt::Entity::find().count(&conn);
    assert_eq!(count().await.expect("count"), 2);
    let gone = cobro::store::prune::events(
        &conn,
        &[cobro::domain::EventStatus::Failed],
        chrono::Utc::now() + chrono::Duration::seconds(1),
        100,
    )
    .await
    .expect("prune");
    assert_eq!(gone, 1);
    assert_eq!(count().await.expect("count"), 0);
}
