//! SPEC §19's processing over real HTTP to a fake Stripe, on SQLite and PostgreSQL: every row of
//! the status table with zero- and two-decimal amounts, the API winning over the event's
//! snapshot and over delivery order, disputes (held, lost, won) with their evidence deadline, a
//! Checkout Session's `client_reference_id`, the WebSocket update, GoHighLevel tagged once,
//! retries after a 5xx and a readable failure on a refused key. One seller on both providers is
//! `e2e_stripe_mixed`, which shares this file's helpers.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::utils::stripe::{StripeApp, WHSEC, dispute, event, intent};
use crate::utils::{ADMIN, Tenant};

pub const ACCOUNT: &str = "acct_1QpXsellerStripe02";

/// A Cobro order of `amount` `currency`; answers its id.
async fn order(stripe: &StripeApp, tenant: &Tenant, amount: f64, currency: &str) -> String {
    let body = json!({ "amount": amount, "currency": currency, "description": "Curso" });
    let orders = format!("/api/tenants/{}/orders", tenant.id);
    let (status, order) = stripe.app.post(&orders, &tenant.token, body).await;
    assert_eq!(status, 201, "{order}");
    order["id"].as_str().expect("order id").to_owned()
}

/// Sends `event` signed; answers the accepted event's id.
pub async fn accepted(stripe: &StripeApp, event: &Value) -> String {
    let (status, answer) = stripe.send(event, WHSEC).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    answer["event_id"].as_str().expect("event id").to_owned()
}

pub async fn read(stripe: &StripeApp, tenant: &Tenant, what: &str) -> Value {
    let (status, body) = stripe
        .app
        .get(&format!("/api/tenants/{}/{what}", tenant.id), ADMIN)
        .await;
    assert_eq!(status, 200, "{what}: {body}");
    body
}

/// `payment_intent.<kind>` about `pi`, its snapshot saying `snapshot_status`.
pub fn intent_event(n: usize, kind: &str, pi: &str, snapshot_status: &str) -> Value {
    let object = json!({ "id": pi, "object": "payment_intent", "status": snapshot_status });
    event(
        &format!("evt_{pi}_{n}"),
        &format!("payment_intent.{kind}"),
        Some(ACCOUNT),
        object,
    )
}

