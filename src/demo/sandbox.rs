//! The demo's built-in MercadoPago, Stripe and GoHighLevel: a small local HTTP server that
//! answers the calls Cobro makes, from the payments, orders (Orders API), chargebacks and Stripe
//! PaymentIntents the generators register, and plays MercadoPago's OAuth (its authorization page and token endpoint) so a shop
//! can connect itself in the browser.
//! It also plays the platform's own backend, which receives Cobro's signed events
//! (`super::platform`).
//! Every answer it gives is labelled sandbox in the logs; nothing leaves the machine.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use actix_web::{App, HttpResponse, HttpServer, web};
use dashmap::DashMap;
use serde_json::json;

/// What the sandbox's MercadoPago says about one payment.
pub struct SandboxPayment {
    pub collector: String,
    pub status: std::sync::Mutex<&'static str>,
    pub order: Option<String>,
    pub email: String,
    pub amount: f64,
    /// Answer 503 this many more times before answering (a retry shows up).
    pub failures_left: AtomicU32,
    /// Always 500 (a failed event shows up).
    pub broken: bool,
}

/// What the sandbox's Orders API says about one order (SPEC §17) and its one payment.
pub struct SandboxOrder {
    pub collector: String,
    /// `status` and `status_detail`, as the Orders API words them.
    pub status: std::sync::Mutex<(&'static str, &'static str)>,
    pub reference: Option<String>,
    pub payment_id: String,
    pub email: String,
    /// A decimal string, as the Orders API sends amounts.
    pub amount: String,
}

#[derive(Default, Clone)]
pub struct Sandbox {
    pub payments: Arc<DashMap<String, Arc<SandboxPayment>>>,
    pub orders: Arc<DashMap<String, Arc<SandboxOrder>>>,
    /// `GET /v1/chargebacks/{id}` answers, as registered.
    pub chargebacks: Arc<DashMap<String, serde_json::Value>>,
    /// Stripe's PaymentIntents of the demo's Stripe shop (`super::stripe_shop`).
    pub intents: Arc<DashMap<String, Arc<super::stripe_shop::SandboxIntent>>>,
    /// The demo platform's backend, listening to Cobro's signed events (SPEC §21).
    pub platform: super::platform::PlatformBackend,
}

impl Sandbox {
    /// Serves the sandbox on a free local port; answers its base URL.
    pub fn start(&self) -> std::io::Result<String> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        let sandbox = self.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(sandbox.clone()))
                .app_data(web::Data::new(sandbox.platform.clone()))
                .route("/v1/payments/{id}", web::get().to(payment))
                .route("/v1/orders/{id}", web::get().to(order))
                .route("/v1/chargebacks/{id}", web::get().to(chargeback))
                .route(
                    "/v1/payment_intents/{id}",
                    web::get().to(super::stripe_shop::intent),
                )
                .configure(super::platform::configure)
                .route("/authorization", web::get().to(authorization_page))
                .route("/oauth/token", web::post().to(token))
                .route(
                    "/contacts/search/duplicate",
                    web::get().to(|| async { HttpResponse::Ok().json(json!({ "contact": null })) }),
                )
                .route(
                    "/contacts/upsert",
                    web::post().to(|| async {
                        HttpResponse::Ok()
                            .json(json!({ "new": true, "contact": { "id": "sandbox-contact" } }))
                    }),
                )
                .route(
                    "/contacts/{id}/tags",
                    web::post()
                        .to(|| async { HttpResponse::Created().json(json!({ "tags": ["demo"] })) }),
                )
                .route(
                    "/contacts/{id}/tags",
                    web::delete().to(|| async { HttpResponse::Ok().json(json!({ "tags": [] })) }),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        actix_web::rt::spawn(server);
        Ok(url)
    }
}

async fn payment(path: web::Path<String>, sandbox: web::Data<Sandbox>) -> HttpResponse {
    let id = path.into_inner();
    let Some(found) = sandbox.payments.get(&id).map(|p| p.clone()) else {
        return HttpResponse::NotFound()
            .json(json!({ "message": "Payment not found", "status": 404 }));
    };
    if found.broken {
        tracing::info!(sandbox = true, payment = %id, "sandbox MercadoPago answers 500 (a failing payment)");
        return HttpResponse::InternalServerError().body("sandbox: simulated outage");
    }
    if found.failures_left.load(Ordering::Relaxed) > 0 {
        found.failures_left.fetch_sub(1, Ordering::Relaxed);
        tracing::info!(sandbox = true, payment = %id, "sandbox MercadoPago answers 503 once");
        return HttpResponse::ServiceUnavailable().body("sandbox: try again");
    }
    let status = found.status.lock().map(|s| *s).unwrap_or("pending");
    HttpResponse::Ok().json(json!({
        "id": id.parse::<u64>().unwrap_or_default(), "status": status,
        "status_detail": if status == "approved" { "accredited" } else { status },
        "collector_id": found.collector.parse::<u64>().unwrap_or_default(),
        "external_reference": found.order, "transaction_amount": found.amount, "currency_id": "ARS",
        "payment_method_id": "visa", "payment_type_id": "credit_card",
        "date_approved": if status == "approved" { Some("2026-11-23T12:00:00.000-03:00") } else { None },
        "payer": { "email": found.email, "first_name": "Cliente", "last_name": "Demo" }
    }))
}

