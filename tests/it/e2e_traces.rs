//! SPEC §20's traces with the real binary and an OTLP collector in the test (issue 27): a webhook
//! processed after two failed attempts is one trace — the HTTP request, the webhook span, three
//! attempt spans and three MercadoPago calls — and MercadoPago sees each call's `traceparent`.
//! On PostgreSQL, two nodes: the attempt made on the node that did not ingest joins the trace.

use std::time::Duration;

use sea_orm::EntityTrait;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::utils::collector::{Collector, SeenSpan};
use crate::utils::process::{Server, spawn_cobro, wait_ready};
use crate::utils::{ADMIN, SECRET, TestDb, notification, payment, poll_for, sign};

pub const SELLER: &str = "2079614828";
const PAYMENT: &str = "4242";

/// MercadoPago answers 500 `failures` times, then the approved payment.
pub async fn flaky_mercadopago(failures: u64) -> MockServer {
    let mp = MockServer::start().await;
    if failures > 0 {
        Mock::given(method("GET"))
            .and(path(format!("/v1/payments/{PAYMENT}")))
            .respond_with(ResponseTemplate::new(500).set_body_string("try later"))
            .up_to_n_times(failures)
            .with_priority(1)
            .mount(&mp)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(format!("/v1/payments/{PAYMENT}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(payment(PAYMENT, "approved", SELLER, None)),
        )
        .mount(&mp)
        .await;
    mp
}

pub fn traced_node(db: &TestDb, mp: &MockServer, collector: &Collector, node: &str) -> Server {
    traced_node_with(db, mp, collector, node, &[])
}

pub fn traced_node_with(
    db: &TestDb,
    mp: &MockServer,
    collector: &Collector,
    node: &str,
    extra: &[(&str, &str)],
) -> Server {
    let endpoint = collector.endpoint();
    let mut env = vec![
        ("COBRO_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("COBRO_NODE_ID", node),
        ("COBRO_RETRY_SCHEDULE", "0.2,0.2,0.2"),
        ("COBRO_CLUSTER_LEASE_TIMEOUT_MS", "10000"),
        ("COBRO_CLUSTER_POLL_INTERVAL_MS", "300"),
    ];
    env.extend_from_slice(extra);
    spawn_cobro(&db.url, &mp.uri(), &mp.uri(), &env)
}

pub async fn create_tenant(http: &reqwest::Client, url: &str) -> String {
    let created: Value = http
        .post(format!("{url}/api/tenants"))
        .bearer_auth(ADMIN)
        .json(&json!({ "name": "Academia", "mp_user_id": SELLER, "mp_access_token": "APP_USR-x" }))
        .send()
        .await
        .expect("tenant")
        .json()
        .await
        .expect("json");
    created["id"].as_str().expect("id").to_owned()
}

pub async fn deliver(http: &reqwest::Client, url: &str) -> String {
    deliver_payment(http, url, PAYMENT, 77).await
}

pub async fn deliver_payment(http: &reqwest::Client, url: &str, payment: &str, n: u64) -> String {
    let request_id = uuid::Uuid::new_v4().to_string();
    let answer: Value = http
        .post(format!("{url}/webhooks/mp?data.id={payment}&type=payment"))
        .header("x-request-id", &request_id)
        .header("x-signature", sign(SECRET, payment, &request_id))
        .body(notification(SELLER, payment, n).to_string())
        .send()
        .await
        .expect("webhook")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["status"], "accepted", "{answer}");
    answer["event_id"].as_str().expect("event id").to_owned()
}

/// Waits until the collector holds `attempts` attempt spans (the last one's export included).
async fn spans_with_attempts(collector: &Collector, attempts: usize) -> Vec<SeenSpan> {
    let arrived = poll_for(Duration::from_secs(20), || async {
        let spans = collector.spans().await;
        let done = spans.iter().filter(|s| s.name == "attempt").count() >= attempts;
        done && spans.iter().any(|s| s.name == "POST /webhooks/mp")
    })
    .await;
    let spans = collector.spans().await;
    assert!(arrived, "spans exported: {:?}", names(&spans));
    spans
}

pub fn names(spans: &[SeenSpan]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}

fn named<'a>(spans: &'a [SeenSpan], name: &str) -> Vec<&'a SeenSpan> {
    let mut found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    found.sort_by_key(|s| s.attr("attempt").parse::<u32>().unwrap_or(0));
    found
}

