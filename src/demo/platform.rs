//! The demo platform's own backend (SPEC §21), in the sandbox: a platform-wide endpoint receives
//! Cobro's signed events at `POST /platform/webhooks`, checks each signature with the official
//! `standardwebhooks` crate under the secret the endpoint was given, and counts what it received
//! by type; `GET /platform` shows the counts (a page) and `GET /platform.json` answers them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use dashmap::DashMap;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

/// What the demo's backend has received.
#[derive(Default, Clone)]
pub struct PlatformBackend {
    secret: Arc<Mutex<Option<String>>>,
    by_type: Arc<DashMap<String, u64>>,
    verified: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
}

impl PlatformBackend {
    /// The endpoint's secret, as Cobro showed it when the demo created the endpoint.
    pub fn trust(&self, secret: String) {
        if let Ok(mut held) = self.secret.lock() {
            *held = Some(secret);
        }
    }

    fn verify(&self, req: &HttpRequest, body: &[u8]) -> bool {
        let Some(secret) = self.secret.lock().ok().and_then(|s| s.clone()) else {
            return false;
        };
        let Ok(webhook) = standardwebhooks::Webhook::new(&secret) else {
            return false;
        };
        let mut headers = HeaderMap::new();
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            let value = req
                .headers()
                .get(name)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if let Ok(value) = HeaderValue::from_bytes(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        webhook.verify(body, &headers).is_ok()
    }

    fn counts(&self) -> Value {
        let mut by_type: Vec<(String, u64)> = self
            .by_type
            .iter()
            .map(|e| (e.key().clone(), *e.value()))
            .collect();
        by_type.sort();
        json!({
            "verified": self.verified.load(Ordering::Relaxed),
            "refused": self.refused.load(Ordering::Relaxed),
            "received": by_type.into_iter().map(|(k, n)| (k, Value::from(n))).collect::<serde_json::Map<String, Value>>(),
        })
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/platform/webhooks", web::post().to(receive))
        .route("/platform", web::get().to(page))
        .route("/platform.json", web::get().to(counts));
}

/// A forged or altered message is refused (401), as a real backend would.
async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    backend: web::Data<PlatformBackend>,
) -> HttpResponse {
    if !backend.verify(&req, &body) {
        backend.refused.fetch_add(1, Ordering::Relaxed);
        return HttpResponse::Unauthorized().finish();
    }
    backend.verified.fetch_add(1, Ordering::Relaxed);
    let kind = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b["type"].as_str().map(str::to_owned))
        .unwrap_or_default();
    *backend.by_type.entry(kind).or_default() += 1;
    HttpResponse::NoContent().finish()
}

async fn counts(backend: web::Data<PlatformBackend>) -> HttpResponse {
    HttpResponse::Ok().json(backend.counts())
}

async fn page(backend: web::Data<PlatformBackend>) -> HttpResponse {
    let counts = backend.counts();
    let rows: String = counts["received"]
        .as_object()
        .map(|types| {
            types
                .iter()
                .map(|(kind, n)| {
                    let kind = html_escape::encode_text(kind);
                    format!("<tr><td>{kind}</td><td>{n}</td></tr>")
                })
                .collect()
        })
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"3\">\
         <title>Demo platform backend (sandbox)</title><body style=\"font-family:sans-serif;margin:2em\">\
         <h1>The demo platform's backend (SANDBOX)</h1>\
         <p>Cobro's signed events, each verified with the official standardwebhooks library: \
         <b>{}</b> verified, <b>{}</b> refused.</p>\
         <table><thead><tr><th>Type</th><th>Received</th></tr></thead><tbody>{rows}</tbody></table></body></html>",
        counts["verified"], counts["refused"]
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html)
}