#[actix_web::test]
async fn every_row_of_the_status_table_moves_the_payment_and_its_order() {
    let stripe = StripeApp::spawn().await;
    let tenant = stripe.tenant("3200000001", ACCOUNT, None).await;
    let error = json!({ "code": "card_declined", "decline_code": "insufficient_funds" });
    // (intent status, last_payment_error, refunded) → (payment, order), each announced by the
    // event type Stripe sends for it (`kinds`).
    let rows: [(&str, Option<&Value>, bool, &str, &str); 7] = [
        ("succeeded", None, false, "APPROVED", "PAID"),
        ("processing", None, false, "IN_PROCESS", "PENDING_PAYMENT"),
        ("requires_action", None, false, "PENDING", "PENDING_PAYMENT"),
        (
            "requires_capture",
            None,
            false,
            "AUTHORIZED",
            "PENDING_PAYMENT",
        ),
        (
            "requires_payment_method",
            Some(&error),
            false,
            "REJECTED",
            "REJECTED",
        ),
        ("canceled", None, false, "CANCELLED", "CANCELLED"),
        ("succeeded", None, true, "REFUNDED", "REFUNDED"),
    ];
    let kinds = [
        "payment_intent.succeeded",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "payment_intent.amount_capturable_updated",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "charge.refunded",
    ];
    for (n, (status, failed, refunded, payment_status, order_status)) in
        rows.into_iter().enumerate()
    {
        let order = order(&stripe, &tenant, 150000.0, "CLP").await;
        let pi = format!("pi_row{n}");
        let mut served = intent(&pi, status, 150000, "clp", Some(&order));
        served["last_payment_error"] = failed.cloned().unwrap_or(Value::Null);
        if refunded {
            served["latest_charge"]["refunded"] = json!(true);
            served["latest_charge"]["amount_refunded"] = json!(150000);
        }
        stripe.serves_intent(ACCOUNT, &served).await;
        // The snapshot always says `succeeded`: only the API's answer decides.
        let object = match kinds[n] {
            "charge.refunded" => {
                json!({ "id": format!("ch_{pi}"), "object": "charge", "payment_intent": pi })
            }
            _ => json!({ "id": pi, "object": "payment_intent", "status": "succeeded" }),
        };
        let sent = event(&format!("evt_row{n}"), kinds[n], Some(ACCOUNT), object);
        let id = accepted(&stripe, &sent).await;
        let stored = stripe.app.wait_status(&tenant, &id, "success").await;
        assert_eq!(stored["webhook_type"], kinds[n]);
        let payment = read(&stripe, &tenant, &format!("payments/{pi}")).await;
        assert_eq!(payment["status"], payment_status, "{status}: {payment}");
        assert_eq!(payment["provider"], "stripe");
        assert_eq!(payment["mp_status"], status);
        assert_eq!(payment["order_id"], json!(order));
        let stored = read(&stripe, &tenant, &format!("orders/{order}")).await;
        assert_eq!(stored["status"], order_status, "{status}: {stored}");
        if n == 0 {
            // CLP has no minor unit: 150000 is 150000 pesos.
            assert_eq!(payment["transaction_amount"], json!(150000.0));
            assert_eq!(payment["amount"], "150000");
            assert_eq!(payment["currency_id"], "CLP");
            assert_eq!(payment["payer_email"], "comprador@example.com");
            assert_eq!(payment["payer_name"], "Ana Pérez");
            assert_eq!(payment["payment_method"], "visa");
        }
        if failed.is_some() {
            assert_eq!(payment["status_detail"], "insufficient_funds");
        }
        if refunded {
            assert_eq!(payment["refunded_amount"], "150000");
        }
    }
    // Two decimals: 1999 cents is 19.99 dollars.
    let order = order(&stripe, &tenant, 19.99, "USD").await;
    stripe
        .serves_intent(
            ACCOUNT,
            &intent("pi_usd", "succeeded", 1999, "usd", Some(&order)),
        )
        .await;
    let id = accepted(
        &stripe,
        &intent_event(0, "succeeded", "pi_usd", "succeeded"),
    )
    .await;
    stripe.app.wait_status(&tenant, &id, "success").await;
    let payment = read(&stripe, &tenant, "payments/pi_usd").await;
    assert_eq!(
        (
            payment["transaction_amount"].clone(),
            payment["amount"].clone()
        ),
        (json!(19.99), json!("19.99"))
    );
}

#[actix_web::test]
async fn the_api_wins_over_the_snapshot_and_over_delivery_order() {
    let stripe = StripeApp::spawn().await;
    let tenant = stripe
        .tenant("3200000002", ACCOUNT, Some("cliente-stripe"))
        .await;
    stripe.app.ghl_accepts().await;
    let order = order(&stripe, &tenant, 19.99, "USD").await;
    stripe
        .serves_intent(
            ACCOUNT,
            &intent("pi_late", "succeeded", 1999, "usd", Some(&order)),
        )
        .await;
    // `succeeded` arrives before `processing`, whose snapshot still says processing.
    let first = accepted(
        &stripe,
        &intent_event(1, "succeeded", "pi_late", "succeeded"),
    )
    .await;
    stripe.app.wait_status(&tenant, &first, "success").await;
    let second = accepted(
        &stripe,
        &intent_event(2, "processing", "pi_late", "processing"),
    )
    .await;
    stripe.app.wait_status(&tenant, &second, "success").await;

    let payment = read(&stripe, &tenant, "payments/pi_late").await;
    assert_eq!(payment["status"], "APPROVED", "{payment}");
    let stored = read(&stripe, &tenant, &format!("orders/{order}")).await;
    assert_eq!(stored["status"], "PAID");
    assert_eq!(
        stripe.paths().await,
        ["/v1/payment_intents/pi_late", "/v1/payment_intents/pi_late"],
        "each event fetched the intent"
    );
    assert!(payment["ghl_tagged_at"].is_string(), "{payment}");
    let tags = stripe.app.ghl.received_requests().await.unwrap_or_default();
    let tagged = tags
        .iter()
        .filter(|r| r.url.path().ends_with("/tags"))
        .count();
    assert_eq!(tagged, 1, "the buyer is tagged once");

    // The WebSocket update names the provider and the text id; mpPaymentId is MercadoPago's.
    let updates = stripe.app.recorder.payment_updates();
    assert_eq!(updates.len(), 2);
    let wire = serde_json::to_value(&updates[0]).expect("json");
    assert_eq!(wire["provider"], "stripe");
    assert_eq!(wire["paymentId"], "pi_late");
    assert_eq!(wire["mpPaymentId"], Value::Null);
    assert_eq!(wire["mappedOrderStatus"], "PAID");
    assert_eq!(wire["orderId"], json!(order));
}