/// The webhook span of the trace, under its HTTP request: what every check below hangs on.
fn the_webhook<'a>(spans: &'a [SeenSpan], tenant: &str) -> &'a SeenSpan {
    let webhooks = named(spans, "webhook");
    assert_eq!(webhooks.len(), 1, "one webhook span: {:?}", names(spans));
    let webhook = webhooks[0];
    assert_eq!(
        (
            webhook.attr("provider"),
            webhook.attr("tenant"),
            webhook.attr("outcome")
        ),
        ("mercadopago", tenant, "accepted")
    );
    let request = spans
        .iter()
        .find(|s| s.span_id == webhook.parent_span_id)
        .expect("the webhook span's parent was exported");
    // tracing-actix-web names the request's span by its method and route.
    assert_eq!(request.name, "POST /webhooks/mp");
    assert_eq!(
        request.parent_span_id, "",
        "the HTTP request is the trace's root"
    );
    webhook
}

/// The MercadoPago calls, in order, each under one attempt of the trace, each sent with its own
/// span's `traceparent`.
async fn calls_carry_the_trace(mp: &MockServer, spans: &[SeenSpan], attempts: &[&SeenSpan]) {
    let trace = &attempts[0].trace_id;
    let calls = named(spans, "outbound call");
    assert_eq!(calls.len(), attempts.len(), "{:?}", names(spans));
    let attempt_ids: Vec<&str> = attempts.iter().map(|a| a.span_id.as_str()).collect();
    for call in &calls {
        assert_eq!(&call.trace_id, trace);
        assert!(
            attempt_ids.contains(&call.parent_span_id.as_str()),
            "{call:?}"
        );
        assert_eq!(call.attr("service"), "mercadopago");
    }
    let statuses: Vec<&str> = calls.iter().map(|c| c.attr("status")).collect();
    let mut expected = vec!["500"; attempts.len() - 1];
    expected.push("200");
    let mut sorted = statuses.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected);
    let requests = mp.received_requests().await.unwrap_or_default();
    let sent: Vec<String> = requests
        .iter()
        .filter_map(|r| r.headers.get("traceparent"))
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    assert_eq!(sent.len(), attempts.len(), "every call carries traceparent");
    for traceparent in sent {
        let parts: Vec<&str> = traceparent.split('-').collect();
        assert_eq!((parts[0], parts[1], parts[3]), ("00", trace.as_str(), "01"));
        assert!(
            calls.iter().any(|c| c.span_id == parts[2]),
            "{traceparent} names a call's span"
        );
    }
}

