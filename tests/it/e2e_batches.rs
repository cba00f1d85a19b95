//! Issue 9: a tenant with a backlog has it processed in batches (its events fetched one after
//! the other, their writes committed several per writer cycle, the next ones claimed ahead), and
//! the result is the one of processing the events strictly one by one.

use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::utils::{ADMIN, TestApp, payment};
use cobro::publish::StatusUpdate;

const SELLER: &str = "2079614828";

/// What MercadoPago answers for each payment after the slow first one, in arrival order. One
/// after the other: PAID (the slow one), then REFUNDED, and nothing after a refund may re-open
/// the order.
const BACKLOG: [(&str, &str); 8] = [
    ("701", "refunded"),
    ("702", "approved"),
    ("703", "pending"),
    ("704", "approved"),
    ("705", "in_process"),
    ("706", "approved"),
    ("707", "rejected"),
    ("708", "approved"),
];

#[actix_web::test]
async fn a_backlog_for_one_order_ends_as_if_processed_one_by_one() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let order_id = app.create_order(&tenant).await;

    // The first payment is slow, so the backlog queues behind it and is claimed as one batch.
    Mock::given(method("GET"))
        .and(path("/v1/payments/700"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(payment("700", "approved", SELLER, Some(&order_id)))
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&app.mp)
        .await;
    for (id, status) in BACKLOG {
        app.mp_serves(id, status, SELLER, Some(&order_id)).await;
    }
    let (_, first) = app.webhook(SELLER, "700", 1).await;
    let first = id(&first);
    app.wait_status(&tenant, &first, "processing").await;
    let mut backlog = Vec::new();
    for (n, (payment_id, _)) in (2..).zip(BACKLOG) {
        let (status, answer) = app.webhook(SELLER, payment_id, n).await;
        assert_eq!(status, 200, "{answer}");
        backlog.push(id(&answer));
    }
    for event in &backlog {
        app.wait_status(&tenant, event, "success").await;
    }

    let order_path = format!("/api/tenants/{}/orders/{order_id}", tenant.id);
    let order = app.get(&order_path, ADMIN).await.1;
    assert_eq!(order["status"], "REFUNDED", "never backwards: {order}");
    assert_eq!(
        order["mp_payment_id"], "701",
        "the refund moved it last: {order}"
    );

    // Fetched one at a time, in arrival order.
    let fetched = app.mp_paths().await;
    let arrival: Vec<String> = std::iter::once("700")
        .chain(BACKLOG.iter().map(|(id, _)| *id))
        .map(|id| format!("/v1/payments/{id}"))
        .collect();
    assert_eq!(fetched, arrival);

    // A batch it was: the backlog was claimed (`processing`) before the first of it succeeded.
    let events = app.recorder.all();
    let published = |event: &str, status: &str| {
        events.iter().position(|(_, _, update)| match update {
            StatusUpdate::Event(e) => e.id.to_string() == event && e.status == status,
            _ => false,
        })
    };
    let last_claimed = published(backlog.last().expect("backlog"), "processing");
    let first_done = published(&backlog[0], "success");
    assert!(
        last_claimed.is_some() && last_claimed < first_done,
        "the whole backlog was one batch: claimed at {last_claimed:?}, first success at {first_done:?}"
    );
}

fn id(answer: &Value) -> String {
    answer["event_id"].as_str().expect("event id").to_owned()
}
