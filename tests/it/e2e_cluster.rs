//! Issue 8, SPEC §13: real `cobro` processes on one PostgreSQL database form one cluster. Each
//! node calls the fake MercadoPago under its own path prefix (`/<node>/v1/payments/...`), so the
//! fake knows who called; it counts calls in flight per access token (one token per tenant) and
//! logs the order in which each tenant's payments were fetched. PostgreSQL pass only: on SQLite
//! Cobro is single-node, which `a_second_process_on_one_sqlite_file_refuses_to_start` checks.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::utils::chaos::Chaos;
use crate::utils::process::{Server, spawn_cobro, wait_exit, wait_ready};
use crate::utils::ws::{TokenIn, WsClient};
use crate::utils::{ADMIN, SECRET, TestDb, notification, sign};

fn postgres() -> bool {
    std::env::var("COBRO_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty())
}

/// Payment ids encode their tenant: `700_000_000 + tenant * 100_000 + k`.
fn payment_id(tenant: u64, k: u64) -> String {
    format!("{}", 700_000_000 + tenant * 100_000 + k)
}

fn seller(tenant: u64) -> String {
    format!("{}", 9100 + tenant)
}

fn payment_rule(id: &str) -> Option<(String, String)> {
    let n = id.parse::<u64>().ok()?.checked_sub(700_000_000)?;
    Some((seller(n / 100_000), format!("buyer{n}@example.com")))
}

struct Node {
    name: String,
    server: Server,
}

impl Node {
    fn start(db: &TestDb, chaos: &Chaos, name: &str, lease_ms: u64) -> Self {
        let mp = format!("{}/{name}", chaos.url);
        let lease = lease_ms.to_string();
        let server = spawn_cobro(
            &db.url,
            &mp,
            &chaos.url,
            &[
                ("COBRO_NODE_ID", name),
                ("COBRO_CLUSTER_LEASE_TIMEOUT_MS", &lease),
                ("COBRO_CLUSTER_POLL_INTERVAL_MS", "500"),
                ("COBRO_RETRY_SCHEDULE", "0.2,0.2,0.2,0.2,0.2"),
                ("COBRO_MP_REQUESTS_PER_SECOND", "10000"),
                ("COBRO_GHL_REQUESTS_PER_10S", "100000"),
                ("COBRO_INGEST_PER_TENANT_PER_SECOND", "0"),
            ],
        );
        Self {
            name: name.to_owned(),
            server,
        }
    }

    fn url(&self) -> &str {
        &self.server.url
    }

    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.server.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal}");
    }

    fn kill(&mut self) {
        let _ = self.server.child.kill();
        let _ = self.server.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.signal_quietly("CONT");
        self.kill();
    }
}

