//! The cluster tests' parts (issue 8): `cobro` nodes as child processes, each calling the fake
//! MercadoPago (`Chaos`) under its own path prefix so the fake knows who called; tenants whose
//! payment ids encode them; deliveries that go round the nodes as a load balancer and MP's
//! retries would; and the checks the tests share.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use cobro::cluster::rendezvous;
use serde_json::{Value, json};

use super::chaos::Chaos;
use super::process::{Server, spawn_cobro};
use super::{ADMIN, SECRET, TestDb, notification, sign};

/// The Connect endpoint's signing secret every node is given.
pub const STRIPE_WHSEC: &str = "whsec_cluster_endpoint";

/// A tenant's connected Stripe account: its seller number after `acct_`, which the fake maps
/// back to the tenant's MercadoPago token.
pub fn stripe_account(tenant: u64) -> String {
    format!("acct_{}", seller(tenant))
}

/// Links each tenant (in tenant order) to its Stripe account through `url`.
pub async fn link_stripe(http: &reqwest::Client, url: &str, tenants: &[String]) {
    for (t, id) in tenants.iter().enumerate() {
        let response = http
            .patch(format!("{url}/api/tenants/{id}"))
            .bearer_auth(ADMIN)
            .json(&json!({ "stripe_account_id": stripe_account(t as u64) }))
            .send()
            .await
            .expect("link stripe");
        assert_eq!(response.status(), 200);
    }
}

