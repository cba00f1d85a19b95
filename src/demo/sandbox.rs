//! The demo's built-in MercadoPago and GoHighLevel: a small local HTTP server that answers the
//! calls Cobro makes, from payments the generator registers. Every answer it gives is labelled
//! sandbox in the logs; nothing leaves the machine.

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

#[derive(Default, Clone)]
pub struct Sandbox {
    pub payments: Arc<DashMap<String, Arc<SandboxPayment>>>,
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
                .route("/v1/payments/{id}", web::get().to(payment))
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
