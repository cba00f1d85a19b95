//! Issue 9: the write that ends an attempt also claims the tenant's next event (one writer cycle
//! per event instead of two), and a claimed event that will not be processed can be given back.
//! Straight through `Writer` on a real database (SQLite file and PostgreSQL), with the actors
//! and the cluster stopped first so that nothing but the test touches the events.

use std::time::{Duration, Instant};

use cobro::domain::{EventId, TenantId};
use cobro::provider::mercadopago::payment::read;
use cobro::store::events::{EventResource, NewEvent, Stored};
use cobro::writer::{AttemptFailed, PaymentUpdate, Writer};
use entity::webhook_event;
use sea_orm::{Database, DatabaseConnection, EntityTrait};
use serde_json::json;
use uuid::Uuid;

use crate::utils::{TestApp, payment};

const SELLER: &str = "2079614828";

async fn store(writer: &Writer, tenant: TenantId, n: u32) -> EventId {
    let event = NewEvent {
        tenant_id: tenant,
        provider: cobro::domain::Provider::MercadoPago,
        received: None,
        resource: EventResource::payment(format!("55500{n}")),
        notification_id: format!("writer-test-{n}"),
        request_id: None,
        webhook_type: "payment".into(),
        action: "payment.updated".into(),
        mp_payment_id: format!("55500{n}"),
        raw_payload: json!({ "data": { "id": format!("55500{n}") } }),
        max_attempts: 5,
        trace_context: None,
    };
    match writer.store(event).await.expect("stored") {
        Stored::Accepted(id) => id,
        Stored::Duplicate(id) => panic!("{id} is not new"),
    }
}

fn update(tenant: TenantId, event_id: EventId, n: u32, wants_tag: bool) -> PaymentUpdate {
    let id = format!("55500{n}");
    PaymentUpdate {
        tenant,
        event_id,
        payment_id: id.clone(),
        snapshot: read(payment(&id, "approved", SELLER, None)).expect("payment"),
        wants_tag,
        started: Instant::now(),
    }
}

async fn row(db: &DatabaseConnection, id: EventId) -> (String, i32) {
    let event = webhook_event::Entity::find_by_id(id.0)
        .one(db)
        .await
        .expect("query")
        .expect("event");
    (event.status, event.attempts)
}

#[actix_web::test]
async fn the_write_that_ends_an_attempt_claims_the_next_event() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    app.stop().await;
    let tenant_id = TenantId(Uuid::parse_str(&tenant.id).expect("uuid"));
    let writer = &app.state.services.writer;
    let db = Database::connect(&app.db.url).await.expect("connect");
    let (a, b, c, d) = (
        store(writer, tenant_id, 1).await,
        store(writer, tenant_id, 2).await,
        store(writer, tenant_id, 3).await,
        store(writer, tenant_id, 4).await,
    );

    writer
        .claim(None, a)
        .await
        .expect("claim")
        .expect("pending");
    let stored = writer
        .store_payment(None, update(tenant_id, a, 1, false), vec![b, c])
        .await
        .expect("payment stored");
    let finished = stored.finished.expect("no tag due: the event is finished");
    assert_eq!(finished.status, "success");
    let next: Vec<(EventId, Option<(String, i32)>)> = stored
        .next
        .into_iter()
        .map(|n| (n.id, n.event.map(|e| (e.status, e.attempts))))
        .collect();
    let claimed = Some(("processing".to_string(), 1));
    assert_eq!(
        next,
        vec![(b, claimed.clone()), (c, claimed)],
        "both next events are claimed, in order"
    );
    assert_eq!(row(&db, b).await, ("processing".into(), 1), "committed");
    assert_eq!(row(&db, c).await, ("processing".into(), 1), "committed");

    // A failed attempt claims too; an event that is not pending any more is not claimed.
    let failed = AttemptFailed {
        event_id: b,
        next_retry_at: Some(chrono::Utc::now() + Duration::from_secs(3600)),
        message: "MercadoPago answered 503".into(),
        details: json!({}),
        processing_ms: 3,
    };
    let recorded = writer
        .attempt_failed(None, failed, vec![a, d])
        .await
        .expect("recorded");
    assert_eq!(recorded.event.status, "pending");
    let next: Vec<(EventId, bool)> = recorded
        .next
        .iter()
        .map(|n| (n.id, n.event.is_some()))
        .collect();
    assert_eq!(
        next,
        vec![(a, false), (d, true)],
        "a is done: nothing to claim"
    );
    assert_eq!(row(&db, a).await, ("success".into(), 1), "a is untouched");

    // A claimed event given back is pending again with its claim's attempt uncounted; release
    // moves nothing that is not `processing`.
    writer.release(None, d).await.expect("released");
    assert_eq!(row(&db, d).await, ("pending".into(), 0));
    writer.release(None, a).await.expect("released");
    assert_eq!(row(&db, a).await, ("success".into(), 1));

    // A payment step that may still need a tag does not end the attempt: no claim.
    let stored = writer
        .store_payment(None, update(tenant_id, c, 3, true), vec![d])
        .await
        .expect("payment stored");
    assert!(stored.finished.is_none() && stored.next.is_empty());
    assert_eq!(row(&db, d).await, ("pending".into(), 0));
}

/// A batch of one tenant can put several payments of one order into one cycle: each must be
/// planned from the status the one before left, so a late `approved` never re-opens a refund.
#[actix_web::test]
async fn payments_of_one_order_in_one_cycle_move_it_as_one_by_one() {
    // SQLite only: there one writer task takes all three writes queued together into one cycle,
    // which is what this test is about. PostgreSQL's four tasks may split them over parallel
    // cycles (one task can wake on the first before the others are queued), and then their
    // order is not defined; the pipeline never queues two writes of one order at once
    // (`tenant::pipeline`, `Touched`), so that split never happens in processing. It failed
    // once in CI on PostgreSQL for that reason.
    if crate::utils::cluster::postgres() {
        return;
    }
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let order_id = app.create_order(&tenant).await;
    app.stop().await;
    let tenant_id = TenantId(Uuid::parse_str(&tenant.id).expect("uuid"));
    let writer = &app.state.services.writer;
    let mut events = Vec::new();
    for n in 11..=13 {
        let id = store(writer, tenant_id, n).await;
        writer
            .claim(None, id)
            .await
            .expect("claim")
            .expect("pending");
        events.push(id);
    }

    // Queued together (queueing is synchronous), so the writer takes them in one cycle.
    let statuses = ["approved", "refunded", "approved"];
    let answers: Vec<_> = events
        .iter()
        .zip(11..)
        .zip(statuses)
        .map(|((&event, n), status)| {
            let id = format!("55500{n}");
            let json = payment(&id, status, SELLER, Some(&order_id));
            let update = PaymentUpdate {
                tenant: tenant_id,
                event_id: event,
                payment_id: id,
                snapshot: read(json).expect("payment"),
                wants_tag: false,
                started: Instant::now(),
            };
            writer.store_payment(None, update, Vec::new())
        })
        .collect();
    for answer in answers {
        let stored = answer.await.expect("stored");
        assert!(stored.finished.is_some(), "no tag due: finished");
    }
    let db = Database::connect(&app.db.url).await.expect("connect");
    let order = entity::order::Entity::find_by_id(Uuid::parse_str(&order_id).expect("uuid"))
        .one(&db)
        .await
        .expect("query")
        .expect("order");
    assert_eq!(
        (order.status.as_str(), order.mp_payment_id.as_deref()),
        ("REFUNDED", Some("5550012")),
        "the refund moved it last; the late approval left it"
    );
}
