//! SPEC §17's fraud alerts end to end, on SQLite and PostgreSQL: a paid order cancelled, the
//! GoHighLevel tag taken back and never added again, `fraudAlert` published, and the alert
//! processed ahead of the tenant's backlog of slow events.

use std::time::Duration;

use cobro::publish::StatusUpdate;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::utils::mp_topics::{SELLER, accepted, get, replay};
use crate::utils::{TestApp, payment, poll_for};

#[actix_web::test]
async fn a_fraud_alert_cancels_a_paid_order_and_takes_the_tag_back() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, Some("mp-pago-aprobado")).await;
    let order = app.create_order(&tenant).await;
    app.mp_serves("150211668619", "approved", SELLER, Some(&order))
        .await;
    app.ghl_accepts().await;
    Mock::given(method("DELETE"))
        .and(path("/contacts/contact-1/tags"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "tags": [] })))
        .mount(&app.ghl)
        .await;
    let (_, paid) = app.webhook(SELLER, "150211668619", 1).await;
    app.wait_status(
        &tenant,
        paid["event_id"].as_str().unwrap_or_default(),
        "success",
    )
    .await;
    assert_eq!(
        get(&app, &tenant, &format!("orders/{order}")).await["status"],
        "PAID"
    );

    // No data.id: the signature's manifest has no id part.
    let event = accepted(&replay(&app, "mp_webhook_fraud_alert.request.json").await);
    let event = app.wait_status(&tenant, &event, "success").await;
    assert_eq!(
        (
            event["resource_type"].as_str(),
            event["resource_id"].as_str()
        ),
        (Some("fraud_alert"), Some("150211668619"))
    );
    let stored = get(&app, &tenant, &format!("orders/{order}")).await;
    assert_eq!(
        (stored["status"].as_str(), stored["fraud_alert"].as_bool()),
        (Some("CANCELLED"), Some(true))
    );
    let payment = get(&app, &tenant, "payments/150211668619").await;
    assert_eq!(payment["fraud_alert"], true);
    assert!(
        payment["ghl_tagged_at"].is_null(),
        "the tag was taken back: {payment}"
    );
    let ghl = app.ghl.received_requests().await.unwrap_or_default();
    let removed: Vec<_> = ghl
        .iter()
        .filter(|r| r.method.as_str() == "DELETE")
        .collect();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].url.path(), "/contacts/contact-1/tags");
    let body: Value = serde_json::from_slice(&removed[0].body).unwrap_or_default();
    assert_eq!(body, json!({ "tags": ["mp-pago-aprobado"] }));
    let alerts: Vec<_> = app
        .recorder
        .all()
        .into_iter()
        .filter_map(|(_, _, u)| match u {
            StatusUpdate::FraudAlert(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0].order_id.as_deref(), alerts[0].payment_id.as_str()),
        (Some(order.as_str()), "150211668619")
    );
    assert!(
        alerts[0]
            .description
            .as_deref()
            .is_some_and(|d| d.contains("no entregues"))
    );

    // A later approval of the same payment neither re-opens the order nor tags the buyer again.
    let (_, again) = app.webhook(SELLER, "150211668619", 2).await;
    app.wait_status(
        &tenant,
        again["event_id"].as_str().unwrap_or_default(),
        "success",
    )
    .await;
    assert_eq!(
        get(&app, &tenant, &format!("orders/{order}")).await["status"],
        "CANCELLED"
    );
    let ghl = app.ghl.received_requests().await.unwrap_or_default();
    assert_eq!(
        ghl.iter()
            .filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/tags"))
            .count(),
        1
    );
}

#[actix_web::test]
async fn a_fraud_alert_goes_ahead_of_the_tenants_backlog() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    // A slow MercadoPago: each of 80 payments takes 60 ms, so the backlog lasts about 5 s.
    Mock::given(method("GET"))
        .and(path("/v1/payments/150211668619"))
        .respond_with(ResponseTemplate::new(200).set_body_json(payment(
            "150211668619",
            "approved",
            SELLER,
            None,
        )))
        .mount(&app.mp)
        .await;
    let mut backlog = Vec::new();
    for n in 0..80u64 {
        let id = format!("{}", 900_000 + n);
        Mock::given(method("GET"))
            .and(path(format!("/v1/payments/{id}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_delay(Duration::from_millis(60))
                    .set_body_json(payment(&id, "approved", SELLER, None)),
            )
            .mount(&app.mp)
            .await;
        let (_, answer) = app.webhook(SELLER, &id, 10_000 + n).await;
        backlog.push(answer["event_id"].as_str().unwrap_or_default().to_owned());
    }
    let fraud = accepted(&replay(&app, "mp_webhook_fraud_alert.request.json").await);
    let fraud = app.wait_status(&tenant, &fraud, "success").await;
    let mut after = 0;
    for id in &backlog {
        if app.event(&tenant, id).await["status"] != "success" {
            after += 1;
        }
    }
    // At most the batch in flight (32 events) goes before it; the rest of the 80 wait.
    assert!(
        after >= 80 - 2 * 32,
        "only {after} of 80 waited behind the fraud alert: {fraud}"
    );
    assert!(
        poll_for(Duration::from_secs(30), || async {
            app.event(
                &tenant,
                backlog.last().map(String::as_str).unwrap_or_default(),
            )
            .await["status"]
                == "success"
        })
        .await,
        "the backlog ends"
    );
}
