//! A fake of MercadoPago and GoHighLevel that fails a share of calls at random, the ways real
//! services fail: 5xx, 429 with `Retry-After`, answers slower than the client's timeout, and
//! connections dropped without an answer. Written on raw TCP because mock servers cannot drop a
//! connection. A failure is decided before any effect, so the record of applied tags is exact.
//!
//! It is also the cluster tests' witness of MercadoPago calls: a caller may put a path prefix
//! before `/v1/payments` (each node its own), and every payment fetch is logged with its access
//! token, prefix and time; fetches of one token that overlap in time are counted. A fetch stays
//! in flight until answered or until its caller hangs up (a killed process).
//!
//! It plays Stripe too (issue 24): `GET [/<caller>]/v1/payment_intents/pi_<n>` with
//! `Stripe-Account: acct_<seller>` serves payment `<n>` as a succeeded PaymentIntent, and is
//! witnessed under the seller's MercadoPago token `APP_USR-<seller>`, so one tenant's calls to
//! both providers count as one tenant's: an MP fetch overlapping a Stripe one is an overlap.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::chaos_wire::{Request, http, read_request};

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
    /// How long a payment fetch takes to answer.
    mp_delay: Mutex<Duration>,
    /// payment id → (delay, status) of its next fetches, one per fetch.
    scripts: Mutex<HashMap<String, VecDeque<(Duration, String)>>>,
    fetches: Mutex<Vec<Fetch>>,
    in_flight: Mutex<HashMap<String, usize>>,
    overlaps: Mutex<HashMap<String, usize>>,
}

/// One payment fetch as the fake saw it.
#[derive(Debug, Clone)]
pub struct Fetch {
    pub token: String,
    /// The path prefix before `/v1/payments` (a cluster node's name), or "".
    pub caller: String,
    pub payment: String,
    pub at: Instant,
}

