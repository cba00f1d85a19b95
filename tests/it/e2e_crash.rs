//! Issue 4 crash suite: the real `cobro` binary takes a storm of signed webhooks for 20 tenants
//! from many connections and is killed with SIGKILL in the middle, several times, then restarted
//! on the same database. Every webhook that was answered `accepted` must exist and reach `success`,
//! and GoHighLevel may see a second tag only for attempts that were in flight at a kill.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::utils::chaos::Chaos;
use crate::utils::process::{Server, spawn_cobro, wait_ready};
use crate::utils::{ADMIN, SECRET, TestDb, notification, sign};

const TENANTS: u64 = 20;
const SENDERS: usize = 24;
const ROUNDS: usize = 3;

fn start(db: &TestDb, chaos: &Chaos) -> Server {
    spawn_cobro(
        &db.url,
        &chaos.url,
        &chaos.url,
        &[
            ("COBRO_RETRY_SCHEDULE", "0.1,0.1,0.1,0.1,0.1"),
            ("COBRO_MP_REQUESTS_PER_SECOND", "10000"),
            ("COBRO_GHL_REQUESTS_PER_10S", "100000"),
            ("COBRO_INGEST_PER_TENANT_PER_SECOND", "0"),
        ],
    )
}

/// One signed delivery; `Some(answer)` when the server answered at all.
async fn deliver(
    http: &reqwest::Client,
    url: &str,
    seller: &str,
    payment: &str,
    id: u64,
) -> Option<Value> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let response = http
        .post(format!("{url}/webhooks/mp?data.id={payment}&type=payment"))
        .header("x-request-id", &request_id)
        .header("x-signature", sign(SECRET, payment, &request_id))
        .body(notification(seller, payment, id).to_string())
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

#[derive(Default)]
struct Ledger {
    /// event id → (tenant id) for every `accepted` answer.
    accepted: HashMap<String, String>,
    /// Deliveries that got no answer (killed mid-request): MP would send them again.
    unanswered: Vec<(String, String, u64)>,
}

/// Senders deliver until told to stop; each delivery is a distinct approved payment.
async fn storm(
    url: &str,
    sellers: &Arc<HashMap<String, String>>,
    next: &Arc<AtomicU64>,
    ledger: &Arc<Mutex<Ledger>>,
    stop: &Arc<AtomicBool>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut senders = Vec::new();
    for _ in 0..SENDERS {
        let (http, url, sellers, next, ledger, stop) = (
            http.clone(),
            url.to_owned(),
            sellers.clone(),
            next.clone(),
            ledger.clone(),
            stop.clone(),
        );
        senders.push(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let seller = &format!("{}", 8000 + n % TENANTS);
                let payment = format!("{}", 500_000_000 + n);
                let answer = deliver(&http, &url, seller, &payment, n).await;
                let mut ledger = ledger.lock().await;
                match answer {
                    Some(a) if a["status"] == "accepted" => {
                        let event = a["event_id"].as_str().unwrap_or_default().to_owned();
                        ledger.accepted.insert(event, sellers[seller].clone());
                    }
                    Some(a) if a["status"] == "duplicate" => {}
                    Some(other) => panic!("unexpected answer {other}"),
                    None => ledger.unanswered.push((seller.clone(), payment, n)),
                }
            }
        });
    }
    futures_util::future::join_all(senders).await;
}

#[actix_web::test]
async fn sigkill_mid_storm_loses_no_accepted_webhook() {
    let db = TestDb::new().await;
    let chaos = Chaos::start(0.0, Duration::from_millis(10), 1).await;
    chaos.set_payment_rule(|id| {
        let n = id.parse::<u64>().ok()?.checked_sub(500_000_000)?;
        Some((
            format!("{}", 8000 + n % TENANTS),
            format!("b{n}@example.com"),
        ))
    });
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut server = start(&db, &chaos);
    wait_ready(&http, &server.url).await;

    let mut sellers = HashMap::new();
    for t in 0..TENANTS {
        let seller = format!("{}", 8000 + t);
        let body = json!({ "name": format!("Seller {t}"), "mp_user_id": seller, "mp_access_token": "APP_USR-x",
            "ghl": { "api_key": "k", "location_id": "loc", "tag": "cliente" } });
        let created: Value = http
            .post(format!("{}/api/tenants", server.url))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .expect("create tenant")
            .json()
            .await
            .expect("json");
        sellers.insert(seller, created["id"].as_str().expect("id").to_owned());
    }
    let sellers = Arc::new(sellers);
    let next = Arc::new(AtomicU64::new(0));
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let stopper = stop.clone();
        let killer = async {
            tokio::time::sleep(Duration::from_millis(700 + 150 * round as u64)).await;
            server.child.kill().expect("SIGKILL");
            let _ = server.child.wait();
            stopper.store(true, Ordering::Relaxed);
        };
        let url = server.url.clone();
        tokio::join!(storm(&url, &sellers, &next, &ledger, &stop), killer);
        server = start(&db, &chaos);
        wait_ready(&http, &server.url).await;
        // MP delivers again what got no answer; now it is accepted or a duplicate.
        let unanswered = std::mem::take(&mut ledger.lock().await.unanswered);
        for (seller, payment, n) in unanswered {
            if let Some(a) = deliver(&http, &server.url, &seller, &payment, n).await
                && a["status"] == "accepted"
            {
                let event = a["event_id"].as_str().unwrap_or_default().to_owned();
                ledger
                    .lock()
                    .await
                    .accepted
                    .insert(event, sellers[&seller].clone());
            }
        }
    }

    let accepted = ledger.lock().await.accepted.clone();
    let total = accepted.len();
    assert!(
        accepted.len() > 100,
        "the storm got through: {}",
        accepted.len()
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut waiting: Vec<(String, String)> = accepted.into_iter().collect();
    while !waiting.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} accepted events never succeeded",
            waiting.len()
        );
        let mut still = Vec::new();
        for (event, tenant) in waiting {
            let response = http
                .get(format!(
                    "{}/api/tenants/{tenant}/events/{event}",
                    server.url
                ))
                .bearer_auth(ADMIN)
                .send()
                .await
                .expect("event");
            assert_eq!(
                response.status().as_u16(),
                200,
                "accepted event {event} is missing"
            );
            let body: Value = response.json().await.expect("json");
            assert_ne!(body["status"], "failed", "{body}");
            if body["status"] != "success" {
                still.push((event, tenant));
            }
        }
        waiting = still;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // At most one attempt per tenant is in flight when the process dies.
    let extra: usize = chaos
        .tags_by_email()
        .values()
        .map(|n| n.saturating_sub(1))
        .sum();
    println!(
        "crash suite: {total} accepted over {ROUNDS} SIGKILLs, all succeeded; {extra} extra GHL tags"
    );
    assert!(extra <= ROUNDS * TENANTS as usize, "{extra} extra tags");
    let _ = server.child.kill();
    let _ = server.child.wait();
}