#[actix_web::test]
async fn a_webhook_retried_twice_is_one_trace_and_mercadopago_sees_it() {
    let db = TestDb::new().await;
    let collector = Collector::start().await;
    let mp = flaky_mercadopago(2).await;
    let http = reqwest::Client::new();
    let node = traced_node(&db, &mp, &collector, "trace-node");
    wait_ready(&http, &node.url).await;
    let tenant = create_tenant(&http, &node.url).await;
    deliver(&http, &node.url).await;

    let spans = spans_with_attempts(&collector, 3).await;
    let webhook = the_webhook(&spans, &tenant);
    let attempts = named(&spans, "attempt");
    assert_eq!(attempts.len(), 3, "{:?}", names(&spans));
    let outcomes: Vec<(&str, &str)> = attempts
        .iter()
        .map(|a| (a.attr("attempt"), a.attr("outcome")))
        .collect();
    assert_eq!(outcomes, [("1", "retry"), ("2", "retry"), ("3", "success")]);
    for attempt in &attempts {
        assert_eq!(attempt.trace_id, webhook.trace_id, "one trace");
        assert_eq!(attempt.parent_span_id, webhook.span_id, "under the webhook");
        assert_eq!(attempt.attr("tenant"), tenant);
    }
    calls_carry_the_trace(&mp, &spans, &attempts).await;
    for span in &spans {
        assert_eq!(
            (span.service.as_str(), span.node.as_str()),
            ("cobro", "trace-node")
        );
    }
    // The probes polled while the node started make no trace.
    assert!(
        !names(&spans).contains(&"GET /ready"),
        "{:?}",
        names(&spans)
    );

    // A caller that traces: its request joins the caller's trace.
    let (caller_trace, caller_span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let listed = http
        .get(format!("{}/api/tenants", node.url))
        .bearer_auth(ADMIN)
        .header("traceparent", format!("00-{caller_trace}-{caller_span}-01"))
        .send()
        .await
        .expect("admin API");
    assert!(listed.status().is_success());
    let joined = poll_for(Duration::from_secs(10), || async {
        collector.spans().await.iter().any(|s| {
            s.name == "GET /api/tenants"
                && s.trace_id == caller_trace
                && s.parent_span_id == caller_span
        })
    })
    .await;
    assert!(joined, "{:?}", names(&collector.spans().await));
}

#[actix_web::test]
async fn without_a_collector_no_trace_context_is_stored_or_sent() {
    let app = crate::utils::TestApp::spawn().await;
    let tenant = app.create_tenant(SELLER, None).await;
    app.mp_serves(PAYMENT, "approved", SELLER, None).await;
    let (_, accepted) = app.webhook(SELLER, PAYMENT, 1).await;
    let event = accepted["event_id"].as_str().unwrap_or_default().to_owned();
    app.wait_status(&tenant, &event, "success").await;
    let id = uuid::Uuid::parse_str(&event).expect("uuid");
    let stored = entity::webhook_event::Entity::find_by_id(id)
        .one(&app.state.services.db)
        .await
        .expect("reads")
        .expect("stored");
    assert_eq!(stored.trace_context, None);
    let requests = app.mp.received_requests().await.unwrap_or_default();
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| !r.headers.contains_key("traceparent"))
    );
}

#[actix_web::test]
async fn an_attempt_on_another_node_joins_the_trace_of_the_ingest() {
    if !crate::utils::cluster::postgres() {
        return; // several nodes need PostgreSQL
    }
    let db = TestDb::new().await;
    let collector = Collector::start().await;
    let mp = flaky_mercadopago(1).await;
    let http = reqwest::Client::new();
    let names_ = ["trace-a", "trace-b"];
    let nodes: Vec<Server> = names_
        .iter()
        .map(|name| traced_node(&db, &mp, &collector, name))
        .collect();
    for node in &nodes {
        wait_ready(&http, &node.url).await;
    }
    let tenant = create_tenant(&http, &nodes[0].url).await;
    crate::utils::cluster::settled(&http, &nodes[0].url, &names_, std::slice::from_ref(&tenant))
        .await;
    let live: Vec<String> = names_.iter().map(|n| (*n).to_owned()).collect();
    let tenant_id = uuid::Uuid::parse_str(&tenant).expect("uuid");
    let owner = cobro::cluster::rendezvous::owner(&live, tenant_id).expect("an owner");
    // Delivered to the node that does not own the tenant: the owner makes the attempts.
    let ingest = names_
        .iter()
        .position(|n| *n != owner)
        .expect("another node");
    deliver(&http, &nodes[ingest].url).await;

    let spans = spans_with_attempts(&collector, 2).await;
    let webhook = the_webhook(&spans, &tenant);
    assert_eq!(webhook.node, names_[ingest]);
    let attempts = named(&spans, "attempt");
    assert_eq!(attempts.len(), 2, "{:?}", names(&spans));
    for attempt in &attempts {
        assert_eq!(attempt.node, owner, "made by the owner");
        assert_eq!(attempt.trace_id, webhook.trace_id, "the ingest's trace");
        assert_eq!(attempt.parent_span_id, webhook.span_id);
    }
    calls_carry_the_trace(&mp, &spans, &attempts).await;
}
