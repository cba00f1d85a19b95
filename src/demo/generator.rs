//! The demo's traffic: realistic signed MercadoPago notifications for the demo tenants, one every
//! `1/rate` seconds, cycling through what happens in a real shop: approvals (some for orders),
//! rejections, a payment pending then approved, a refund, a MercadoPago hiccup that a retry
//! absorbs, now and then an outage that ends as a failed event to retry by hand, a chargeback
//! with its documentation deadline, and a fraud alert on a paid order (the dashboard's red
//! banner). The third shop is integrated with the Orders API: its notifications are `order`
//! ones (SPEC §17), some first `action_required` then `processed` in a later version.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use serde_json::json;

use super::sandbox::{Sandbox, SandboxOrder, SandboxPayment};
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
        let index = (seq % tenants.len() as u64) as usize;
        let tenant = &tenants[index];
        if index == ORDERS_SHOP {
            let order = create_order(&state, tenant, seq).await;
            orders_api_sale(&http, &base_url, &sandbox, tenant, seq, order).await;
            continue;
        }
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
        if let Some(alert) = step.alert {
            let later = (
                http.clone(),
                base_url.clone(),
                tenant.clone(),
                sandbox.clone(),
            );
            tokio::spawn(alert.send(later, payment.clone(), payment_id.clone(), seq));
        }
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

/// The shop that sells through the Orders API (the third).
const ORDERS_SHOP: usize = 2;

/// One scenario of the cycle.
struct Step {
    first: &'static str,
    then: Option<(&'static str, Duration)>,
    with_order: bool,
    hiccups: u32,
    broken: bool,
    /// What MercadoPago says later about this sale.
    alert: Option<Alert>,
}

impl Step {
    fn for_sequence(seq: u64) -> Self {
        let plain = |first| Step {
            first,
            then: None,
            with_order: seq.is_multiple_of(2),
            hiccups: 0,
            broken: false,
            alert: None,
        };
        match seq % 96 {
            // A paid order MercadoPago then flags as fraud: cancel it, do not ship.
            1 => Step {
                with_order: true,
                alert: Some(Alert::Fraud),
                ..plain("approved")
            },
            // A sale the buyer disputes with the bank: documents are due in ten days.
            13 => Step {
                with_order: true,
                alert: Some(Alert::Chargeback),
                ..plain("approved")
            },
            _ => Self::regular(seq, plain),
        }
    }

