//! SPEC §21's outbox under SIGKILL: the real `cobro` binary processes a storm of payments for
//! several tenants, with a platform-wide endpoint listening, and is killed mid-storm twice. Every
//! payment change that committed reaches the receiver exactly once by `webhook-id` (a message sent
//! again after a kill has the same id, and the receiver deduplicates), and no message names a
//! payment that never committed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::utils::chaos::Chaos;
use crate::utils::process::{Server, spawn_cobro, wait_ready};
use crate::utils::receiver::Receiver;
use crate::utils::{ADMIN, SECRET, TestDb, notification, sign};

const TENANTS: u64 = 6;
const SENDERS: usize = 12;
const ROUNDS: u64 = 2;

fn start(db: &TestDb, chaos: &Chaos) -> Server {
    spawn_cobro(
        &db.url,
        &chaos.url,
        &chaos.url,
        &[
            ("COBRO_RETRY_SCHEDULE", "0.1,0.1,0.1,0.1,0.1"),
            ("COBRO_MP_REQUESTS_PER_SECOND", "10000"),
            ("COBRO_INGEST_PER_TENANT_PER_SECOND", "0"),
            ("COBRO_OUTBOUND_ALLOW_PRIVATE", "true"),
            ("COBRO_OUTBOUND_POLL_INTERVAL_MS", "100"),
            ("COBRO_OUTBOUND_RETRY_SCHEDULE", "0.2,0.2,0.2,0.2,0.2"),
        ],
    )
}

async fn deliver(
    http: &reqwest::Client,
    url: &str,
    seller: &str,
    payment: &str,
    n: u64,
) -> Option<Value> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let response = http
        .post(format!("{url}/webhooks/mp?data.id={payment}&type=payment"))
        .header("x-request-id", &request_id)
        .header("x-signature", sign(SECRET, payment, &request_id))
        .body(notification(seller, payment, n).to_string())
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

/// Payments whose webhook was answered (accepted or duplicate), and those that got no answer.
#[derive(Default)]
struct Ledger {
    answered: HashSet<String>,
    unanswered: Vec<(String, String, u64)>,
}

fn seller_of(n: u64) -> String {
    format!("{}", 8100 + n % TENANTS)
}

async fn storm(
    url: &str,
    next: &Arc<AtomicU64>,
    ledger: &Arc<Mutex<Ledger>>,
    stop: &Arc<AtomicBool>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let senders = (0..SENDERS).map(|_| {
        let (http, url, next, ledger, stop) = (
            http.clone(),
            url.to_owned(),
            next.clone(),
            ledger.clone(),
            stop.clone(),
        );
        async move {
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let (seller, payment) = (seller_of(n), format!("{}", 700_000_000 + n));
                let answer = deliver(&http, &url, &seller, &payment, n).await;
                let mut ledger = ledger.lock().await;
                match answer {
                    Some(a) if a["status"] == "accepted" || a["status"] == "duplicate" => {
                        ledger.answered.insert(payment);
                    }
                    Some(other) => panic!("unexpected answer {other}"),
                    None => ledger.unanswered.push((seller, payment, n)),
                }
            }
        }
    });
    futures_util::future::join_all(senders).await;
}

async fn create_tenants(http: &reqwest::Client, url: &str) {
    for t in 0..TENANTS {
        let body = json!({ "name": format!("Seller {t}"), "mp_user_id": format!("{}", 8100 + t),
            "mp_access_token": "APP_USR-x" });
        let response = http
            .post(format!("{url}/api/tenants"))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await;
        assert_eq!(response.map(|r| r.status().as_u16()).ok(), Some(201));
    }
}

#[actix_web::test]
async fn sigkill_mid_storm_delivers_every_committed_change_once() {
    let db = TestDb::new().await;
    let chaos = Chaos::start(0.0, Duration::from_millis(5), 7).await;
    chaos.set_payment_rule(|id| {
        let n = id.parse::<u64>().ok()?.checked_sub(700_000_000)?;
        Some((seller_of(n), format!("b{n}@example.com")))
    });
    let receiver = Receiver::start().await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut server = start(&db, &chaos);
    wait_ready(&http, &server.url).await;
    create_tenants(&http, &server.url).await;
    let created = http
        .post(format!("{}/api/endpoints", server.url))
        .bearer_auth(ADMIN)
        .json(&json!({ "url": receiver.url(), "events": ["payment.updated"] }))
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(created.ok(), Some(201));

    let next = Arc::new(AtomicU64::new(0));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let stopper = stop.clone();
        let killer = async {
            tokio::time::sleep(Duration::from_millis(900 + 300 * round)).await;
            server.child.kill().expect("SIGKILL");
            let _ = server.child.wait();
            stopper.store(true, Ordering::Relaxed);
        };
        let url = server.url.clone();
        tokio::join!(storm(&url, &next, &ledger, &stop), killer);
        server = start(&db, &chaos);
        wait_ready(&http, &server.url).await;
        // MercadoPago sends again what got no answer.
        let unanswered = std::mem::take(&mut ledger.lock().await.unanswered);
        for (seller, payment, n) in unanswered {
            if deliver(&http, &server.url, &seller, &payment, n)
                .await
                .is_some()
            {
                ledger.lock().await.answered.insert(payment);
            }
        }
    }
    let answered = ledger.lock().await.answered.clone();
    assert!(
        answered.len() > 50,
        "the storm got through: {}",
        answered.len()
    );

    // Every answered payment commits (retries included) and is told exactly once.
    let deadline = Instant::now() + Duration::from_secs(90);
    let told = loop {
        let mut by_payment: HashMap<String, HashSet<String>> = HashMap::new();
        for message in receiver.delivered() {
            let payment = message.body["data"]["paymentId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            by_payment
                .entry(payment)
                .or_default()
                .insert(message.id.clone());
        }
        if answered.iter().all(|p| by_payment.contains_key(p)) || Instant::now() > deadline {
            break by_payment;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let missing: Vec<&String> = answered.iter().filter(|p| !told.contains_key(*p)).collect();
    assert!(
        missing.is_empty(),
        "{} committed payments never told: {:?}",
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
    let twice: Vec<(&String, &HashSet<String>)> =
        told.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(
        twice.is_empty(),
        "payments told as two different messages: {twice:?}"
    );
    let unknown: Vec<&String> = told.keys().filter(|p| !answered.contains(*p)).collect();
    assert!(
        unknown.is_empty(),
        "messages for payments never sent: {unknown:?}"
    );
    let resent = receiver.received().len() - receiver.delivered().len();
    println!(
        "outbox crash suite: {} payments over {ROUNDS} SIGKILLs, each told once; {resent} deliveries repeated after kills",
        answered.len()
    );
    let _ = server.child.kill();
    let _ = server.child.wait();
}
