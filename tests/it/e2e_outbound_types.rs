//! SPEC §21's event types, each from the change that makes it: a chargeback (`dispute.updated`),
//! a claim (`claim.updated`), a fraud alert (`fraud_alert.created`), a webhook that ends in the
//! dead letter (`event.failed`), a seller revoking the application (`connection.updated`); each
//! signed, with its data, to an endpoint that wants every type (SQLite and PostgreSQL).

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::utils::mp_topics::{accepted, replay};
use crate::utils::receiver::{Received, Receiver};
use crate::utils::{SECRET, TestApp, fixture, payment, poll_for, sign};

const SELLER: &str = "2079614828";

async fn wait_for(receiver: &Receiver, kind: &str) -> Value {
    let arrived = poll_for(Duration::from_secs(20), || async {
        receiver.delivered().iter().any(|m| m.kind() == kind)
    })
    .await;
    let kinds: Vec<String> = receiver
        .received()
        .iter()
        .map(|m| m.kind().to_owned())
        .collect();
    assert!(arrived, "no {kind}; got {kinds:?}");
    let found = receiver.delivered().into_iter().find(|m| m.kind() == kind);
    found.map(|m| m.body).unwrap_or_default()
}

#[actix_web::test]
async fn every_kind_of_change_reaches_the_platform() {
    let app = TestApp::spawn_with(&[
        ("outbound_allow_private", "true"),
        ("outbound_poll_interval_ms", "100"),
    ])
    .await;
    let receiver = Receiver::start().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let path_ = format!("/api/tenants/{}/endpoints", tenant.id);
    let (status, created) = app
        .post(&path_, &tenant.token, json!({ "url": receiver.url() }))
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap_or_default().to_owned();
    let order = app.create_order(&tenant).await;

    // A chargeback.
    let mut charged = payment("150211668619", "charged_back", SELLER, Some(&order));
    charged["status_detail"] = json!("reimbursed");
    Mock::given(method("GET"))
        .and(path("/v1/payments/150211668619"))
        .respond_with(ResponseTemplate::new(200).set_body_json(charged))
        .up_to_n_times(1)
        .mount(&app.mp)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/chargebacks/233218391843"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("mercadopago/mp_chargeback.json")),
        )
        .mount(&app.mp)
        .await;
    let event = accepted(&replay(&app, "mp_webhook_chargeback.request.json").await);
    app.wait_status(&tenant, &event, "success").await;
    let dispute = wait_for(&receiver, "dispute.updated").await;
    assert_eq!(dispute["data"]["payment_id"], "150211668619");
    assert_eq!(dispute["data"]["order_id"], order.as_str());
    assert_eq!(dispute["data"]["dispute"]["id"], "233218391843");
    let order_moved = wait_for(&receiver, "order.updated").await;
    assert_eq!(order_moved["data"]["status"], "CHARGED_BACK");

    // A claim on the same payment, approved now.
    app.mp_serves("150211668619", "approved", SELLER, None)
        .await;
    Mock::given(method("GET"))
        .and(path("/post-purchase/v1/claims/5300012345"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("mercadopago/mp_claim.json")),
        )
        .mount(&app.mp)
        .await;
    let event = accepted(&replay(&app, "mp_webhook_claim.request.json").await);
    app.wait_status(&tenant, &event, "success").await;
    let claim = wait_for(&receiver, "claim.updated").await;
    assert_eq!(claim["data"]["claim"]["id"], "5300012345");

    // A fraud alert on it.
    let event = accepted(&replay(&app, "mp_webhook_fraud_alert.request.json").await);
    app.wait_status(&tenant, &event, "success").await;
    let fraud = wait_for(&receiver, "fraud_alert.created").await;
    assert_eq!(fraud["data"]["payment_id"], "150211668619");
    assert_eq!(fraud["data"]["fraud_alert"], true);

    // A payment MercadoPago never finds: every attempt fails, the event is dead-lettered.
    Mock::given(method("GET"))
        .and(path("/v1/payments/404404"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&app.mp)
        .await;
    let (_, answer) = app.webhook(SELLER, "404404", 77).await;
    let event = answer["event_id"].as_str().unwrap_or_default().to_owned();
    app.wait_status(&tenant, &event, "failed").await;
    let failed = wait_for(&receiver, "event.failed").await;
    assert_eq!(failed["data"]["id"], event.as_str());
    assert_eq!(failed["data"]["status"], "failed");

    // The seller revokes the application.
    let body = json!({"id": 78, "type": "mp-connect", "action": "application.deauthorized",
        "api_version": "v1", "user_id": SELLER.parse::<u64>().unwrap_or_default(),
        "data": {"id": "4096647727026581"}, "date_created": chrono::Utc::now().to_rfc3339(),
        "live_mode": true});
    let request_id = uuid::Uuid::new_v4().to_string();
    let signature = sign(SECRET, "4096647727026581", &request_id);
    let (status, _) = app
        .raw_webhook(
            "4096647727026581",
            &body.to_string(),
            &request_id,
            Some(&signature),
        )
        .await;
    assert_eq!(status, 200);
    let connection = wait_for(&receiver, "connection.updated").await;
    assert_eq!(connection["data"]["connection"], "disconnected");
    assert_eq!(connection["data"]["provider"], "mercadopago");

    let all = receiver.received();
    assert!(
        all.iter().all(|m| m.signed_by(&secret)),
        "every message verifies"
    );
    let ids: std::collections::HashSet<&str> =
        all.iter().map(|m: &Received| m.id.as_str()).collect();
    assert_eq!(ids.len(), all.len(), "each change is its own message");
}
