//! The ingest scenario: `--connections` workers send unique signed webhooks, flat out or at a
//! fixed total `--rate`. At a fixed rate each request's latency is measured from the moment it
//! was due, not when it went out, so a stalled server cannot hide its queueing (no coordinated
//! omission).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cobro::provider::mercadopago::signature;
use serde_json::{Value, json};

use crate::report;
use crate::setup::ensure_tenants;

#[derive(clap::Args, Clone)]
pub struct TargetArgs {
    /// Base URL of Cobro (or of the bare endpoint).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub target: String,
    #[arg(long, env = "COBRO_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Webhook secret the benchmark tenants are created with.
    #[arg(long, default_value = "bench-secret")]
    pub secret: String,
    /// The Stripe endpoint secret Cobro runs with (`COBRO_STRIPE_WEBHOOK_SECRET`).
    #[arg(long, default_value = "whsec_bench")]
    pub stripe_secret: String,
}

/// Where requests go, with a client sized for the run.
pub struct Target {
    pub url: String,
    pub admin_token: Option<String>,
    pub secret: String,
    pub stripe_secret: String,
    pub http: reqwest::Client,
}

impl Target {
    pub fn new(args: &TargetArgs, connections: usize) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self {
            url: args.target.trim_end_matches('/').to_owned(),
            admin_token: args.admin_token.clone(),
            secret: args.secret.clone(),
            stripe_secret: args.stripe_secret.clone(),
            http,
        }
    }
}

#[derive(clap::Args)]
pub struct IngestArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long, default_value_t = 20)]
    tenants: u64,
    #[arg(long, default_value_t = 100_000)]
    first_user_id: u64,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Total requests per second; flat out when absent.
    #[arg(long)]
    rate: Option<u64>,
    /// Stop after this many requests (default: run for `--duration`).
    #[arg(long)]
    requests: Option<u64>,
    /// Do not create tenants (for the bare endpoint).
    #[arg(long)]
    no_setup: bool,
    #[arg(long, default_value = "ingest")]
    label: String,
}

/// Payment ids carry their collector: `<mp_user_id><9-digit sequence>` (see the MP fake).
pub fn payment_id(mp_user_id: u64, seq: u64) -> u64 {
    mp_user_id * 1_000_000_000 + seq % 1_000_000_000
}

/// A starting sequence number that differs between runs, so a second run against the same
/// database is not all duplicates.
pub fn first_sequence() -> u64 {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    u64::try_from(micros % 500_000_000).unwrap_or(0)
}

/// Sends one unique signed notification; answers the HTTP status and the body's `status`.
pub async fn send_webhook(
    target: &Target,
    mp_user_id: u64,
    seq: u64,
) -> Result<(u16, String), String> {
    let payment = payment_id(mp_user_id, seq).to_string();
    let request_id = uuid::Uuid::new_v4().to_string();
    let ts = "1747251130383";
    let v1 = signature::sign(
        target.secret.as_bytes(),
        &signature::manifest(Some(&payment), Some(&request_id), ts),
    );
    let body = json!({ "id": seq, "type": "payment", "action": "payment.created", "api_version": "v1",
        "live_mode": true, "date_created": "2026-11-23T12:00:00Z", "user_id": mp_user_id, "data": { "id": payment } });
    let response = target
        .http
        .post(format!(
            "{}/webhooks/mp?data.id={payment}&type=payment",
            target.url
        ))
        .header("content-type", "application/json")
        .header("x-request-id", request_id)
        .header("x-signature", format!("ts={ts},v1={v1}"))
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "timeout".to_owned()
            } else {
                "connection error".to_owned()
            }
        })?;
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap_or_default();
    Ok((status, answer["status"].as_str().unwrap_or("").to_owned()))
}

/// A bench tenant's connected Stripe account.
pub fn stripe_account(mp_user_id: u64) -> String {
    format!("acct_bench{mp_user_id}")
}

/// Sends one unique signed Stripe `payment_intent.succeeded` of the tenant's account (the intent
/// `pi_<payment id>`, which the fake serves); answers like [`send_webhook`].
pub async fn send_stripe_event(
    target: &Target,
    mp_user_id: u64,
    seq: u64,
) -> Result<(u16, String), String> {
    let payment = payment_id(mp_user_id, seq);
    let body = json!({ "id": format!("evt_{payment}"), "object": "event",
        "type": "payment_intent.succeeded", "account": stripe_account(mp_user_id), "livemode": true,
        "created": 1764872500, "data": { "object": { "id": format!("pi_{payment}"), "object": "payment_intent" } } })
    .to_string();
    let t = chrono::Utc::now().timestamp();
    let v1 = cobro::provider::stripe::signature::sign(&target.stripe_secret, t, body.as_bytes());
    let response = target
        .http
        .post(format!("{}/webhooks/stripe", target.url))
        .header("content-type", "application/json")
        .header("stripe-signature", format!("t={t},v1={v1}"))
        .body(body)
        .send()
        .await
        .map_err(|e| match e.is_timeout() {
            true => "timeout".to_owned(),
            false => "connection error".to_owned(),
        })?;
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap_or_default();
    Ok((status, answer["status"].as_str().unwrap_or("").to_owned()))
}

