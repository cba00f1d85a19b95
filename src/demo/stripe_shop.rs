//! The demo's Stripe shop (issue 24): a fourth shop sells abroad through Stripe Connect. The
//! sandbox plays Stripe's PaymentIntents API on the shop's connected account ([`intent`]), and
//! [`run`] sells on a clock of its own: card payments in dollars, one in Chilean pesos (a
//! zero-decimal currency), a declined card, and a payment `processing` first and `succeeded` a
//! few seconds later; each announced by a test-mode event signed as Stripe signs them.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::generator::DemoTenant;
use super::sandbox::Sandbox;
use crate::provider::stripe::signature;
use crate::state::AppState;
use crate::store::orders::{self, NewOrder};

/// The Connect endpoint's signing secret in the demo.
pub const DEMO_STRIPE_SECRET: &str = "whsec_cobro_demo_endpoint";
/// The shop's connected account.
pub const DEMO_STRIPE_ACCOUNT: &str = "acct_1CobroDemoShop";

/// What the sandbox's Stripe says about one PaymentIntent.
pub struct SandboxIntent {
    pub status: std::sync::Mutex<&'static str>,
    /// In the currency's minor unit, as Stripe counts.
    pub amount: i64,
    pub currency: &'static str,
    pub order: Option<String>,
    pub email: String,
    pub declined: bool,
}

/// `GET /v1/payment_intents/{id}`, with its latest charge, on the shop's account only.
pub async fn intent(
    request: actix_web::HttpRequest,
    path: web::Path<String>,
    sandbox: web::Data<Sandbox>,
) -> HttpResponse {
    let id = path.into_inner();
    let account = request.headers().get("stripe-account");
    let found = sandbox.intents.get(&id).map(|i| i.clone());
    let (Some(found), true) = (found, account.is_some_and(|a| a == DEMO_STRIPE_ACCOUNT)) else {
        return HttpResponse::NotFound().json(json!({ "error": {
            "code": "resource_missing", "message": format!("No such payment_intent: '{id}'") } }));
    };
    let status = found.status.lock().map(|s| *s).unwrap_or("processing");
    let error = found.declined.then(|| {
        json!({ "code": "card_declined", "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds." })
    });
    HttpResponse::Ok().json(json!({
        "id": id, "object": "payment_intent", "amount": found.amount, "currency": found.currency,
        "status": status, "created": chrono::Utc::now().timestamp(), "livemode": false,
        "last_payment_error": error, "metadata": { "cobro_order_id": found.order },
        "latest_charge": { "id": format!("ch_{id}"), "object": "charge", "refunded": false,
            "amount_refunded": 0, "disputed": false, "created": chrono::Utc::now().timestamp(),
            "billing_details": { "email": found.email, "name": "Customer Demo" },
            "payment_method_details": { "type": "card", "card": { "brand": "mastercard" } } }
    }))
}

/// Sells one sale every `every` until the process stops.
pub async fn run(
    state: AppState,
    sandbox: Sandbox,
    tenant: DemoTenant,
    base_url: String,
    every: Duration,
) {
    let http = reqwest::Client::new();
    let mut ticker = tokio::time::interval(every);
    for seq in 0u64.. {
        ticker.tick().await;
        let sale = Sale::for_sequence(seq);
        let order = create_order(&state, &tenant, &sale, seq).await;
        let id = format!("pi_demo{seq:06}");
        let intent = Arc::new(SandboxIntent {
            status: std::sync::Mutex::new(sale.first),
            amount: sale.amount,
            currency: sale.currency,
            order,
            email: format!("customer{}@example.com", seq % 11),
            declined: sale.first == "requires_payment_method",
        });
        sandbox.intents.insert(id.clone(), intent.clone());
        send(&http, &base_url, &id, sale.event, seq * 10).await;
        if let Some((later, event, delay)) = sale.then {
            let (http, base_url) = (http.clone(), base_url.clone());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Ok(mut status) = intent.status.lock() {
                    *status = later;
                }
                send(&http, &base_url, &id, event, seq * 10 + 1).await;
            });
        }
    }
}

/// One sale of the cycle.
struct Sale {
    first: &'static str,
    event: &'static str,
    then: Option<(&'static str, &'static str, Duration)>,
    amount: i64,
    currency: &'static str,
}

impl Sale {
    fn for_sequence(seq: u64) -> Self {
        let paid = Sale {
            first: "succeeded",
            event: "payment_intent.succeeded",
            then: None,
            amount: 1900 + (seq % 5) as i64 * 1000,
            currency: "usd",
        };
        match seq % 6 {
            2 => Sale {
                amount: 45_000,
                currency: "clp",
                ..paid
            },
            4 => Sale {
                first: "requires_payment_method",
                event: "payment_intent.payment_failed",
                ..paid
            },
            5 => Sale {
                first: "processing",
                event: "payment_intent.processing",
                then: Some((
                    "succeeded",
                    "payment_intent.succeeded",
                    Duration::from_secs(3),
                )),
                ..paid
            },
            _ => paid,
        }
    }
}

async fn create_order(
    state: &AppState,
    tenant: &DemoTenant,
    sale: &Sale,
    seq: u64,
) -> Option<String> {
    let exponent = crate::provider::stripe::status::exponent(sale.currency);
    let new = NewOrder {
        amount: sale.amount as f64 / 10f64.powi(exponent as i32),
        currency: sale.currency.to_ascii_uppercase(),
        description: ["Online course", "Ebook", "Consulting hour"][(seq % 3) as usize].into(),
        customer_email: Some(format!("customer{}@example.com", seq % 11)),
    };
    orders::create(&state.services.db, tenant.id, new)
        .await
        .ok()
        .map(|o| o.id.to_string())
}

/// Posts a test-mode event about `intent`, signed now with the demo's endpoint secret.
async fn send(http: &reqwest::Client, base_url: &str, intent: &str, kind: &str, n: u64) {
    let event = json!({ "id": format!("evt_demo{n:08}"), "object": "event", "type": kind,
        "account": DEMO_STRIPE_ACCOUNT, "livemode": false, "created": chrono::Utc::now().timestamp(),
        "api_version": "2025-11-17.clover",
        "data": { "object": { "id": intent, "object": "payment_intent" } } });
    let body = event.to_string();
    let t = chrono::Utc::now().timestamp();
    let v1 = signature::sign(DEMO_STRIPE_SECRET, t, body.as_bytes());
    let sent = http
        .post(format!("{base_url}/webhooks/stripe"))
        .header("content-type", "application/json")
        .header("stripe-signature", format!("t={t},v1={v1}"))
        .body(body)
        .send()
        .await;
    if let Err(err) = sent {
        tracing::warn!(error = %err, "the demo's Stripe event did not reach Cobro");
    }
}