type PaymentRule = Box<dyn Fn(&str) -> Option<(String, String)> + Send + Sync>;

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
            mp_delay: Mutex::default(),
            scripts: Mutex::default(),
            fetches: Mutex::default(),
            in_flight: Mutex::default(),
            overlaps: Mutex::default(),
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

    /// Every payment fetch takes this long to answer.
    pub fn set_mp_delay(&self, delay: Duration) {
        *lock(&self.state.mp_delay) = delay;
    }

    /// The next fetches of this payment answer after these delays with these statuses.
    pub fn script_payment(&self, payment: &str, answers: Vec<(Duration, &str)>) {
        let answers = answers
            .into_iter()
            .map(|(d, s)| (d, s.to_owned()))
            .collect();
        lock(&self.state.scripts).insert(payment.to_owned(), answers);
    }

    /// Access tokens whose fetches overlapped in time, with how many times.
    pub fn overlaps(&self) -> HashMap<String, usize> {
        lock(&self.state.overlaps).clone()
    }

    /// Each token's fetches in the order they started: (caller, payment).
    pub fn fetch_order(&self) -> HashMap<String, Vec<(String, String)>> {
        let mut order: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for f in lock(&self.state.fetches).iter() {
            order
                .entry(f.token.clone())
                .or_default()
                .push((f.caller.clone(), f.payment.clone()));
        }
        order
    }

    /// Payments this caller fetched.
    pub fn payments_fetched_by(&self, caller: &str) -> HashSet<String> {
        lock(&self.state.fetches)
            .iter()
            .filter(|f| f.caller == caller)
            .map(|f| f.payment.clone())
            .collect()
    }

    pub fn calls_of(&self, caller: &str) -> usize {
        lock(&self.state.fetches)
            .iter()
            .filter(|f| f.caller == caller)
            .count()
    }

    /// For each caller, how long after `since` its first fetch came.
    pub fn first_calls_since(&self, since: Instant) -> HashMap<String, Duration> {
        let mut first: HashMap<String, Duration> = HashMap::new();
        for f in lock(&self.state.fetches).iter().filter(|f| f.at >= since) {
            let after = f.at - since;
            first
                .entry(f.token.clone())
                .and_modify(|d| *d = (*d).min(after))
                .or_insert(after);
        }
        first
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
            Fate::Served => match payment_fetch(&request) {
                Some((caller, id)) => {
                    match witness_fetch(&state, &request, caller, id, reader.get_mut()).await {
                        Some(response) => response,
                        None => return,
                    }
                }
                None => route(&state, &request, None),
            },
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

/// `GET [/<caller>]/v1/payments/<id>`, or Stripe's `…/v1/payment_intents/pi_<id>` → (caller, id).
fn payment_fetch(request: &Request) -> Option<(String, String)> {
    let path = request.target.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (caller, kind, id) = match (request.method.as_str(), segments.as_slice()) {
        ("GET", [caller, "v1", kind, id]) => (*caller, *kind, *id),
        ("GET", ["v1", kind, id]) => ("", *kind, *id),
        _ => return None,
    };
    let id = match kind {
        "payments" => id,
        "payment_intents" => id.strip_prefix("pi_")?,
        _ => return None,
    };
    Some((caller.to_owned(), id.to_owned()))
}

/// Serves a payment fetch while keeping the witness's books; `None` when the caller hung up.
async fn witness_fetch(
    state: &State,
    request: &Request,
    caller: String,
    payment: String,
    stream: &mut TcpStream,
) -> Option<String> {
    let stripe = !request.stripe_account.is_empty();
    let token = match stripe {
        true => format!(
            "APP_USR-{}",
            request.stripe_account.trim_start_matches("acct_")
        ),
        false => request
            .authorization
            .trim_start_matches("Bearer ")
            .to_owned(),
    };
    let (delay, status) = match lock(&state.scripts)
        .get_mut(&payment)
        .and_then(VecDeque::pop_front)
    {
        Some((delay, status)) => (delay, Some(status)),
        None => (*lock(&state.mp_delay), None),
    };
    {
        let mut in_flight = lock(&state.in_flight);
        let now = in_flight.entry(token.clone()).or_default();
        *now += 1;
        if *now > 1 {
            *lock(&state.overlaps).entry(token.clone()).or_default() += 1;
        }
    }
    lock(&state.fetches).push(Fetch {
        token: token.clone(),
        caller,
        payment: payment.clone(),
        at: Instant::now(),
    });
    let mut probe = [0u8; 1];
    let answered = tokio::select! {
        _ = tokio::time::sleep(delay) => true,
        _ = stream.peek(&mut probe) => false,
    };
    if let Some(now) = lock(&state.in_flight).get_mut(&token) {
        *now -= 1;
    }
    let target = match stripe {
        true => format!("/v1/payment_intents/pi_{payment}"),
        false => format!("/v1/payments/{payment}"),
    };
    let plain = Request {
        method: "GET".into(),
        target,
        authorization: String::new(),
        stripe_account: String::new(),
        body: Vec::new(),
    };
    answered.then(|| route(state, &plain, status.as_deref()))
}

fn route(state: &State, request: &Request, status: Option<&str>) -> String {
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
                let body = json!({ "id": id.parse::<u64>().unwrap_or_default(), "status": status.unwrap_or("approved"),
                    "status_detail": "accredited", "collector_id": collector.parse::<u64>().unwrap_or_default(),
                    "transaction_amount": 100.5, "currency_id": "BRL", "payment_method_id": "pix",
                    "payer": { "email": email, "first_name": "Ana", "last_name": "Souza" } });
                http(200, "", &body.to_string())
            }
            None => http(404, "", "{\"message\":\"not_found\"}"),
        },
        ("GET", ["v1", "payment_intents", id]) => {
            match find_payment(state, id.trim_start_matches("pi_")) {
                Some((_, email)) => http(200, "", &stripe_intent(id, &email).to_string()),
                None => http(404, "", "{\"error\":{\"code\":\"resource_missing\"}}"),
            }
        }
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

/// A succeeded PaymentIntent of 100.50 BRL paid by `email`, its charge expanded.
fn stripe_intent(id: &str, email: &str) -> Value {
    json!({ "id": id, "object": "payment_intent", "status": "succeeded", "amount": 10050,
        "currency": "brl", "created": 1764872390, "last_payment_error": null, "metadata": {},
        "latest_charge": { "id": format!("ch_{id}"), "created": 1764872400, "refunded": false,
            "amount_refunded": 0, "disputed": false,
            "billing_details": { "email": email, "name": "Ana Souza" },
            "payment_method_details": { "type": "card", "card": { "brand": "visa" } } } })
}

fn find_payment(state: &State, id: &str) -> Option<(String, String)> {
    if let Some(found) = lock(&state.payments).get(id) {
        return Some(found.clone());
    }
    lock(&state.rule).as_ref().and_then(|rule| rule(id))
}