/// Where the spawned sends of a fixed-rate scenario record what happened to them.
#[derive(Clone)]
pub struct Tally {
    pub acks: Arc<std::sync::Mutex<hdrhistogram::Histogram<u64>>>,
    pub outcomes: Arc<std::sync::Mutex<BTreeMap<String, u64>>>,
}

impl Tally {
    pub fn new() -> Self {
        Self {
            acks: Arc::new(std::sync::Mutex::new(report::histogram())),
            outcomes: Arc::default(),
        }
    }

    /// Sends one webhook and records its latency (from `since`) and its outcome; answers whether
    /// it was accepted.
    pub async fn send(&self, target: &Target, user: u64, seq: u64, since: Instant) -> bool {
        self.send_as(target, user, seq, since, false).await
    }

    /// [`Self::send`], as a Stripe event when `stripe`.
    pub async fn send_as(
        &self,
        target: &Target,
        user: u64,
        seq: u64,
        since: Instant,
        stripe: bool,
    ) -> bool {
        let answer = match stripe {
            true => send_stripe_event(target, user, seq).await,
            false => send_webhook(target, user, seq).await,
        };
        if let Ok(mut acks) = self.acks.lock() {
            report::record(&mut acks, since.elapsed());
        }
        let outcome = match answer {
            Ok((200, status)) => status,
            Ok((code, _)) => format!("http {code}"),
            Err(err) => err,
        };
        let accepted = outcome == "accepted";
        if let Ok(mut outcomes) = self.outcomes.lock() {
            *outcomes.entry(outcome).or_default() += 1;
        }
        accepted
    }

    pub fn outcomes(&self) -> BTreeMap<String, u64> {
        self.outcomes.lock().map(|o| o.clone()).unwrap_or_default()
    }

    pub fn acks(&self) -> hdrhistogram::Histogram<u64> {
        self.acks
            .lock()
            .map(|h| h.clone())
            .unwrap_or_else(|_| report::histogram())
    }
}

pub async fn run(args: IngestArgs) -> std::io::Result<()> {
    let target = Arc::new(Target::new(&args.target, args.connections));
    let users: Vec<u64> = if args.no_setup {
        (args.first_user_id..args.first_user_id + args.tenants).collect()
    } else {
        ensure_tenants(&target, args.tenants, args.first_user_id)
            .await?
            .iter()
            .map(|t| t.mp_user_id)
            .collect()
    };
    let users = Arc::new(users);
    let start_seq = first_sequence();
    let counter = Arc::new(AtomicU64::new(start_seq));
    let last_seq = args.requests.map_or(u64::MAX, |n| start_seq + n);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let interval = args
        .rate
        .map(|rate| Duration::from_secs_f64(args.connections as f64 / rate.max(1) as f64));
    let workers: Vec<_> = (0..args.connections)
        .map(|worker| {
            let (target, users, counter) = (target.clone(), users.clone(), counter.clone());
            tokio::spawn(async move {
                let mut hist = report::histogram();
                let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
                // Spread the workers' first sends over one interval.
                let offset = interval.map_or(Duration::ZERO, |i| i.mul_f64(worker as f64 / 64.0));
                let mut due = Instant::now() + offset;
                while Instant::now() < deadline {
                    if interval.is_some() {
                        tokio::time::sleep_until(due.into()).await;
                    } else {
                        due = Instant::now();
                    }
                    let seq = counter.fetch_add(1, Ordering::Relaxed);
                    if seq >= last_seq {
                        break;
                    }
                    let user = users[(seq % users.len() as u64) as usize];
                    let outcome = match send_webhook(&target, user, seq).await {
                        Ok((200, status)) if !status.is_empty() => status,
                        Ok((code, _)) => format!("http {code}"),
                        Err(err) => err,
                    };
                    report::record(&mut hist, due.elapsed());
                    *outcomes.entry(outcome).or_default() += 1;
                    if let Some(interval) = interval {
                        due += interval;
                    }
                }
                (hist, outcomes)
            })
        })
        .collect();
    let mut hist = report::histogram();
    let mut outcomes = BTreeMap::new();
    for worker in workers {
        let (h, o) = worker.await.map_err(std::io::Error::other)?;
        let _ = hist.add(&h);
        for (k, v) in o {
            *outcomes.entry(k).or_default() += v;
        }
    }
    let label = match args.rate {
        Some(rate) => format!(
            "{} ({} connections, {rate}/s offered)",
            args.label, args.connections
        ),
        None => format!(
            "{} ({} connections, flat out)",
            args.label, args.connections
        ),
    };
    report::print(&label, started.elapsed(), &outcomes, "accepted", &hist);
    Ok(())
}