#[actix_web::test]
async fn a_dispute_holds_the_payment_then_loses_it_or_gives_it_back() {
    let stripe = StripeApp::spawn().await;
    let tenant = stripe.tenant("3200000003", ACCOUNT, None).await;
    let order_lost = order(&stripe, &tenant, 50000.0, "CLP").await;
    let order_won = order(&stripe, &tenant, 50000.0, "CLP").await;
    for (pi, order) in [("pi_lost", &order_lost), ("pi_won", &order_won)] {
        stripe
            .serves_intent(ACCOUNT, &intent(pi, "succeeded", 50000, "clp", Some(order)))
            .await;
        let id = accepted(&stripe, &intent_event(0, "succeeded", pi, "succeeded")).await;
        stripe.app.wait_status(&tenant, &id, "success").await;
    }

    let orders = [
        ("pi_lost", order_lost.clone()),
        ("pi_won", order_won.clone()),
    ];
    let step = |n: usize, pi: &'static str, status: &'static str| {
        let (stripe, orders) = (&stripe, &orders);
        async move {
            stripe.stripe.reset().await;
            let order = orders
                .iter()
                .find(|(p, _)| *p == pi)
                .map(|(_, o)| o.as_str());
            let mut disputed = intent(pi, "succeeded", 50000, "clp", order);
            disputed["latest_charge"]["disputed"] = json!(true);
            let dp = format!("dp_{pi}");
            stripe.serves_intent(ACCOUNT, &disputed).await;
            stripe
                .serves_dispute(ACCOUNT, &dispute(&dp, pi, status, 50000, "clp"))
                .await;
            let kind = match status {
                "needs_response" => "charge.dispute.created",
                "under_review" => "charge.dispute.updated",
                _ => "charge.dispute.closed",
            };
            let object = json!({ "id": dp, "object": "dispute", "payment_intent": pi,
                "status": "needs_response" });
            let sent = event(&format!("evt_{dp}_{n}"), kind, Some(ACCOUNT), object);
            accepted(stripe, &sent).await
        }
    };
    // Opened: IN_MEDIATION, the order left as it is, the deadline shown.
    let id = step(1, "pi_lost", "needs_response").await;
    let event = stripe.app.wait_status(&tenant, &id, "success").await;
    assert_eq!(
        (
            event["resource_type"].as_str(),
            event["resource_id"].as_str()
        ),
        (Some("chargeback"), Some("dp_pi_lost"))
    );
    let payment = read(&stripe, &tenant, "payments/pi_lost").await;
    assert_eq!(payment["status"], "IN_MEDIATION", "{payment}");
    assert_eq!(payment["dispute"]["id"], "dp_pi_lost");
    assert_eq!(payment["dispute"]["documentation_status"], "needs_response");
    assert_eq!(
        payment["dispute"]["date_documentation_deadline"],
        "2025-12-11T20:26:40+00:00"
    );
    assert_eq!(payment["dispute"]["amount"], json!(50000.0));
    let stored = read(&stripe, &tenant, &format!("orders/{order_lost}")).await;
    assert_eq!(stored["status"], "PAID", "an open dispute leaves the order");
    // Lost: charged back, and the order with it.
    let id = step(2, "pi_lost", "lost").await;
    stripe.app.wait_status(&tenant, &id, "success").await;
    let payment = read(&stripe, &tenant, "payments/pi_lost").await;
    assert_eq!(payment["status"], "CHARGED_BACK", "{payment}");
    let stored = read(&stripe, &tenant, &format!("orders/{order_lost}")).await;
    assert_eq!(stored["status"], "CHARGED_BACK");
    // Won: the payment is approved again; the order is left as it is.
    let id = step(3, "pi_won", "under_review").await;
    stripe.app.wait_status(&tenant, &id, "success").await;
    assert_eq!(
        read(&stripe, &tenant, "payments/pi_won").await["status"],
        "IN_MEDIATION"
    );
    let id = step(4, "pi_won", "won").await;
    stripe.app.wait_status(&tenant, &id, "success").await;
    assert_eq!(
        read(&stripe, &tenant, "payments/pi_won").await["status"],
        "APPROVED"
    );
    let stored = read(&stripe, &tenant, &format!("orders/{order_won}")).await;
    assert_eq!(stored["status"], "PAID");
}

