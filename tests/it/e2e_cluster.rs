//! Issue 8, SPEC §13: real `cobro` processes on one PostgreSQL database form one cluster. The
//! fake MercadoPago knows which node called (a path prefix per node), counts calls in flight per
//! access token (one token per tenant) and logs the order in which each tenant's payments were
//! fetched. PostgreSQL pass only: on SQLite Cobro is single-node, which
//! `a_second_process_on_one_sqlite_file_refuses_to_start` checks.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::utils::chaos::Chaos;
use crate::utils::cluster::*;
use crate::utils::process::{wait_exit, wait_ready};
use crate::utils::ws::{TokenIn, WsClient};
use crate::utils::{ADMIN, TestDb};

const TENANTS: u64 = 12;

#[actix_web::test]
async fn three_nodes_keep_order_survive_a_sigkill_and_relay_live_updates() {
    if !postgres() {
        return;
    }
    let db = TestDb::new().await;
    let chaos = Chaos::start(0.0, Duration::from_millis(10), 7).await;
    chaos.set_payment_rule(payment_rule);
    chaos.set_mp_delay(Duration::from_millis(5));
    let http = client();
    let mut nodes = start_nodes(&db, &chaos, &http, &["node-a", "node-b", "node-c"]).await;
    let tenants = create_tenants(&http, nodes[0].url(), TENANTS).await;
    let owned = settled(
        &http,
        nodes[0].url(),
        &["node-a", "node-b", "node-c"],
        &tenants,
    )
    .await;
    let victim_owned = owned["node-c"];

    // A dashboard on node A follows every tenant.
    let mut ws = WsClient::connect(nodes[0].url(), ADMIN, TokenIn::Query)
        .await
        .expect("WebSocket on node A");
    for tenant in &tenants {
        ws.send(json!({ "action": "subscribe", "room": format!("tenant-{tenant}") }))
            .await;
        ws.until("subscribed", |_| true).await;
    }
    let succeeded_on_a: Arc<Mutex<HashSet<String>>> = Arc::default();
    let seen = succeeded_on_a.clone();
    let reader = actix_rt::spawn(async move {
        while let Some(message) = ws.next_within(Duration::from_secs(30)).await {
            if message["event"] == "webhookEventUpdated" && message["data"]["status"] == "success" {
                let id = message["data"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                seen.lock().expect("lock").insert(id);
            }
        }
    });

    // Each tenant's webhooks go one after another (so arrival order is defined), spread over the
    // nodes; node C is killed mid-storm.
    let urls: Vec<String> = nodes.iter().map(|n| n.url().to_owned()).collect();
    let stop_at = Instant::now() + Duration::from_secs(4);
    let killed_at = Arc::new(Mutex::new(None));
    let killed = killed_at.clone();
    let victim = &mut nodes[2];
    let killer = async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        victim.kill();
        *killed.lock().expect("lock") = Some(Instant::now());
    };
    let (accepted, ()) = tokio::join!(storm(&http, &urls, &tenants, stop_at, false), killer);
    let killed_at = killed_at.lock().expect("lock").expect("killed");

    assert!(
        accepted.len() > 100,
        "the storm got through: {}",
        accepted.len()
    );
    all_succeed(&http, nodes[0].url(), &accepted, Duration::from_secs(60)).await;

    // One call at a time per tenant across the cluster, in arrival order.
    assert_eq!(
        chaos.overlaps(),
        HashMap::new(),
        "calls overlapped across nodes"
    );
    assert_fetched_in_arrival_order(&chaos);

    // node C's tenants were taken over promptly (it was killed: its session closed).
    // The longest any tenant went without a MercadoPago call after the kill: for node C's
    // tenants, the take-over (plus the wait for their next webhook).
    let takeover = chaos
        .first_calls_since(killed_at)
        .into_values()
        .max()
        .unwrap_or_default();
    assert!(
        takeover < Duration::from_secs(10),
        "take-over took {takeover:?}"
    );
    println!(
        "cluster: {} accepted over 3 nodes, node C (owner of {victim_owned} tenants) killed; survivors calling MP within {takeover:?}",
        accepted.len()
    );
    let extra: usize = chaos
        .tags_by_email()
        .values()
        .map(|n| n.saturating_sub(1))
        .sum();
    assert!(
        extra <= victim_owned as usize,
        "{extra} extra tags; node C owned {victim_owned} tenants"
    );

    // The dashboard on node A heard of events processed on node B.
    let processed_on_b: HashSet<String> = chaos.payments_fetched_by("node-b");
    assert!(!processed_on_b.is_empty(), "node B processed something");
    let deadline = Instant::now() + Duration::from_secs(10);
    let events_of_b: Vec<String> = {
        let mut ids = Vec::new();
        for (tenant, event) in &accepted {
            let body = admin_get(
                &http,
                format!("{}/api/tenants/{tenant}/events/{event}", nodes[0].url()),
            )
            .await;
            if processed_on_b.contains(body["mp_payment_id"].as_str().unwrap_or_default()) {
                ids.push(event.clone());
            }
        }
        ids
    };
    loop {
        let missing = {
            let seen = succeeded_on_a.lock().expect("lock");
            events_of_b.iter().filter(|e| !seen.contains(*e)).count()
        };
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} of node B's successes never reached node A's WebSocket"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    reader.abort();
}

