//! SPEC §10 over a real WebSocket: joining rooms, refusals, the super admin's subscriptions,
//! both payloads field by field, isolation between tenants, and a client that never reads.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::utils::ws::{TokenIn, WsClient};
use crate::utils::{ADMIN, TestApp};

const SELLER: &str = "2079614828";

fn room(tenant: &crate::utils::Tenant) -> String {
    format!("tenant-{}", tenant.id)
}

#[actix_web::test]
async fn tenant_tokens_join_their_room_by_query_or_header() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    for how in [TokenIn::Query, TokenIn::Header] {
        let mut client = WsClient::connect(&app.url, &tenant.token, how)
            .await
            .expect("upgrade");
        assert_eq!(
            client.next().await,
            json!({ "event": "subscribed", "room": room(&tenant) })
        );
    }
}

#[actix_web::test]
async fn a_wrong_token_is_refused_before_the_upgrade() {
    let app = TestApp::spawn().await;
    for token in ["wrong", ""] {
        let refused = WsClient::connect(&app.url, token, TokenIn::Query).await;
        assert!(
            matches!(refused, Err(awc::error::WsClientError::InvalidResponseStatus(s)) if s == 401),
            "token {token:?}"
        );
    }
}

#[actix_web::test]
async fn another_tenants_room_is_forbidden_and_the_client_stays_where_it_is() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("1", None).await;
    let b = app.create_tenant("2", None).await;
    let mut client = WsClient::connect(&app.url, &a.token, TokenIn::Query)
        .await
        .expect("upgrade");
    client.next().await;
    client
        .send(json!({ "action": "subscribe", "room": room(&b) }))
        .await;
    assert_eq!(
        client.next().await,
        json!({ "event": "error", "message": "forbidden" })
    );
    app.mp_serves("5", "approved", "1", None).await;
    app.webhook("1", "5", 1).await;
    let update = client.until("webhookEventUpdated", |_| true).await;
    assert_eq!(update["room"], json!(room(&a)));
}

#[actix_web::test]
async fn the_super_admin_subscribes_and_unsubscribes() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    app.mp_serves("1", "approved", SELLER, None).await;
    app.mp_serves("2", "approved", SELLER, None).await;
    let mut admin = WsClient::connect(&app.url, ADMIN, TokenIn::Header)
        .await
        .expect("upgrade");
    let (_, first) = app.webhook(SELLER, "1", 1).await;
    app.wait_status(&tenant, first["event_id"].as_str().expect("id"), "success")
        .await;
    assert_eq!(
        admin.next_within(Duration::from_millis(300)).await,
        None,
        "no room joined yet"
    );

    admin
        .send(json!({ "action": "subscribe", "room": room(&tenant) }))
        .await;
    assert_eq!(
        admin.next().await,
        json!({ "event": "subscribed", "room": room(&tenant) })
    );
    let (_, second) = app.webhook(SELLER, "2", 2).await;
    let id = second["event_id"].clone();
    let done = admin
        .until("webhookEventUpdated", |m| {
            m["data"]["id"] == id && m["data"]["status"] == "success"
        })
        .await;
    assert_eq!(done["room"], json!(room(&tenant)));

    admin
        .send(json!({ "action": "unsubscribe", "room": room(&tenant) }))
        .await;
    admin.until("unsubscribed", |_| true).await;
    app.mp_serves("3", "approved", SELLER, None).await;
    let (_, third) = app.webhook(SELLER, "3", 3).await;
    app.wait_status(&tenant, third["event_id"].as_str().expect("id"), "success")
        .await;
    assert_eq!(
        admin.next_within(Duration::from_millis(300)).await,
        None,
        "nothing after unsubscribe"
    );
}

