//! A fake of MercadoPago and GoHighLevel that fails a share of calls at random, the ways real
//! services fail: 5xx, 429 with `Retry-After`, answers slower than the client's timeout, and
//! connections dropped without an answer. Written on raw TCP because mock servers cannot drop a
//! connection. A failure is decided before any effect, so the record of applied tags is exact.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How a call went, as the fake saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fate {
    Served,
    Status5xx,
    TooMany,
    Slow,
    Dropped,
}

pub struct Chaos {
    pub url: String,
    state: Arc<State>,
}

struct State {
    fail_rate: f64,
    slow_for: Duration,
    rng: Mutex<StdRng>,
    /// payment id → (collector id, payer email)
    payments: Mutex<HashMap<String, (String, String)>>,
    /// For payments not added one by one: derives (collector id, payer email) from the id.
    rule: Mutex<Option<PaymentRule>>,
    contacts: Mutex<HashMap<String, String>>,
    tags_applied: Mutex<HashMap<String, usize>>,
    fates: Mutex<HashMap<Fate, usize>>,
}

type PaymentRule = Box<dyn Fn(&str) -> Option<(String, String)> + Send + Sync>;

struct Request {
    method: String,
    target: String,
    body: Vec<u8>,
}

impl Chaos {
    pub async fn start(fail_rate: f64, slow_for: Duration, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind chaos server");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(State {
            fail_rate,
            slow_for,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            payments: Mutex::default(),
            rule: Mutex::default(),
            contacts: Mutex::default(),
            tags_applied: Mutex::default(),
            fates: Mutex::default(),
        });
        let accept_state = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_connection(stream, accept_state.clone()));
            }
        });
        Self { url, state }
    }

    /// An approved payment of this collector whose buyer has this email.
    pub fn add_payment(&self, id: &str, collector: &str, email: &str) {
        lock(&self.state.payments).insert(id.to_owned(), (collector.to_owned(), email.to_owned()));
    }

    /// Serves every payment id this rule knows, without listing them.
    pub fn set_payment_rule(
        &self,
        rule: impl Fn(&str) -> Option<(String, String)> + Send + Sync + 'static,
    ) {
        *lock(&self.state.rule) = Some(Box::new(rule));
    }

    /// Successful tag additions per contact email.
    pub fn tags_by_email(&self) -> HashMap<String, usize> {
        let contacts = lock(&self.state.contacts).clone();
        let tags = lock(&self.state.tags_applied).clone();
        contacts
            .into_iter()
            .map(|(email, id)| (email, tags.get(&id).copied().unwrap_or(0)))
            .collect()
    }

    pub fn fates(&self) -> HashMap<Fate, usize> {
        lock(&self.state.fates).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn serve_connection(stream: TcpStream, state: Arc<State>) {
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader).await {
        let fate = decide(&state);
        *lock(&state.fates).entry(fate).or_default() += 1;
        let response = match fate {
            Fate::Dropped => return,
            Fate::Slow => {
                tokio::time::sleep(state.slow_for).await;
                return;
            }
            Fate::Status5xx => http(503, "", "<html>upstream busy</html>"),
            Fate::TooMany => http(
                429,
                "Retry-After: 1\r\n",
                "{\"message\":\"too many requests\"}",
            ),
            Fate::Served => route(&state, &request),
        };
        if reader
            .get_mut()
            .write_all(response.as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

fn decide(state: &State) -> Fate {
    let mut rng = lock(&state.rng);
    if !rng.random_bool(state.fail_rate) {
        return Fate::Served;
    }
    match rng.random_range(0..4) {
        0 => Fate::Status5xx,
        1 => Fate::TooMany,
        2 => Fate::Slow,
        _ => Fate::Dropped,
    }
}

fn route(state: &State, request: &Request) -> String {
    let path = request.target.split('?').next().unwrap_or_default();
    let query = request
        .target
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["v1", "payments", id]) => match find_payment(state, id) {
            Some((collector, email)) => {
                let body = json!({ "id": id.parse::<u64>().unwrap_or_default(), "status": "approved",
                    "status_detail": "accredited", "collector_id": collector.parse::<u64>().unwrap_or_default(),
                    "transaction_amount": 100.5, "currency_id": "BRL", "payment_method_id": "pix",
                    "payer": { "email": email, "first_name": "Ana", "last_name": "Souza" } });
                http(200, "", &body.to_string())
            }
            None => http(404, "", "{\"message\":\"not_found\"}"),
        },
        ("GET", ["contacts", "search", "duplicate"]) => {
            let email = url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "email")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let contact = lock(&state.contacts)
                .get(&email)
                .map(|id| json!({ "id": id, "email": email }));
            http(200, "", &json!({ "contact": contact }).to_string())
        }
        ("POST", ["contacts", "upsert"]) => {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let email = body["email"].as_str().unwrap_or_default().to_owned();
            let mut contacts = lock(&state.contacts);
            let next = format!("c{}", contacts.len() + 1);
            let id = contacts.entry(email).or_insert(next).clone();
            http(
                200,
                "",
                &json!({ "new": true, "contact": { "id": id } }).to_string(),
            )
        }
        ("POST", ["contacts", id, "tags"]) => {
            *lock(&state.tags_applied)
                .entry((*id).to_owned())
                .or_default() += 1;
            http(201, "", "{\"tags\":[\"cliente\"]}")
        }
        _ => http(404, "", "{}"),
    }
}

fn find_payment(state: &State, id: &str) -> Option<(String, String)> {
    if let Some(found) = lock(&state.payments).get(id) {
        return Some(found.clone());
    }
    lock(&state.rule).as_ref().and_then(|rule| rule(id))
}

fn http(status: u16, extra_headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra_headers}\r\n{body}",
        body.len()
    )
}

async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await.ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(Request {
        method,
        target,
        body,
    })
}
