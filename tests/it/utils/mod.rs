//! The test harness: a real Cobro (real database, real HTTP server on a free port, real actors)
//! with wiremock fakes of MercadoPago and GoHighLevel that record what they receive, plus helpers
//! to create tenants, send signed webhooks and wait for effects with a bounded poll.

pub mod chaos;
mod chaos_wire;
pub mod cluster;
pub mod collector;
pub mod db;
pub mod mp_topics;
pub mod oauth;
pub mod process;
pub mod receiver;
pub mod recorder;
pub mod stripe;
pub mod tls_front;
pub mod ws;

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use cobro::app;
use cobro::config::Config;
use cobro::provider::mercadopago::signature;
use cobro::state::AppState;
use figment::providers::Serialized;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub use db::TestDb;
pub use recorder::Recorder;

pub const ADMIN: &str = "test-admin-token";
pub const SECRET: &str = "your_secret_key_here";
const POLL_LIMIT: Duration = Duration::from_secs(15);

pub struct TestApp {
    pub url: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub mp: Arc<MockServer>,
    pub ghl: Arc<MockServer>,
    pub recorder: Recorder,
    pub db: Arc<TestDb>,
    overrides: Vec<(String, String)>,
    server: actix_web::dev::ServerHandle,
}

pub struct Tenant {
    pub id: String,
    pub token: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Overrides are config keys (`retry_schedule`, ...) as in `config/default.toml`.
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        Self::spawn_on(TestDb::new().await, overrides).await
    }

    /// Starts on a database the test prepared (e.g. one built by older migrations).
    pub async fn spawn_on(db: TestDb, overrides: &[(&str, &str)]) -> Self {
        let (mp, ghl) = (
            Arc::new(MockServer::start().await),
            Arc::new(MockServer::start().await),
        );
        let overrides = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::start(Arc::new(db), mp, ghl, overrides).await
    }

    async fn start(
        db: Arc<TestDb>,
        mp: Arc<MockServer>,
        ghl: Arc<MockServer>,
        overrides: Vec<(String, String)>,
    ) -> Self {
        let mut figment = Config::defaults()
            .merge(Serialized::default("database_url", &db.url))
            .merge(Serialized::default("admin_token", ADMIN))
            .merge(Serialized::default("mp_api_base", mp.uri()))
            .merge(Serialized::default("ghl_api_base", ghl.uri()))
            .merge(Serialized::default("retry_schedule", "0.2,0.2,0.2"))
            .merge(Serialized::default("http_timeout_ms", 2000));
        for (key, value) in &overrides {
            // As the environment would: numbers are numbers.
            figment = match (value.parse::<i64>(), value.parse::<bool>()) {
                (Ok(number), _) => figment.merge(Serialized::default(key, number)),
                (_, Ok(flag)) => figment.merge(Serialized::default(key, flag)),
                _ => figment.merge(Serialized::default(key, value)),
            };
        }
        let config = Config::from_figment(figment).expect("valid test configuration");
        let recorder = Recorder::default();
        let state = app::start(config, vec![Arc::new(recorder.clone())])
            .await
            .expect("cobro starts");
        let listener = TcpListener::bind("127.0.0.1:0").expect("free port");
        let url = format!("http://{}", listener.local_addr().expect("bound address"));
        let server = app::http_server(state.clone(), listener).expect("server");
        let handle = server.handle();
        actix_rt::spawn(server);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client");
        Self {
            url,
            http,
            state,
            mp,
            ghl,
            recorder,
            db,
            overrides,
            server: handle,
        }
    }

    /// Stops this instance (server and actors, as a crash would leave things) and starts a new
    /// one on the same database and fakes.
    pub async fn restart(self) -> Self {
        self.stop().await;
        Self::start(
            self.db.clone(),
            self.mp.clone(),
            self.ghl.clone(),
            self.overrides.clone(),
        )
        .await
    }

    pub async fn stop(&self) {
        self.server.stop(false).await;
        self.state
            .supervisor
            .do_send(cobro::tenant::supervisor::StopAll);
        if let Some(cluster) = &self.state.cluster {
            cluster.halt().await;
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request reaches cobro");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(token), Some(body))
            .await
    }

    /// A tenant with its own webhook secret ([`SECRET`]) and, when `tag` is given, GHL settings.
    pub async fn create_tenant(&self, mp_user_id: &str, tag: Option<&str>) -> Tenant {
        let mut body = json!({ "name": format!("Seller {mp_user_id}"), "mp_user_id": mp_user_id,
            "mp_access_token": format!("APP_USR-{mp_user_id}"), "mp_webhook_secret": SECRET });
        if let Some(tag) = tag {
            body["ghl"] = json!({ "api_key": "ghl-key", "location_id": "loc-1", "tag": tag });
        }
        let (status, created) = self.post("/api/tenants", ADMIN, body).await;
        assert_eq!(status, 201, "{created}");
        Tenant {
            id: created["id"].as_str().expect("id").to_owned(),
            token: created["admin_token"].as_str().expect("token").to_owned(),
        }
    }

    /// Sends a correctly signed V1 payment notification.
    pub async fn webhook(
        &self,
        user_id: &str,
        payment_id: &str,
        notification_id: u64,
    ) -> (u16, Value) {
        let body = notification(user_id, payment_id, notification_id);
        let request_id = uuid::Uuid::new_v4().to_string();
        self.raw_webhook(
            payment_id,
            &body.to_string(),
            &request_id,
            Some(&sign(SECRET, payment_id, &request_id)),
        )
        .await
    }

    pub async fn raw_webhook(
        &self,
        query_id: &str,
        body: &str,
        request_id: &str,
        signature: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!(
                "{}/webhooks/mp?data.id={query_id}&type=payment",
                self.url
            ))
            .header("content-type", "application/json")
            .header("x-request-id", request_id)
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("x-signature", signature);
        }
        let response = request.send().await.expect("webhook reaches cobro");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Answers `GET /v1/payments/{id}` with the fixture, rewritten for this payment.
    pub async fn mp_serves(
        &self,
        payment_id: &str,
        status: &str,
        collector: &str,
        order: Option<&str>,
    ) {
        Mock::given(method("GET"))
            .and(path(format!("/v1/payments/{payment_id}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(payment(payment_id, status, collector, order)),
            )
            .mount(&self.mp)
            .await;
    }

    /// GHL: no contact found, upsert creates `contact-1`, tagging succeeds.
    pub async fn ghl_accepts(&self) {
        Mock::given(method("GET"))
            .and(path("/contacts/search/duplicate"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "contact": null })))
            .mount(&self.ghl)
            .await;
        Mock::given(method("POST"))
            .and(path("/contacts/upsert"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({ "new": true, "contact": { "id": "contact-1" } })),
            )
            .mount(&self.ghl)
            .await;
        Mock::given(method("POST"))
            .and(path("/contacts/contact-1/tags"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(fixture("gohighlevel/ghl_add_tags_response.json")),
            )
            .mount(&self.ghl)
            .await;
    }

    /// Creates a plain order for `tenant`; answers its id.
    pub async fn create_order(&self, tenant: &Tenant) -> String {
        let body = json!({ "amount": 45000, "currency": "ARS", "description": "Plan anual" });
        let orders = format!("/api/tenants/{}/orders", tenant.id);
        let (status, order) = self.post(&orders, &tenant.token, body).await;
        assert_eq!(status, 201, "{order}");
        order["id"].as_str().expect("order id").to_owned()
    }

    /// The paths MercadoPago's fake was asked for so far, in order.
    pub async fn mp_paths(&self) -> Vec<String> {
        let requests = self.mp.received_requests().await.unwrap_or_default();
        requests.iter().map(|r| r.url.path().to_owned()).collect()
    }

    pub async fn event(&self, tenant: &Tenant, event_id: &str) -> Value {
        let (status, event) = self
            .get(
                &format!("/api/tenants/{}/events/{event_id}", tenant.id),
                ADMIN,
            )
            .await;
        assert_eq!(status, 200, "{event}");
        event
    }

    /// Polls the event until its status is `status`; panics with the last state after the limit.
    pub async fn wait_status(&self, tenant: &Tenant, event_id: &str, status: &str) -> Value {
        let deadline = std::time::Instant::now() + POLL_LIMIT;
        loop {
            let event = self.event(tenant, event_id).await;
            if event["status"] == status {
                return event;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "event never became {status}; last: {event}"
            );
            actix_rt::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

pub fn notification(user_id: &str, payment_id: &str, notification_id: u64) -> Value {
    json!({ "action": "payment.updated", "api_version": "v1", "data": { "id": payment_id },
        "date_created": "2026-05-14T19:32:09Z", "id": notification_id, "live_mode": true,
        "type": "payment", "user_id": user_id.parse::<u64>().map(Value::from).unwrap_or(json!(user_id)) })
}

pub fn sign(secret: &str, data_id: &str, request_id: &str) -> String {
    let ts = "1747251130383";
    let v1 = signature::sign(
        secret.as_bytes(),
        &signature::manifest(Some(data_id), Some(request_id), ts),
    );
    format!("ts={ts},v1={v1}")
}

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The approved-payment fixture with this id, status, collector and external reference.
pub fn payment(payment_id: &str, status: &str, collector: &str, order: Option<&str>) -> Value {
    let mut body = fixture(match status {
        "refunded" => "mercadopago/mp_payment_refunded.json",
        "rejected" => "mercadopago/mp_payment_rejected.json",
        _ => "mercadopago/mp_payment_approved.json",
    });
    body["id"] = json!(payment_id.parse::<u64>().unwrap_or_default());
    body["status"] = json!(status);
    body["collector_id"] = json!(collector.parse::<u64>().unwrap_or_default());
    body["external_reference"] = order.map_or(Value::Null, |o| json!(o));
    body
}

/// Polls `check` every 25 ms until it holds or [`POLL_LIMIT`] passes.
pub async fn poll<F, Fut>(check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    poll_for(POLL_LIMIT, check).await
}

/// Like [`poll`], with a limit of its own (a large backlog takes longer than [`POLL_LIMIT`]).
pub async fn poll_for<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        actix_rt::time::sleep(Duration::from_millis(25)).await;
    }
    false
}