impl Node {
    fn signal_quietly(&self, signal: &str) {
        let _ = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.server.child.id().to_string())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Creates `n` tenants (with GoHighLevel) through `url`; answers their ids in tenant order.
async fn create_tenants(http: &reqwest::Client, url: &str, n: u64) -> Vec<String> {
    let mut ids = Vec::new();
    for t in 0..n {
        let body = json!({ "name": format!("Seller {t}"), "mp_user_id": seller(t),
            "mp_access_token": format!("APP_USR-{}", seller(t)),
            "ghl": { "api_key": "k", "location_id": "loc", "tag": "cliente" } });
        let created: Value = http
            .post(format!("{url}/api/tenants"))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .expect("create tenant")
            .json()
            .await
            .expect("json");
        ids.push(created["id"].as_str().expect("tenant id").to_owned());
    }
    ids
}

async fn cluster_view(http: &reqwest::Client, url: &str) -> Option<Value> {
    let response = http
        .get(format!("{url}/api/cluster"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

/// Tenants owned per live node, as `url` reports it.
async fn owners(http: &reqwest::Client, url: &str) -> HashMap<String, i64> {
    let Some(view) = cluster_view(http, url).await else {
        return HashMap::new();
    };
    view["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["alive"] == true)
        .map(|n| {
            (
                n["node_id"].as_str().unwrap_or_default().to_owned(),
                n["tenants_owned"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

/// Waits until exactly `nodes` are alive and own all `tenants` between them.
async fn settled(
    http: &reqwest::Client,
    url: &str,
    nodes: &[&str],
    tenants: i64,
) -> HashMap<String, i64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let owned = owners(http, url).await;
        let names: HashSet<&str> = owned.keys().map(String::as_str).collect();
        if names == nodes.iter().copied().collect() && owned.values().sum::<i64>() == tenants {
            return owned;
        }
        assert!(
            Instant::now() < deadline,
            "cluster never settled: {owned:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One signed delivery to `url`; `None` when nothing answered.
async fn deliver(http: &reqwest::Client, url: &str, tenant: u64, k: u64) -> Option<Value> {
    let payment = payment_id(tenant, k);
    let request_id = uuid::Uuid::new_v4().to_string();
    let response = http
        .post(format!("{url}/webhooks/mp?data.id={payment}&type=payment"))
        .header("x-request-id", &request_id)
        .header("x-signature", sign(SECRET, &payment, &request_id))
        .body(notification(&seller(tenant), &payment, tenant * 1_000_000 + k).to_string())
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

/// Delivers until accepted or duplicate, trying the nodes in turn from `first` (as MP retries,
/// and a load balancer skips a dead node). Answers the event id.
async fn deliver_somewhere(
    http: &reqwest::Client,
    urls: &[String],
    first: usize,
    tenant: u64,
    k: u64,
) -> String {
    for attempt in 0..60 {
        let url = &urls[(first + attempt) % urls.len()];
        if let Some(answer) = deliver(http, url, tenant, k).await {
            match answer["status"].as_str() {
                Some("accepted") | Some("duplicate") => {
                    return answer["event_id"].as_str().unwrap_or_default().to_owned();
                }
                _ => panic!("unexpected answer {answer}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no node accepted payment {}", payment_id(tenant, k));
}

/// `GET url` with the super-admin token, as JSON.
async fn admin_get(http: &reqwest::Client, url: String) -> Value {
    http.get(&url)
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// Waits until every `(tenant id, event id)` is `success` (asked of `url`).
async fn all_succeed(
    http: &reqwest::Client,
    url: &str,
    events: &[(String, String)],
    limit: Duration,
) {
    let deadline = Instant::now() + limit;
    let mut waiting: Vec<&(String, String)> = events.iter().collect();
    while !waiting.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} accepted events never succeeded",
            waiting.len()
        );
        let mut still = Vec::new();
        for pair in waiting {
            let (tenant, event) = pair;
            let body = admin_get(http, format!("{url}/api/tenants/{tenant}/events/{event}")).await;
            assert_ne!(body["status"], "failed", "{body}");
            if body["status"] != "success" {
                still.push(pair);
            }
        }
        waiting = still;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Each tenant's payments, in the order the fake saw them fetched, must follow arrival order:
/// repeats of the same payment (an attempt cut by a kill, done again) are allowed in place.
fn assert_fetched_in_arrival_order(chaos: &Chaos) {
    for (token, fetched) in chaos.fetch_order() {
        let mut seen: Vec<u64> = Vec::new();
        for (_, payment) in fetched {
            let n: u64 = payment.parse().expect("numeric payment id");
            if seen.last() == Some(&n) {
                continue;
            }
            assert!(
                seen.last().is_none_or(|last| *last < n),
                "{token}: payment {n} fetched after {:?}",
                seen.last()
            );
            seen.push(n);
        }
    }
}

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
    let mut nodes = vec![
        Node::start(&db, &chaos, "node-a", 10_000),
        Node::start(&db, &chaos, "node-b", 10_000),
        Node::start(&db, &chaos, "node-c", 10_000),
    ];
    for node in &nodes {
        wait_ready(&http, node.url()).await;
    }
    let tenants = create_tenants(&http, nodes[0].url(), TENANTS).await;
    let owned = settled(
        &http,
        nodes[0].url(),
        &["node-a", "node-b", "node-c"],
        TENANTS as i64,
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
    let accepted: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut senders = Vec::new();
    for t in 0..TENANTS {
        let (http, urls, accepted, tenant_id) = (
            http.clone(),
            urls.clone(),
            accepted.clone(),
            tenants[t as usize].clone(),
        );
        senders.push(async move {
            let mut k = 0;
            while Instant::now() < stop_at {
                let event = deliver_somewhere(&http, &urls, (t + k) as usize, t, k).await;
                accepted
                    .lock()
                    .expect("lock")
                    .push((tenant_id.clone(), event));
                k += 1;
            }
        });
    }
    let killed_at = Arc::new(Mutex::new(None));
    let killed = killed_at.clone();
    let victim = &mut nodes[2];
    let killer = async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        victim.kill();
        *killed.lock().expect("lock") = Some(Instant::now());
    };
    tokio::join!(futures_util::future::join_all(senders), killer);
    let killed_at = killed_at.lock().expect("lock").expect("killed");

    let accepted = accepted.lock().expect("lock").clone();
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
    settled(&http, a.url(), &["node-a", "node-b"], 24).await;

    let mut c = Node::start(&db, &chaos, "node-c", 10_000);
    wait_ready(&http, c.url()).await;
    let joined = Instant::now();
    let mut owned = settled(&http, a.url(), &["node-a", "node-b", "node-c"], 24).await;
    // Settled as soon as three live nodes own everything, which they did before C took its share.
    while owned.get("node-c").copied().unwrap_or(0) == 0 {
        assert!(
            joined.elapsed() < Duration::from_secs(10),
            "the joining node took no tenant: {owned:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        owned = owners(&http, a.url()).await;
    }
    println!(
        "cluster: the joining node owned {} of 24 tenants after {:?}",
        owned["node-c"],
        joined.elapsed()
    );

    // SIGTERM: node B gives its tenants back at once, long before its lease (10 s) would expire.
    b.signal("TERM");
    let stopped = Instant::now();
    assert!(
        wait_exit(&mut b.server.child, Duration::from_secs(15))
            .await
            .is_some(),
        "node B exits"
    );
    settled(&http, a.url(), &["node-a", "node-c"], 24).await;
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

#[actix_web::test]
async fn a_paused_node_writes_nothing_for_the_tenant_it_lost() {
    if !postgres() {
        return;
    }
    let db = TestDb::new().await;
    let chaos = Chaos::start(0.0, Duration::from_millis(10), 9).await;
    chaos.set_payment_rule(payment_rule);
    let http = client();
    let mut nodes = vec![
        Node::start(&db, &chaos, "node-a", 2_000),
        Node::start(&db, &chaos, "node-b", 2_000),
    ];
    for node in &nodes {
        wait_ready(&http, node.url()).await;
    }
    let tenants = create_tenants(&http, nodes[0].url(), 1).await;
    let owned = settled(&http, nodes[0].url(), &["node-a", "node-b"], 1).await;
    let (owner, other) = if owned["node-a"] == 1 { (0, 1) } else { (1, 0) };
    let owner_name = nodes[owner].name.clone();

    // The owner's fetch is slow and would say "rejected"; any later fetch says "approved" at once.
    let payment = payment_id(0, 1);
    chaos.script_payment(&payment, vec![(Duration::from_millis(1000), "rejected")]);
    let event = deliver_somewhere(&http, &[nodes[other].url().to_owned()], 0, 0, 1).await;
    assert!(
        crate::utils::poll(|| async { chaos.payments_fetched_by(&owner_name).contains(&payment) })
            .await,
        "the owner started fetching"
    );
    // Paused mid-call, past its lease: the other node takes the tenant and does the work.
    nodes[owner].signal("STOP");
    all_succeed(
        &http,
        nodes[other].url(),
        &[(tenants[0].clone(), event.clone())],
        Duration::from_secs(20),
    )
    .await;
    nodes[owner].signal("CONT");
    tokio::time::sleep(Duration::from_secs(3)).await;

    let stored = admin_get(
        &http,
        format!(
            "{}/api/tenants/{}/payments/{payment}",
            nodes[other].url(),
            tenants[0]
        ),
    )
    .await;
    assert_eq!(
        stored["status"], "APPROVED",
        "the paused node's stale answer was written: {stored}"
    );
    let body = admin_get(
        &http,
        format!(
            "{}/api/tenants/{}/events/{event}",
            nodes[other].url(),
            tenants[0]
        ),
    )
    .await;
    assert_eq!(body["status"], "success", "{body}");
    assert_eq!(
        chaos.calls_of(&owner_name),
        1,
        "the paused node called MercadoPago again after it lost the tenant"
    );
    assert_eq!(chaos.overlaps(), HashMap::new());
    for node in &mut nodes {
        node.kill();
    }
}

#[actix_web::test]
async fn a_second_process_on_one_sqlite_file_refuses_to_start() {
    if postgres() {
        return;
    }
    let db = TestDb::new().await;
    let http = client();
    let mut first = spawn_cobro(&db.url, "http://127.0.0.1:9", "http://127.0.0.1:9", &[]);
    wait_ready(&http, &first.url).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_cobro"))
        .arg("serve")
        .env_remove("COBRO_CONFIG")
        .env("COBRO_BIND", format!("127.0.0.1:{port}"))
        .env("COBRO_DATABASE_URL", &db.url)
        .env("RUST_LOG", "error")
        .output()
        .expect("second cobro runs");
    assert!(
        !second.status.success(),
        "the second process must not start"
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one clear line: {stderr}");
    assert!(
        lines[0].contains("another Cobro process is already serving"),
        "{stderr}"
    );
    // The first one runs on.
    let ready = http
        .get(format!("{}/ready", first.url))
        .send()
        .await
        .expect("ready");
    assert!(ready.status().is_success());
    let _ = first.child.kill();
    let _ = first.child.wait();
}

/// The fence itself, without the lease clock in front of it: a node whose lease was taken over
/// writes nothing, even though nothing stopped it from trying.
#[actix_web::test]
async fn a_write_under_a_taken_over_lease_is_refused_and_changes_nothing() {
    use cobro::cluster::FenceToken;
    use cobro::domain::{PaymentStatus, TenantId};
    use cobro::mercadopago::MpPayment;
    use cobro::tenant::record::{PaymentUpdate, WriteError};
    use sea_orm::{ConnectionTrait, Database};

    if !postgres() {
        return;
    }
    let app = crate::utils::TestApp::spawn().await;
    let tenant = app.create_tenant("2079614828", None).await;
    let tenant_id = TenantId(uuid::Uuid::parse_str(&tenant.id).expect("uuid"));
    let cluster = app
        .state
        .cluster
        .clone()
        .expect("PostgreSQL runs a cluster");
    let held = || cluster.held.get(&tenant_id).map(|f| f.token);
    assert!(
        crate::utils::poll(|| async { held().is_some() }).await,
        "the node takes its tenant"
    );
    let stale = held().expect("held");

    // Another node takes the lease over (as a take-over after this node was seen dead does).
    let db = Database::connect(&app.db.url).await.expect("connect");
    db.execute_unprepared(&format!(
        "UPDATE tenant_leases SET owner_node = 'intruder', fence = fence + 1 WHERE tenant_id = '{}'",
        tenant.id
    ))
    .await
    .expect("take over");

    let update = |payment: &str| PaymentUpdate {
        tenant: tenant_id,
        event_id: uuid::Uuid::nil(),
        payment_id: payment.to_owned(),
        mp: MpPayment::from_json(crate::utils::payment(
            payment,
            "approved",
            "2079614828",
            None,
        ))
        .expect("payment"),
        status: PaymentStatus::Approved,
        order_target: None,
        wants_tag: true,
        started: Instant::now(),
    };
    let lease = |token| {
        Some(FenceToken {
            tenant: tenant_id,
            token,
        })
    };
    let refused = app
        .state
        .services
        .pipeline
        .store_payment(lease(stale), update("555001"))
        .await;
    assert!(
        matches!(refused, Err(WriteError::LeaseLost(_))),
        "a stale fence must be refused"
    );
    let (code, _) = app
        .get(
            &format!("/api/tenants/{}/payments/555001", tenant.id),
            ADMIN,
        )
        .await;
    assert_eq!(code, 404, "nothing was written under the stale fence");

    // The intruder is no live node: this node takes the tenant back under a new fence, and a
    // write under that one lands (so the refusal above was the fence's doing).
    assert!(
        crate::utils::poll(|| async { held().is_some_and(|f| f > stale + 1) }).await,
        "the node takes its tenant back"
    );
    let current = held().expect("held");
    app.state
        .services
        .pipeline
        .store_payment(lease(current), update("555002"))
        .await
        .expect("a write under the current fence lands");
    let (code, _) = app
        .get(
            &format!("/api/tenants/{}/payments/555002", tenant.id),
            ADMIN,
        )
        .await;
    assert_eq!(code, 200);
}
