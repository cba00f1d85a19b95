//! The demo's traffic: realistic signed MercadoPago notifications for the demo tenants, one every
//! `1/rate` seconds, cycling through what happens in a real shop: approvals (some for orders),
//! rejections, a payment pending then approved, a refund, a MercadoPago hiccup that a retry
//! absorbs, and now and then an outage that ends as a failed event to retry by hand.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use serde_json::json;

use super::sandbox::{Sandbox, SandboxPayment};
use crate::domain::TenantId;
use crate::provider::mercadopago::signature;
use crate::state::AppState;
use crate::store::orders::{self, NewOrder};

pub const DEMO_SECRET: &str = "cobro-demo-webhook-secret";

#[derive(Clone)]
pub struct DemoTenant {
    pub id: TenantId,
    pub name: String,
    pub mp_user_id: String,
    pub token: String,
}

/// Sends notifications until the process stops.
pub async fn run(
    state: AppState,
    sandbox: Sandbox,
    tenants: Vec<DemoTenant>,
    base_url: String,
    rate: f64,
) {
    let http = reqwest::Client::new();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.1)));
    for seq in 0u64.. {
        ticker.tick().await;
        let tenant = &tenants[(seq % tenants.len() as u64) as usize];
        let payment_id = (151_000_000_000 + seq).to_string();
        let step = Step::for_sequence(seq);
        let order = match step.with_order {
            true => create_order(&state, tenant, seq).await,
            false => None,
        };
        let payment = Arc::new(SandboxPayment {
            collector: tenant.mp_user_id.clone(),
            status: std::sync::Mutex::new(step.first),
            order,
            email: format!("cliente{}@example.com", seq % 17),
            amount: 1500.0 + (seq % 9) as f64 * 1250.0,
            failures_left: AtomicU32::new(step.hiccups),
            broken: step.broken,
        });
        sandbox.payments.insert(payment_id.clone(), payment.clone());
        notify(&http, &base_url, tenant, &payment_id, seq * 10).await;
        if let Some((later, delay)) = step.then {
            let (http, base_url, tenant) = (http.clone(), base_url.clone(), tenant.clone());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Ok(mut status) = payment.status.lock() {
                    *status = later;
                }
                notify(&http, &base_url, &tenant, &payment_id, seq * 10 + 1).await;
            });
        }
    }
}

/// One scenario of the cycle.
struct Step {
    first: &'static str,
    then: Option<(&'static str, Duration)>,
    with_order: bool,
    hiccups: u32,
    broken: bool,
}

impl Step {
    fn for_sequence(seq: u64) -> Self {
        let plain = |first| Step {
            first,
            then: None,
            with_order: seq.is_multiple_of(2),
            hiccups: 0,
            broken: false,
        };
        match seq % 12 {
            5 => plain("rejected"),
            6 => Step {
                then: Some(("approved", Duration::from_secs(3))),
                ..plain("pending")
            },
            7 => Step {
                then: Some(("refunded", Duration::from_secs(4))),
                with_order: true,
                ..plain("approved")
            },
            8 => Step {
                hiccups: 1,
                ..plain("approved")
            },
            10 => plain("in_process"),
            11 => Step {
                broken: seq % 24 == 11,
                ..plain("approved")
            },
            _ => plain("approved"),
        }
    }
}

async fn create_order(state: &AppState, tenant: &DemoTenant, seq: u64) -> Option<String> {
    let new = NewOrder {
        amount: 1500.0 + (seq % 9) as f64 * 1250.0,
        currency: "ARS".into(),
        description: ["Curso online", "Remera", "Café en grano", "Suscripción"][(seq % 4) as usize]
            .into(),
        customer_email: Some(format!("cliente{}@example.com", seq % 17)),
    };
    orders::create(&state.services.db, tenant.id, new)
        .await
        .ok()
        .map(|o| o.id.to_string())
}

/// A notification exactly as MercadoPago sends it, signed with the demo secret.
async fn notify(
    http: &reqwest::Client,
    base_url: &str,
    tenant: &DemoTenant,
    payment_id: &str,
    id: u64,
) {
    let request_id = uuid::Uuid::new_v4().to_string();
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    let v1 = signature::sign(
        DEMO_SECRET.as_bytes(),
        &signature::manifest(Some(payment_id), Some(&request_id), &ts),
    );
    let body = json!({ "id": 120_000_000_000u64 + id, "live_mode": false, "type": "payment",
        "date_created": chrono::Utc::now().to_rfc3339(), "user_id": tenant.mp_user_id,
        "api_version": "v1", "action": if id.is_multiple_of(10) { "payment.created" } else { "payment.updated" },
        "data": { "id": payment_id } });
    let sent = http
        .post(format!(
            "{base_url}/webhooks/mp?data.id={payment_id}&type=payment"
        ))
        .header("x-request-id", request_id)
        .header("x-signature", format!("ts={ts},v1={v1}"))
        .json(&body)
        .send()
        .await;
    if let Err(err) = sent {
        tracing::warn!(sandbox = true, error = %err, "demo webhook not delivered");
    }
}
