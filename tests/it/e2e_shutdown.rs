//! Issue 5 graceful shutdown, with the real binary: on SIGTERM it stops accepting, closes
//! WebSocket clients with "going away", finishes the attempt in flight, leaves queued events
//! `pending`, and exits 0; the next start resumes them.

use std::process::Command;
use std::time::Duration;

use sea_orm::{Database, EntityTrait};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::utils::process::{spawn_cobro, wait_exit, wait_ready};
use crate::utils::ws::{TokenIn, WsClient};
use crate::utils::{ADMIN, SECRET, TestDb, notification, payment, sign};

const SELLER: &str = "2079614828";

async fn event_in_db(db_url: &str, id: &str) -> entity::webhook_event::Model {
    let db = Database::connect(db_url).await.expect("database");
    entity::webhook_event::Entity::find_by_id(id.parse::<uuid::Uuid>().expect("uuid"))
        .one(&db)
        .await
        .expect("query")
        .expect("event stored")
}

async fn status_in_db(db_url: &str, id: &str) -> String {
    event_in_db(db_url, id).await.status
}

#[actix_web::test]
async fn sigterm_finishes_the_attempt_in_flight_and_exits_zero() {
    let db = TestDb::new().await;
    let mp = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(payment("1", "approved", SELLER, None))
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&mp)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(payment("2", "approved", SELLER, None)),
        )
        .mount(&mp)
        .await;
    let http = reqwest::Client::new();
    let mut server = spawn_cobro(&db.url, &mp.uri(), &mp.uri(), &[]);
    wait_ready(&http, &server.url).await;
    let created: Value = http
        .post(format!("{}/api/tenants", server.url))
        .bearer_auth(ADMIN)
        .json(&json!({ "name": "Academia", "mp_user_id": SELLER, "mp_access_token": "APP_USR-x" }))
        .send()
        .await
        .expect("tenant")
        .json()
        .await
        .expect("json");
    let token = created["admin_token"].as_str().expect("token");
    let tenant_id = created["id"].as_str().expect("id");
    let mut client = WsClient::connect(&server.url, token, TokenIn::Query)
        .await
        .expect("upgrade");
    client.next().await;

    let mut events = Vec::new();
    for (n, payment_id) in ["1", "2"].into_iter().enumerate() {
        let rid = uuid::Uuid::new_v4().to_string();
        let answer: Value = http
            .post(format!(
                "{}/webhooks/mp?data.id={payment_id}&type=payment",
                server.url
            ))
            .header("x-request-id", &rid)
            .header("x-signature", sign(SECRET, payment_id, &rid))
            .body(notification(SELLER, payment_id, n as u64 + 1).to_string())
            .send()
            .await
            .expect("webhook")
            .json()
            .await
            .expect("json");
        events.push(answer["event_id"].as_str().expect("id").to_owned());
    }
    let processing = crate::utils::poll(|| async {
        let event: Value = http
            .get(format!(
                "{}/api/tenants/{tenant_id}/events/{}",
                server.url, events[0]
            ))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("event")
            .json()
            .await
            .unwrap_or_default();
        event["status"] == "processing"
    })
    .await;
    assert!(processing, "the slow attempt started");

    let term = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    assert!(
        client.closed_by_server_within(Duration::from_secs(5)).await,
        "WebSocket clients are told"
    );
    let status = wait_exit(&mut server.child, Duration::from_secs(15))
        .await
        .expect("exits by itself");
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(
        status_in_db(&db.url, &events[0]).await,
        "success",
        "the attempt in flight finished"
    );
    // Not attempted: `pending`, no attempt counted (had it been claimed with the first event's
    // success, draining would have given it back just so).
    let queued = event_in_db(&db.url, &events[1]).await;
    assert_eq!(
        (queued.status.as_str(), queued.attempts),
        ("pending", 0),
        "the queued event waits for the next start, its attempt uncounted"
    );

    let mut again = spawn_cobro(&db.url, &mp.uri(), &mp.uri(), &[]);
    wait_ready(&http, &again.url).await;
    let resumed =
        crate::utils::poll(|| async { status_in_db(&db.url, &events[1]).await == "success" }).await;
    assert!(resumed, "the queued event resumed after the restart");
    let _ = again.child.kill();
    let _ = again.child.wait();
}
