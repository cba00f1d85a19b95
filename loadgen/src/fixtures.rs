//! The servers a benchmark runs beside Cobro: the bare baseline endpoint and the instant
//! MercadoPago fake (which plays Stripe's PaymentIntents too). Both are plain actix-web, like Cobro itself.

use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

#[derive(clap::Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:9090")]
    bind: String,
    /// actix workers (threads); 0 = one per core, as Cobro uses.
    #[arg(long, default_value_t = 0)]
    workers: usize,
}

#[derive(clap::Args)]
pub struct FakeMpArgs {
    #[arg(long, default_value = "127.0.0.1:9091")]
    bind: String,
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Hold every answer this long (to keep events in flight for the drain scenario).
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
}

#[actix_web::main]
pub async fn serve_bare(args: ServeArgs) -> std::io::Result<()> {
    // As Cobro's server does: no Nagle delay on small writes.
    let mut server = HttpServer::new(|| App::new().route("/webhooks/mp", web::post().to(bare)))
        .tcp_nodelay(true);
    if args.workers > 0 {
        server = server.workers(args.workers);
    }
    server.bind(&args.bind)?.run().await
}

/// What every receiver must at least do: read the body as JSON and answer.
async fn bare(body: web::Bytes) -> HttpResponse {
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(_)) => HttpResponse::Ok().json(json!({ "status": "accepted" })),
        _ => HttpResponse::BadRequest().json(json!({ "error": "not a JSON object" })),
    }
}

#[actix_web::main]
pub async fn serve_fake_mp(args: FakeMpArgs) -> std::io::Result<()> {
    let delay = Duration::from_millis(args.delay_ms);
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(delay))
            .route("/v1/payments/{id}", web::get().to(payment))
            .route("/v1/payment_intents/{id}", web::get().to(payment_intent))
    })
    .workers(args.workers)
    // Without it an answer could wait for the client's delayed ACK (~40 ms): a tenant fetches one
    // payment at a time, so the drain measured the stand-in's Nagle delays, not Cobro.
    .tcp_nodelay(true)
    .bind(&args.bind)?
    .run()
    .await
}

async fn payment(path: web::Path<u64>, delay: web::Data<Duration>) -> HttpResponse {
    if !delay.is_zero() {
        tokio::time::sleep(**delay).await;
    }
    let id = path.into_inner();
    HttpResponse::Ok().json(json!({
        "id": id, "status": "approved", "status_detail": "accredited",
        "collector_id": id / 1_000_000_000, "transaction_amount": 100.0, "currency_id": "BRL",
        "payment_method_id": "pix", "date_approved": "2026-11-23T12:00:00.000-03:00",
        "payer": { "email": format!("buyer{id}@example.com"), "first_name": "Ana", "last_name": "Souza" }
    }))
}

/// Stripe's `GET /v1/payment_intents/pi_<n>`: a succeeded intent of 100.00 BRL, its charge
/// expanded, on whatever account asked.
async fn payment_intent(path: web::Path<String>, delay: web::Data<Duration>) -> HttpResponse {
    if !delay.is_zero() {
        tokio::time::sleep(**delay).await;
    }
    let id = path.into_inner();
    HttpResponse::Ok().json(json!({
        "id": id, "object": "payment_intent", "status": "succeeded", "amount": 10000, "currency": "brl",
        "created": 1764872390, "last_payment_error": null, "metadata": {},
        "latest_charge": { "id": format!("ch_{id}"), "created": 1764872400, "refunded": false,
            "amount_refunded": 0, "disputed": false,
            "billing_details": { "email": format!("buyer{id}@example.com"), "name": "Ana Souza" },
            "payment_method_details": { "type": "card", "card": { "brand": "visa" } } }
    }))
}