    /// The payment shops get the sequence numbers that are not the Orders API shop's (those
    /// with `seq % 3 != 2`), so every scenario here sits on such a number.
    fn regular(seq: u64, plain: impl Fn(&'static str) -> Step) -> Step {
        match seq % 12 {
            1 => plain("rejected"),
            3 => Step {
                then: Some(("approved", Duration::from_secs(3))),
                ..plain("pending")
            },
            4 => Step {
                then: Some(("refunded", Duration::from_secs(4))),
                with_order: true,
                ..plain("approved")
            },
            6 => Step {
                hiccups: 1,
                ..plain("approved")
            },
            7 => plain("in_process"),
            9 => Step {
                broken: seq % 24 == 9,
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

/// What MercadoPago says about a sale some seconds after it was paid.
#[derive(Clone, Copy)]
enum Alert {
    Fraud,
    Chargeback,
}

impl Alert {
    async fn send(
        self,
        (http, base_url, tenant, sandbox): (reqwest::Client, String, DemoTenant, Sandbox),
        payment: Arc<SandboxPayment>,
        payment_id: String,
        seq: u64,
    ) {
        tokio::time::sleep(Duration::from_secs(4)).await;
        let numeric: u64 = payment_id.parse().unwrap_or_default();
        match self {
            Alert::Fraud => {
                let body = json!({ "action": "Created", "id": 130_000_000_000u64 + seq,
                    "type": "stop_delivery_op_wh", "data": { "payment_id": numeric, "site_id": "MLA",
                    "description": "Alerta de fraude: no entregues el producto y cancelá la venta." } });
                send(&http, &base_url, &tenant, "stop_delivery_op_wh", None, body).await;
            }
            Alert::Chargeback => {
                if let Ok(mut status) = payment.status.lock() {
                    *status = "charged_back";
                }
                let case = (233_000_000_000u64 + seq).to_string();
                let deadline = chrono::Utc::now() + chrono::Duration::days(10);
                sandbox.chargebacks.insert(
                    case.clone(),
                    json!({ "id": case, "payments": [numeric],
                    "currency": "ARS", "amount": payment.amount, "coverage_applied": false,
                    "documentation_required": true, "documentation_status": "pending",
                    "date_documentation_deadline": deadline.to_rfc3339(), "reason": "fraud" }),
                );
                let body = json!({ "actions": ["changed_case_status"], "id": 140_000_000_000u64 + seq,
                    "type": "topic_chargebacks_wh", "data": { "id": case, "payment_id": numeric, "site_id": "MLA" } });
                send(
                    &http,
                    &base_url,
                    &tenant,
                    "topic_chargebacks_wh",
                    Some(&case),
                    body,
                )
                .await;
            }
        }
    }
}

/// A sale of the Orders API shop: its order, processed at once or first waiting for the buyer
/// (`action_required`, version 1) then processed (version 2).
async fn orders_api_sale(
    http: &reqwest::Client,
    base_url: &str,
    sandbox: &Sandbox,
    tenant: &DemoTenant,
    seq: u64,
    reference: Option<String>,
) {
    let order_id = format!("ORD01DEMO{seq:010}");
    let waits = seq % 4 == 2;
    let first = match waits {
        true => ("action_required", "waiting_payment"),
        false => ("processed", "accredited"),
    };
    let order = Arc::new(SandboxOrder {
        collector: tenant.mp_user_id.clone(),
        status: std::sync::Mutex::new(first),
        reference,
        payment_id: format!("PAY01DEMO{seq:010}"),
        email: format!("cliente{}@example.com", seq % 17),
        amount: format!("{}.50", 2000 + (seq % 7) * 350),
    });
    sandbox.orders.insert(order_id.clone(), order.clone());
    send_order(http, base_url, tenant, &order_id, first.0, 1, seq).await;
    if waits {
        let (http, base_url, tenant) = (http.clone(), base_url.to_owned(), tenant.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            if let Ok(mut status) = order.status.lock() {
                *status = ("processed", "accredited");
            }
            send_order(&http, &base_url, &tenant, &order_id, "processed", 2, seq).await;
        });
    }
}

async fn send_order(
    http: &reqwest::Client,
    base_url: &str,
    tenant: &DemoTenant,
    order_id: &str,
    status: &str,
    version: u64,
    seq: u64,
) {
    let body = json!({ "action": format!("order.{status}"), "application_id": "sandbox-app",
        "id": 150_000_000_000u64 + seq * 10 + version,
        "type": "order", "data": { "id": order_id, "status": status, "version": version } });
    send(http, base_url, tenant, "order", Some(order_id), body).await;
}

/// A payment notification exactly as MercadoPago sends it.
async fn notify(
    http: &reqwest::Client,
    base_url: &str,
    tenant: &DemoTenant,
    payment_id: &str,
    id: u64,
) {
    let action = match id.is_multiple_of(10) {
        true => "payment.created",
        false => "payment.updated",
    };
    let body = json!({ "id": 120_000_000_000u64 + id, "action": action, "type": "payment",
        "data": { "id": payment_id } });
    send(http, base_url, tenant, "payment", Some(payment_id), body).await;
}

/// Posts a notification of `kind` for the tenant, signed with the demo secret over `data_id` (a
/// fraud alert has none); `body` gets the common envelope's fields.
async fn send(
    http: &reqwest::Client,
    base_url: &str,
    tenant: &DemoTenant,
    kind: &str,
    data_id: Option<&str>,
    mut body: serde_json::Value,
) {
    let request_id = uuid::Uuid::new_v4().to_string();
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    let v1 = signature::sign(
        DEMO_SECRET.as_bytes(),
        &signature::manifest(data_id, Some(&request_id), &ts),
    );
    body["live_mode"] = json!(false);
    body["api_version"] = json!("v1");
    body["user_id"] = json!(tenant.mp_user_id);
    body["date_created"] = json!(chrono::Utc::now().to_rfc3339());
    let query = match data_id {
        Some(id) => format!("data.id={id}&type={kind}"),
        None => format!("type={kind}"),
    };
    let sent = http
        .post(format!("{base_url}/webhooks/mp?{query}"))
        .header("x-request-id", request_id)
        .header("x-signature", format!("ts={ts},v1={v1}"))
        .json(&body)
        .send()
        .await;
    if let Err(err) = sent {
        tracing::warn!(sandbox = true, error = %err, "demo webhook not delivered");
    }
}