#[actix_web::test]
async fn payloads_are_exactly_the_spec_fields() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let (_, order) = app
        .post(
            &format!("/api/tenants/{}/orders", tenant.id),
            &tenant.token,
            json!({ "amount": 45000, "currency": "ARS", "description": "x" }),
        )
        .await;
    let order_id = order["id"].as_str().expect("order id");
    app.mp_serves("150211668619", "approved", SELLER, Some(order_id))
        .await;
    let mut client = WsClient::connect(&app.url, &tenant.token, TokenIn::Query)
        .await
        .expect("upgrade");
    client.next().await;
    let (_, answer) = app.webhook(SELLER, "150211668619", 1).await;

    let payment = client.until("paymentStatusUpdated", |_| true).await;
    assert_eq!(payment["room"], json!(room(&tenant)));
    assert_eq!(
        payment["data"],
        json!({
            "tenantId": tenant.id, "orderId": order_id, "mappedOrderStatus": "PAID",
            "transactionAmount": 45000.0, "currencyId": "ARS", "mpPaymentId": 150211668619u64, "paymentId": "150211668619", "provider": "mercadopago",
            "mpStatusDetail": "accredited", "customerEmail": "maria.gonzalez@example.com",
            "customerName": "Maria Gonzalez", "paymentMethod": "visa",
            "dateApproved": "2026-05-14T15:32:09.000-04:00"
        })
    );
    let event = client
        .until("webhookEventUpdated", |m| m["data"]["status"] == "success")
        .await;
    let data = &event["data"];
    let keys: Vec<&str> = data
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "id",
        "status",
        "attempts",
        "maxAttempts",
        "lastError",
        "nextRetryAt",
        "mpPaymentId",
        "action",
        "processingMs",
    ];
    expected.sort_unstable();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    assert_eq!(keys_sorted, expected);
    assert_eq!(data["id"], answer["event_id"]);
    assert_eq!(
        (data["attempts"].clone(), data["maxAttempts"].clone()),
        (json!(1), json!(4))
    );
    assert_eq!(
        (data["lastError"].clone(), data["nextRetryAt"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(data["mpPaymentId"], "150211668619");
    assert_eq!(data["action"], "payment.updated");
    assert!(data["processingMs"].is_number());
}

#[actix_web::test]
async fn a_payment_without_an_order_publishes_a_null_order_id() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    app.mp_serves("9", "approved", SELLER, None).await;
    let mut client = WsClient::connect(&app.url, &tenant.token, TokenIn::Query)
        .await
        .expect("upgrade");
    client.next().await;
    app.webhook(SELLER, "9", 1).await;
    let payment = client.until("paymentStatusUpdated", |_| true).await;
    assert_eq!(payment["data"]["orderId"], Value::Null);
}

#[actix_web::test]
async fn tenants_never_see_each_others_updates_under_concurrent_traffic() {
    let app = TestApp::spawn().await;
    let tenants = [
        app.create_tenant("1", None).await,
        app.create_tenant("2", None).await,
    ];
    let mut clients = Vec::new();
    for tenant in &tenants {
        let mut client = WsClient::connect(&app.url, &tenant.token, TokenIn::Query)
            .await
            .expect("upgrade");
        client.next().await;
        clients.push(client);
    }
    for n in 0..10u64 {
        app.mp_serves(&format!("{}", 100 + n), "approved", "1", None)
            .await;
        app.mp_serves(&format!("{}", 200 + n), "approved", "2", None)
            .await;
    }
    let ids: Vec<(&str, String, u64)> = (0..10u64)
        .flat_map(|n| {
            [
                ("1", format!("{}", 100 + n), 100 + n),
                ("2", format!("{}", 200 + n), 200 + n),
            ]
        })
        .collect();
    let sends = ids
        .iter()
        .map(|(user, payment, n)| app.webhook(user, payment, *n));
    futures_util::future::join_all(sends).await;
    for (tenant, client) in tenants.iter().zip(clients.iter_mut()) {
        let mut successes = 0;
        while successes < 10 {
            let message = client.next().await;
            assert_eq!(message["room"], json!(room(tenant)), "{message}");
            if message["event"] == "paymentStatusUpdated" {
                assert_eq!(message["data"]["tenantId"], json!(tenant.id));
            }
            if message["event"] == "webhookEventUpdated" && message["data"]["status"] == "success" {
                successes += 1;
            }
        }
        assert_eq!(
            client.next_within(Duration::from_millis(300)).await,
            None,
            "nothing of the other tenant"
        );
    }
}

/// A client that completes the handshake and then never reads must not stop the others: the hub
/// finds its mailbox full, drops it, and keeps delivering.
#[actix_web::test]
async fn a_client_that_never_reads_does_not_stop_the_others() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let address = app.url.trim_start_matches("http://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let handshake = format!(
        "GET /ws?token={} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        tenant.token
    );
    stalled
        .write_all(handshake.as_bytes())
        .await
        .expect("handshake");
    let mut reader = WsClient::connect(&app.url, &tenant.token, TokenIn::Query)
        .await
        .expect("upgrade");
    reader.next().await;
    let room_name = room(&tenant);
    assert!(
        crate::utils::poll(|| async {
            app.state
                .hub
                .send(cobro::ws::hub::RoomSize(room_name.clone()))
                .await
                .unwrap_or(0)
                == 2
        })
        .await,
        "both clients joined"
    );

    // 3,000 frames of 8 KiB: far more than the stalled socket's buffers and its mailbox hold.
    // They go out in batches of 100 and the reader takes each batch before the next, as a
    // healthy client keeps up; the stalled one falls further behind with every batch.
    let chunk: Arc<str> = Arc::from(
        json!({ "event": "flood", "room": room_name, "data": "x".repeat(8 * 1024) }).to_string(),
    );
    for _batch in 0..30 {
        for _ in 0..100 {
            let broadcast = cobro::ws::hub::Broadcast {
                room: room_name.clone(),
                text: chunk.clone(),
            };
            app.state.hub.send(broadcast).await.expect("hub alive");
        }
        let mut received = 0;
        while received < 100 {
            if reader.next().await["event"] == "flood" {
                received += 1;
            }
        }
    }
    let remaining = app
        .state
        .hub
        .send(cobro::ws::hub::RoomSize(room_name.clone()))
        .await
        .unwrap_or(0);
    assert_eq!(
        remaining, 1,
        "the stalled client was dropped, the reader kept"
    );
    drop(stalled);
}

/// SPEC §10: pings every 5 s, a client silent for 15 s is dropped. This test takes ~16 s.
#[actix_web::test]
async fn a_silent_client_is_dropped_after_fifteen_seconds() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    let mut silent = WsClient::connect(&app.url, &tenant.token, TokenIn::Query)
        .await
        .expect("upgrade");
    assert!(
        !silent
            .closed_by_server_within(Duration::from_secs(12))
            .await,
        "still open after 12 s"
    );
    assert!(
        silent
            .closed_by_server_within(Duration::from_secs(10))
            .await,
        "closed by 22 s"
    );
}