/// Payment `k` of `tenant` as a signed Stripe `payment_intent.succeeded` to `url`.
async fn deliver_stripe(http: &reqwest::Client, url: &str, tenant: u64, k: u64) -> Option<Value> {
    let payment = payment_id(tenant, k);
    let event = json!({ "id": format!("evt_{payment}"), "object": "event", "type": "payment_intent.succeeded",
        "account": stripe_account(tenant), "livemode": true, "created": 1764872500,
        "data": { "object": { "id": format!("pi_{payment}"), "object": "payment_intent" } } });
    let body = event.to_string();
    let t = chrono::Utc::now().timestamp();
    let v1 = super::stripe::sign(STRIPE_WHSEC, t, &body);
    let response = http
        .post(format!("{url}/webhooks/stripe"))
        .header("content-type", "application/json")
        .header("stripe-signature", format!("t={t},v1={v1}"))
        .body(body)
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

pub fn postgres() -> bool {
    std::env::var("COBRO_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty())
}

/// Payment ids encode their tenant: `700_000_000 + tenant * 100_000 + k`.
pub fn payment_id(tenant: u64, k: u64) -> String {
    format!("{}", 700_000_000 + tenant * 100_000 + k)
}

pub fn seller(tenant: u64) -> String {
    format!("{}", 9100 + tenant)
}

pub fn payment_rule(id: &str) -> Option<(String, String)> {
    let n = id.parse::<u64>().ok()?.checked_sub(700_000_000)?;
    Some((seller(n / 100_000), format!("buyer{n}@example.com")))
}

pub struct Node {
    pub name: String,
    pub server: Server,
}

impl Node {
    pub fn start(db: &TestDb, chaos: &Chaos, name: &str, lease_ms: u64) -> Self {
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
                // The fake plays Stripe under the same prefix (issue 24).
                ("COBRO_STRIPE_API_BASE", &mp),
                ("COBRO_STRIPE_SECRET_KEY", "sk_test_cluster"),
                ("COBRO_STRIPE_WEBHOOK_SECRET", STRIPE_WHSEC),
                // Outbound events to a local receiver (issue 25).
                ("COBRO_OUTBOUND_ALLOW_PRIVATE", "true"),
                ("COBRO_OUTBOUND_POLL_INTERVAL_MS", "200"),
                ("COBRO_OUTBOUND_RETRY_SCHEDULE", "0.2,0.2,0.2,0.2,0.2"),
            ],
        );
        Self {
            name: name.to_owned(),
            server,
        }
    }

    pub fn url(&self) -> &str {
        &self.server.url
    }

    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.server.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal}");
    }

    pub fn kill(&mut self) {
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
    pub fn signal_quietly(&self, signal: &str) {
        let _ = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.server.child.id().to_string())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Creates `n` tenants (with GoHighLevel) through `url`; answers their ids in tenant order.
pub async fn create_tenants(http: &reqwest::Client, url: &str, n: u64) -> Vec<String> {
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

pub async fn cluster_view(http: &reqwest::Client, url: &str) -> Option<Value> {
    let response = http
        .get(format!("{url}/api/cluster"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

/// Tenants owned per live node, as `url` reports it.
pub async fn owners(http: &reqwest::Client, url: &str) -> HashMap<String, i64> {
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

/// Waits until exactly `nodes` are alive and each owns the tenants rendezvous hashing gives it.
/// "All tenants owned" is not enough: a node that just joined is alive before the others have
/// given it its share, so the counts read then are not the ones the test goes on with.
pub async fn settled(
    http: &reqwest::Client,
    url: &str,
    nodes: &[&str],
    tenants: &[String],
) -> HashMap<String, i64> {
    let expected = rendezvous_shares(nodes, tenants);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let owned = owners(http, url).await;
        let names: HashSet<&str> = owned.keys().map(String::as_str).collect();
        let shares_match = nodes
            .iter()
            .all(|n| owned.get(*n).copied().unwrap_or(0) == expected[*n]);
        if names == nodes.iter().copied().collect() && shares_match {
            return owned;
        }
        assert!(
            Instant::now() < deadline,
            "cluster never settled: {owned:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many of `tenants` each of `nodes` should own, by the same hashing the nodes use.
fn rendezvous_shares(nodes: &[&str], tenants: &[String]) -> HashMap<String, i64> {
    let live: Vec<String> = nodes.iter().map(|n| (*n).to_owned()).collect();
    let mut shares: HashMap<String, i64> = live.iter().map(|n| (n.clone(), 0)).collect();
    for tenant in tenants {
        let id = uuid::Uuid::parse_str(tenant).expect("tenant ids are UUIDs");
        if let Some(owner) = rendezvous::owner(&live, id) {
            *shares.entry(owner.to_owned()).or_default() += 1;
        }
    }
    shares
}

/// One signed delivery to `url`; `None` when nothing answered.
pub async fn deliver(http: &reqwest::Client, url: &str, tenant: u64, k: u64) -> Option<Value> {
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
pub async fn deliver_somewhere(
    http: &reqwest::Client,
    urls: &[String],
    first: usize,
    tenant: u64,
    k: u64,
) -> String {
    deliver_somewhere_by(http, urls, first, tenant, k, false).await
}

/// [`deliver_somewhere`] as MercadoPago's notification, or (`stripe`) as Stripe's event.
pub async fn deliver_somewhere_by(
    http: &reqwest::Client,
    urls: &[String],
    first: usize,
    tenant: u64,
    k: u64,
    stripe: bool,
) -> String {
    for attempt in 0..60 {
        let url = &urls[(first + attempt) % urls.len()];
        let answer = match stripe {
            true => deliver_stripe(http, url, tenant, k).await,
            false => deliver(http, url, tenant, k).await,
        };
        if let Some(answer) = answer {
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
pub async fn admin_get(http: &reqwest::Client, url: String) -> Value {
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
pub async fn all_succeed(
    http: &reqwest::Client,
    url: &str,
    events: &[(String, String)],
    limit: Duration,
) {
    let deadline = Instant::now() + limit;
    let mut waiting: Vec<&(String, String)> = events.iter().collect();
    while !waiting.is_empty() {
        if Instant::now() >= deadline {
            let mut stuck = Vec::new();
            for (tenant, event) in waiting.iter().take(5) {
                stuck.push(
                    admin_get(http, format!("{url}/api/tenants/{tenant}/events/{event}")).await,
                );
            }
            let cluster = admin_get(http, format!("{url}/api/cluster")).await;
            panic!(
                "{} accepted events never succeeded; first ones: {stuck:#?}; cluster: {cluster}",
                waiting.len()
            );
        }
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
pub fn assert_fetched_in_arrival_order(chaos: &Chaos) {
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

/// Starts nodes `names` on `db`, each calling `chaos`, and waits until each is ready.
pub async fn start_nodes(
    db: &TestDb,
    chaos: &Chaos,
    http: &reqwest::Client,
    names: &[&str],
) -> Vec<Node> {
    let nodes: Vec<Node> = names
        .iter()
        .map(|name| Node::start(db, chaos, name, 10_000))
        .collect();
    for node in &nodes {
        super::process::wait_ready(http, node.url()).await;
    }
    nodes
}

/// Each tenant's webhooks one after another until `stop_at` (so arrival order is defined),
/// spread over the nodes; with `mixed`, MercadoPago's and Stripe's in turn. Answers every
/// accepted `(tenant id, event id)`.
pub async fn storm(
    http: &reqwest::Client,
    urls: &[String],
    tenants: &[String],
    stop_at: Instant,
    mixed: bool,
) -> Vec<(String, String)> {
    let accepted: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>> = Default::default();
    let senders = tenants.iter().enumerate().map(|(t, tenant_id)| {
        let accepted = accepted.clone();
        async move {
            let (t, mut k) = (t as u64, 0);
            while Instant::now() < stop_at {
                let stripe = mixed && k % 2 == 1;
                let event = deliver_somewhere_by(http, urls, (t + k) as usize, t, k, stripe).await;
                accepted
                    .lock()
                    .expect("lock")
                    .push((tenant_id.clone(), event));
                k += 1;
            }
        }
    });
    futures_util::future::join_all(senders).await;
    accepted.lock().expect("lock").clone()
}