/// `GET /v1/orders/{id}`: the Orders API's shape (amounts as decimal strings).
async fn order(path: web::Path<String>, sandbox: web::Data<Sandbox>) -> HttpResponse {
    let id = path.into_inner();
    let Some(found) = sandbox.orders.get(&id).map(|o| o.clone()) else {
        return HttpResponse::NotFound()
            .json(json!({ "message": "Order not found", "status": 404 }));
    };
    let (status, detail) = found
        .status
        .lock()
        .map(|s| *s)
        .unwrap_or(("created", "created"));
    HttpResponse::Ok().json(json!({
        "id": id, "type": "online", "status": status, "status_detail": detail,
        "external_reference": found.reference, "user_id": found.collector, "currency": "ARS",
        "total_amount": found.amount, "total_paid_amount": found.amount,
        "created_date": "2026-12-04T12:00:00.000Z", "last_updated_date": "2026-12-04T12:00:05.000Z",
        "payer": { "email": found.email, "first_name": "Cliente", "last_name": "Orders" },
        "transactions": { "payments": [{
            "id": found.payment_id, "status": status, "status_detail": detail,
            "amount": found.amount, "paid_amount": found.amount, "refunded_amount": "0.00",
            "payment_method": { "id": "master", "type": "credit_card", "installments": 1 }
        }] }
    }))
}

async fn chargeback(path: web::Path<String>, sandbox: web::Data<Sandbox>) -> HttpResponse {
    match sandbox.chargebacks.get(&path.into_inner()) {
        Some(found) => HttpResponse::Ok().json(found.value()),
        None => HttpResponse::NotFound().json(json!({ "message": "Chargeback not found" })),
    }
}

/// The MercadoPago account the sandbox's authorization page signs in as: the demo's shop that
/// starts without a token.
pub const SANDBOX_SELLER: &str = "1004004";

#[derive(serde::Deserialize)]
struct AuthorizationQuery {
    redirect_uri: String,
    state: String,
}

/// MercadoPago's authorization page, played: one button that sends the seller back to Cobro with
/// a code, as MercadoPago does after the seller agrees.
async fn authorization_page(query: web::Query<AuthorizationQuery>) -> HttpResponse {
    let Ok(mut back) = url::Url::parse(&query.redirect_uri) else {
        return HttpResponse::BadRequest().body("sandbox: redirect_uri is not a URL");
    };
    back.query_pairs_mut()
        .append_pair("code", &format!("TG-sandbox-{}", rand::random::<u32>()))
        .append_pair("state", &query.state);
    let mut denied = url::Url::clone(&back);
    denied
        .query_pairs_mut()
        .clear()
        .append_pair("error", "access_denied")
        .append_pair("state", &query.state);
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>MercadoPago (sandbox)</title>\
         <style>body{{font:16px system-ui,sans-serif;max-width:30rem;margin:4rem auto}}\
         a{{display:inline-block;margin-right:1rem;padding:.6rem 1rem;border-radius:8px;text-decoration:none}}\
         #authorize{{background:#009ee3;color:#fff}}#deny{{border:1px solid #ccc;color:#333}}</style></head>\
         <body><p><b>SANDBOX</b>: this page plays MercadoPago's.</p>\
         <h1>Allow Cobro to use your MercadoPago account?</h1>\
         <p>Signed in as seller {SANDBOX_SELLER}.</p>\
         <a id=\"authorize\" href=\"{}\">Allow</a><a id=\"deny\" href=\"{}\">Cancel</a></body></html>",
        html_escape::encode_double_quoted_attribute(back.as_str()),
        html_escape::encode_double_quoted_attribute(denied.as_str()),
    );
    tracing::info!(
        sandbox = true,
        "sandbox MercadoPago shows its authorization page"
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page)
}

/// `POST /oauth/token`: any code or refresh token is granted, for [`SANDBOX_SELLER`].
async fn token(form: web::Form<std::collections::HashMap<String, String>>) -> HttpResponse {
    let grant_type = form
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or_default();
    tracing::info!(
        sandbox = true,
        grant_type,
        "sandbox MercadoPago grants a token"
    );
    HttpResponse::Ok().json(json!({
        "access_token": format!("APP_USR-sandbox-{}", rand::random::<u32>()),
        "token_type": "Bearer", "expires_in": 15_552_000, "scope": "offline_access read write",
        "user_id": SANDBOX_SELLER.parse::<u64>().unwrap_or_default(),
        "refresh_token": format!("TG-sandbox-{}", rand::random::<u32>()), "live_mode": false
    }))
}