#[actix_web::test]
async fn a_checkout_session_finds_its_order_by_client_reference_id() {
    let stripe = StripeApp::spawn().await;
    let tenant = stripe
        .tenant("3200000004", "acct_1QpXsellerFixture01", None)
        .await;
    let order = order(&stripe, &tenant, 150000.0, "CLP").await;
    // The fixture's intent without metadata: only the session names the order.
    let mut served = crate::utils::fixture("stripe/payment_intent_succeeded.json");
    served["metadata"] = json!({});
    stripe
        .serves_intent("acct_1QpXsellerFixture01", &served)
        .await;
    let mut sent = crate::utils::fixture("stripe/event_checkout_session_completed.json");
    sent["data"]["object"]["client_reference_id"] = json!(order);
    let id = accepted(&stripe, &sent).await;
    stripe.app.wait_status(&tenant, &id, "success").await;
    // An asynchronous payment's outcome comes as its own session event, processed the same way.
    sent["id"] = json!("evt_async_succeeded");
    sent["type"] = json!("checkout.session.async_payment_succeeded");
    let id = accepted(&stripe, &sent).await;
    stripe.app.wait_status(&tenant, &id, "success").await;
    let payment = read(&stripe, &tenant, "payments/pi_3QpXcobroFixture0001").await;
    assert_eq!(payment["external_reference"], json!(order), "{payment}");
    assert_eq!(payment["amount"], "150000");
    let stored = read(&stripe, &tenant, &format!("orders/{order}")).await;
    assert_eq!(stored["status"], "PAID");
}

#[actix_web::test]
async fn a_5xx_is_retried_and_a_refused_key_fails_with_a_readable_reason() {
    let stripe = StripeApp::spawn().await;
    let tenant = stripe.tenant("3200000005", ACCOUNT, None).await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents/pi_flaky"))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&stripe.stripe)
        .await;
    stripe
        .serves_intent(ACCOUNT, &intent("pi_flaky", "succeeded", 1000, "usd", None))
        .await;
    let id = accepted(
        &stripe,
        &intent_event(0, "succeeded", "pi_flaky", "succeeded"),
    )
    .await;
    let event = stripe.app.wait_status(&tenant, &id, "success").await;
    assert_eq!(event["attempts"], 2, "{event}");
    let outcomes: Vec<_> = event["history"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a["outcome"].clone())
        .collect();
    assert_eq!(outcomes, [json!("retry"), json!("success")]);

    Mock::given(method("GET"))
        .and(path("/v1/payment_intents/pi_refused"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": { "type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_***" } })))
        .mount(&stripe.stripe)
        .await;
    let id = accepted(
        &stripe,
        &intent_event(0, "succeeded", "pi_refused", "succeeded"),
    )
    .await;
    let event = stripe.app.wait_status(&tenant, &id, "failed").await;
    assert_eq!(
        event["attempts"], 1,
        "a refused key is not retried: {event}"
    );
    let reason = event["last_error"].as_str().unwrap_or_default();
    assert!(reason.contains("COBRO_STRIPE_SECRET_KEY"), "{reason}");
}
