//! Issue 24: one seller's MercadoPago and Stripe events share its one serial queue, over real
//! HTTP to both fakes (SQLite and PostgreSQL): their calls never overlap and follow arrival
//! order across providers; then search, the CSV export and the charts see both providers.

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::e2e_stripe_processing::{ACCOUNT, accepted, intent_event, read};
use crate::utils::ADMIN;
use crate::utils::stripe::{StripeApp, intent};

/// Answers `body` after `delay`, noting when each call arrived and its path, in one list shared
/// by both fakes.
struct Witness {
    calls: std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, String)>>>,
    body: Value,
    delay: std::time::Duration,
}

impl wiremock::Respond for Witness {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push((std::time::Instant::now(), request.url.path().to_owned()));
        }
        ResponseTemplate::new(200)
            .set_body_json(self.body.clone())
            .set_delay(self.delay)
    }
}

#[actix_web::test]
async fn one_sellers_mercadopago_and_stripe_events_run_one_at_a_time_in_arrival_order() {
    let stripe = StripeApp::spawn().await;
    let seller = "3200000006";
    let tenant = stripe.tenant(seller, ACCOUNT, None).await;
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let delay = std::time::Duration::from_millis(150);
    for n in 1..=3 {
        let mp_id = format!("88000{n}");
        Mock::given(method("GET"))
            .and(path(format!("/v1/payments/{mp_id}")))
            .respond_with(Witness {
                calls: calls.clone(),
                body: crate::utils::payment(&mp_id, "approved", seller, None),
                delay,
            })
            .mount(&stripe.app.mp)
            .await;
        let pi = format!("pi_mixed{n}");
        Mock::given(method("GET"))
            .and(path(format!("/v1/payment_intents/{pi}")))
            .respond_with(Witness {
                calls: calls.clone(),
                body: intent(&pi, "succeeded", 1000, "usd", None),
                delay,
            })
            .mount(&stripe.stripe)
            .await;
    }
    // Arrival order: MP, Stripe, MP, Stripe, MP, Stripe, each acknowledged before the next.
    let mut sent = Vec::new();
    let mut expected = Vec::new();
    for n in 1..=3u64 {
        let mp_id = format!("88000{n}");
        let (status, answer) = stripe.app.webhook(seller, &mp_id, 9000 + n).await;
        assert_eq!(status, 200, "{answer}");
        sent.push(answer["event_id"].as_str().expect("id").to_owned());
        expected.push(format!("/v1/payments/{mp_id}"));
        let pi = format!("pi_mixed{n}");
        sent.push(
            accepted(
                &stripe,
                &intent_event(n as usize, "succeeded", &pi, "succeeded"),
            )
            .await,
        );
        expected.push(format!("/v1/payment_intents/{pi}"));
    }
    for id in &sent {
        stripe.app.wait_status(&tenant, id, "success").await;
    }
    let calls = calls.lock().map(|c| c.clone()).unwrap_or_default();
    let paths: Vec<_> = calls.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(paths, expected, "in arrival order, across providers");
    for pair in calls.windows(2) {
        let gap = pair[1].0.duration_since(pair[0].0);
        assert!(
            gap >= delay,
            "{} began {gap:?} after {} began, before its {delay:?} answer: the calls overlapped",
            pair[1].1,
            pair[0].1
        );
    }

    // Search, the CSV and the charts see both providers.
    let count = |page: Value| page["items"].as_array().map_or(0, Vec::len);
    for provider in ["stripe", "mercadopago"] {
        let payments = read(&stripe, &tenant, &format!("payments?provider={provider}")).await;
        assert_eq!(count(payments.clone()), 3, "{provider}: {payments}");
        assert!(
            payments["items"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|p| p["provider"] == provider)
        );
        let events = read(&stripe, &tenant, &format!("events?provider={provider}")).await;
        assert_eq!(count(events), 3, "{provider}");
    }
    let (status, _) = stripe
        .app
        .get(
            &format!("/api/tenants/{}/payments?provider=paypal", tenant.id),
            ADMIN,
        )
        .await;
    assert_eq!(status, 400, "an unknown provider is a bad query");
    let csv = stripe
        .app
        .http
        .get(format!(
            "{}/api/tenants/{}/payments/export?provider=stripe",
            stripe.app.url, tenant.id
        ))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("export")
        .text()
        .await
        .unwrap_or_default();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].ends_with(",provider"), "{csv}");
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.starts_with("pi_mixed") && l.ends_with(",stripe")),
        "{csv}"
    );
    let stats = read(&stripe, &tenant, "stats").await;
    let mut per_currency: Vec<(String, f64)> = stats["approved_per_day"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["currency"].as_str().unwrap_or_default().to_owned(),
                d["amount"].as_f64().unwrap_or_default(),
            )
        })
        .collect();
    per_currency.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        per_currency,
        [("ARS".to_owned(), 135000.0), ("USD".to_owned(), 30.0)],
        "{stats}"
    );
}