#[actix_web::test]
async fn sigterm_hands_over_at_once_and_a_joining_node_takes_a_share() {
    if !postgres() {
        return;
    }
    let db = TestDb::new().await;
    let chaos = Chaos::start(0.0, Duration::from_millis(10), 8).await;
    chaos.set_payment_rule(payment_rule);
    let http = client();
    let mut a = Node::start(&db, &chaos, "node-a", 10_000);
    let mut b = Node::start(&db, &chaos, "node-b", 10_000);
    wait_ready(&http, a.url()).await;
    wait_ready(&http, b.url()).await;
    let tenants = create_tenants(&http, a.url(), 24).await;
    settled(&http, a.url(), &["node-a", "node-b"], &tenants).await;

    let mut c = Node::start(&db, &chaos, "node-c", 10_000);
    wait_ready(&http, c.url()).await;
    let joined = Instant::now();
    // Settled: the joining node owns exactly the share rendezvous hashing gives it.
    let owned = settled(&http, a.url(), &["node-a", "node-b", "node-c"], &tenants).await;
    assert!(
        joined.elapsed() < Duration::from_secs(10),
        "the joining node took its share after {:?}",
        joined.elapsed()
    );
    println!(
        "cluster: the joining node owned {} of 24 tenants after {:?}",
        owned["node-c"],
        joined.elapsed()
    );
    // The same view as Prometheus gauges, from any node.
    let metrics = http
        .get(format!("{}/metrics", b.url()))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for node in ["node-a", "node-b", "node-c"] {
        let alive = format!("cobro_cluster_node_alive{{node=\"{node}\"}} 1");
        assert!(metrics.contains(&alive), "{alive} missing from /metrics");
        assert!(metrics.contains(&format!("cobro_cluster_node_tenants{{node=\"{node}\"}}")));
    }
    assert!(metrics.contains("cobro_cluster_nodes_alive 3"), "{metrics}");

    // SIGTERM: node B gives its tenants back at once, long before its lease (10 s) would expire.
    b.signal("TERM");
    let stopped = Instant::now();
    assert!(
        wait_exit(&mut b.server.child, Duration::from_secs(15))
            .await
            .is_some(),
        "node B exits"
    );
    settled(&http, a.url(), &["node-a", "node-c"], &tenants).await;
    let handover = stopped.elapsed();
    println!("cluster: SIGTERM hand-over in {handover:?}");
    assert!(
        handover < Duration::from_secs(8),
        "hand-over took {handover:?}"
    );

    // Work keeps flowing through either survivor.
    let urls = vec![a.url().to_owned(), c.url().to_owned()];
    let mut events = Vec::new();
    for (t, tenant) in tenants.iter().enumerate() {
        let event = deliver_somewhere(&http, &urls, t, t as u64, 1).await;
        events.push((tenant.clone(), event));
    }
    all_succeed(&http, a.url(), &events, Duration::from_secs(30)).await;
    assert_eq!(chaos.overlaps(), HashMap::new());
    a.kill();
    c.kill();
}
