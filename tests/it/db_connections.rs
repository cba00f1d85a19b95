//! Issue 26: database connections are opened once and held. A real `cobro` process (its own
//! metrics) processes webhooks in two equal rounds: `cobro_db_connections_opened_total` counts
//! what the first round opened and does not move in the second, and never exceeds what the pools
//! may hold. With `database_max_lifetime_secs = 1` the same rounds a second apart reopen them,
//! which shows the setting reaches the pools.

use std::time::Duration;

use futures_util::StreamExt;

use crate::utils::chaos::Chaos;
use crate::utils::cluster::{client, create_tenants, payment_id, payment_rule, postgres, seller};
use crate::utils::process::{Server, spawn_cobro, wait_ready};
use crate::utils::{ADMIN, SECRET, TestDb, notification, poll_for, sign};

const TENANTS: u64 = 4;
const PER_ROUND: u64 = 120;

/// A sum of the `/metrics` series whose name and labels start with `prefix`.
async fn metric(http: &reqwest::Client, url: &str, prefix: &str) -> u64 {
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

async fn opened(http: &reqwest::Client, url: &str) -> u64 {
    metric(http, url, "cobro_db_connections_opened_total").await
}

/// `PER_ROUND` webhooks from 16 senders, and a read of each tenant's events, until all are
/// processed.
async fn round(http: &reqwest::Client, url: &str, tenants: &[String], round: u64) {
    let done = metric(
        http,
        url,
        "cobro_processing_duration_seconds_count{result=\"success\"}",
    )
    .await;
    futures_util::stream::iter(0..PER_ROUND)
        .for_each_concurrent(16, |k| async move {
            let tenant = k % TENANTS;
            let payment = payment_id(tenant, round * PER_ROUND + k);
            let request_id = uuid::Uuid::new_v4().to_string();
            let answer = http
                .post(format!("{url}/webhooks/mp?data.id={payment}&type=payment"))
                .header("x-request-id", &request_id)
                .header("x-signature", sign(SECRET, &payment, &request_id))
                .body(notification(&seller(tenant), &payment, round * PER_ROUND + k).to_string())
                .send()
                .await
                .expect("webhook answered");
            assert_eq!(answer.status(), 200);
        })
        .await;
    for tenant in tenants {
        let listed = http
            .get(format!("{url}/api/tenants/{tenant}/events?limit=5"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("events");
        assert_eq!(listed.status(), 200);
    }
    let target = done + PER_ROUND;
    let processed = poll_for(Duration::from_secs(30), || async move {
        metric(
            http,
            url,
            "cobro_processing_duration_seconds_count{result=\"success\"}",
        )
        .await
            >= target
    })
    .await;
    assert!(processed, "round {round} processed");
}

async fn start(db: &TestDb, chaos: &Chaos, lifetime_secs: &str) -> (Server, Vec<String>) {
    let server = spawn_cobro(
        &db.url,
        &chaos.url,
        &chaos.url,
        &[
            ("COBRO_DATABASE_MAX_LIFETIME_SECS", lifetime_secs),
            ("COBRO_INGEST_PER_TENANT_PER_SECOND", "0"),
        ],
    );
    let http = client();
    wait_ready(&http, &server.url).await;
    let tenants = create_tenants(&http, &server.url, TENANTS).await;
    (server, tenants)
}

/// What the pools may hold: the main pool (8), and on PostgreSQL the writer's 4 and a cluster
/// node's heartbeat session and listener.
fn capacity() -> u64 {
    if postgres() { 8 + 4 + 2 } else { 8 }
}

#[actix_web::test]
async fn connections_are_opened_once_and_held_under_steady_load() {
    let db = TestDb::new().await;
    let chaos = Chaos::start(0.0, Duration::ZERO, 26).await;
    chaos.set_payment_rule(payment_rule);
    let (mut server, tenants) = start(&db, &chaos, "1800").await;
    let http = client();
    round(&http, &server.url, &tenants, 0).await;
    let warm = opened(&http, &server.url).await;
    round(&http, &server.url, &tenants, 1).await;
    round(&http, &server.url, &tenants, 2).await;
    let after = opened(&http, &server.url).await;
    let _ = server.child.kill();
    let _ = server.child.wait();
    assert!(warm > 0, "the pools' connections are counted");
    assert!(
        after <= capacity(),
        "{after} opened, more than the pools hold"
    );
    assert_eq!(after, warm, "none reopened under steady load");
}

#[actix_web::test]
async fn a_short_lifetime_reopens_connections() {
    let db = TestDb::new().await;
    let chaos = Chaos::start(0.0, Duration::ZERO, 27).await;
    chaos.set_payment_rule(payment_rule);
    let (mut server, tenants) = start(&db, &chaos, "1").await;
    let http = client();
    round(&http, &server.url, &tenants, 0).await;
    let first = opened(&http, &server.url).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    round(&http, &server.url, &tenants, 1).await;
    let later = opened(&http, &server.url).await;
    let _ = server.child.kill();
    let _ = server.child.wait();
    assert!(
        later > first,
        "connections past their lifetime were replaced: {first} → {later}"
    );
}
