//! The platform's backend for the outbound benchmark (issue 25, SPEC §21): a local receiver that
//! checks each message's signature (as a real backend would, with the official `standardwebhooks`
//! crate) and notes when each payment's `payment.updated` arrived, against when its webhook was
//! due, for the end-to-end latency from MercadoPago's webhook to the platform's backend.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::Value;

use crate::ingest::Target;

#[derive(Clone, Default)]
pub struct Receiver {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    secret: Mutex<Option<String>>,
    due: Mutex<HashMap<String, Instant>>,
    arrived: Mutex<HashMap<String, Instant>>,
    received: AtomicU64,
    refused: AtomicU64,
}

impl Receiver {
    /// Serves `POST /hooks` on `bind`, on a thread of its own.
    pub fn start(bind: &str) -> std::io::Result<Self> {
        let receiver = Self::default();
        let state = receiver.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .route("/hooks", web::post().to(receive))
        })
        .workers(1)
        .disable_signals()
        .bind(bind)?
        .run();
        std::thread::spawn(move || actix_web::rt::System::new().block_on(server));
        Ok(receiver)
    }

    /// Adds a platform-wide endpoint for `payment.updated` pointing here; keeps its secret.
    pub async fn subscribe(&self, target: &Target, bind: &str) -> std::io::Result<()> {
        let admin = target.admin_token.clone().unwrap_or_default();
        let body = serde_json::json!({ "url": format!("http://{bind}/hooks"), "events": ["payment.updated"] });
        let created: Value = target
            .http
            .post(format!("{}/api/endpoints", target.url))
            .bearer_auth(admin)
            .json(&body)
            .send()
            .await
            .map_err(std::io::Error::other)?
            .json()
            .await
            .map_err(std::io::Error::other)?;
        let secret = created["secret"].as_str().ok_or_else(|| {
            std::io::Error::other(format!(
                "no endpoint created (is COBRO_OUTBOUND_ALLOW_PRIVATE=true?): {created}"
            ))
        })?;
        if let Ok(mut held) = self.inner.secret.lock() {
            *held = Some(secret.to_owned());
        }
        Ok(())
    }

    /// The webhook of `payment` was due at `at`.
    pub fn due(&self, payment: String, at: Instant) {
        if let Ok(mut due) = self.inner.due.lock() {
            due.insert(payment, at);
        }
    }

    pub fn received(&self) -> u64 {
        self.inner.received.load(Ordering::Relaxed)
    }

    pub fn refused(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }

    /// From each webhook's due time to its message's first arrival.
    pub fn latencies(&self) -> Vec<Duration> {
        let (Ok(due), Ok(arrived)) = (self.inner.due.lock(), self.inner.arrived.lock()) else {
            return Vec::new();
        };
        arrived
            .iter()
            .filter_map(|(payment, at)| due.get(payment).map(|d| at.saturating_duration_since(*d)))
            .collect()
    }
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    receiver: web::Data<Receiver>,
) -> HttpResponse {
    let arrived = Instant::now();
    let inner = &receiver.inner;
    let secret = inner
        .secret
        .lock()
        .ok()
        .and_then(|s| s.clone())
        .unwrap_or_default();
    let mut headers = reqwest::header::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        if let Some(value) = req.headers().get(name).and_then(|v| v.to_str().ok())
            && let Ok(value) = value.parse()
        {
            headers.insert(name, value);
        }
    }
    let verified = standardwebhooks::Webhook::new(&secret)
        .map(|hook| hook.verify(&body, &headers).is_ok())
        .unwrap_or(false);
    if !verified {
        inner.refused.fetch_add(1, Ordering::Relaxed);
        return HttpResponse::Unauthorized().finish();
    }
    inner.received.fetch_add(1, Ordering::Relaxed);
    let payment = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b["data"]["paymentId"].as_str().map(str::to_owned));
    if let (Some(payment), Ok(mut seen)) = (payment, inner.arrived.lock()) {
        seen.entry(payment).or_insert(arrived);
    }
    HttpResponse::NoContent().finish()
}
