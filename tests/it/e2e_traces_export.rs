//! SPEC §20's trace export as operators meet it (issue 27), with the real binary: sampling
//! through the standard `OTEL_TRACES_SAMPLER` keeps whole traces or nothing, decided once per
//! webhook; a collector that is down loses spans, never a webhook, and shows in Cobro's log.

use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::e2e_traces::{
    SELLER, create_tenant, deliver, deliver_payment, flaky_mercadopago, names, traced_node_with,
};
use crate::utils::collector::Collector;
use crate::utils::process::{Server, wait_ready};
use crate::utils::{ADMIN, SECRET, TestDb, payment, poll_for};

/// OTEL_TRACES_SAMPLER keeps a share of the webhooks: a kept webhook's trace is whole (its
/// attempt and call too, decided once at ingest and carried by the stored `traceparent`), a
/// dropped one leaves no span, and MercadoPago sees the decision in the `traceparent` flags.
#[actix_web::test]
async fn a_sampled_out_webhook_leaves_no_span_and_a_kept_one_a_whole_trace() {
    let db = TestDb::new().await;
    let collector = Collector::start().await;
    let mp = MockServer::start().await;
    let payments: Vec<String> = (0..24).map(|k| format!("{}", 8_100 + k)).collect();
    for id in &payments {
        Mock::given(method("GET"))
            .and(path(format!("/v1/payments/{id}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(payment(id, "approved", SELLER, None)),
            )
            .mount(&mp)
            .await;
    }
    let http = reqwest::Client::new();
    let sampled = [
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
    ];
    let node = traced_node_with(&db, &mp, &collector, "trace-sampled", &sampled);
    wait_ready(&http, &node.url).await;
    let tenant = create_tenant(&http, &node.url).await;
    for (n, id) in payments.iter().enumerate() {
        deliver_payment(&http, &node.url, id, 500 + n as u64).await;
    }
    let processed = poll_for(Duration::from_secs(20), || async {
        mp.received_requests().await.unwrap_or_default().len() >= payments.len()
    })
    .await;
    assert!(processed, "every payment fetched");

    // What MercadoPago saw: each call's trace and whether it was kept.
    let calls: Vec<(String, bool)> = mp
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            r.headers
                .get("traceparent")?
                .to_str()
                .ok()
                .map(str::to_owned)
        })
        .map(|t| {
            let parts: Vec<&str> = t.split('-').collect();
            (parts[1].to_owned(), parts[3] == "01")
        })
        .collect();
    assert_eq!(
        calls.len(),
        payments.len(),
        "every call carries the decision"
    );
    let kept: std::collections::HashSet<&str> = calls
        .iter()
        .filter(|(_, kept)| *kept)
        .map(|(trace, _)| trace.as_str())
        .collect();
    assert!(
        !kept.is_empty() && kept.len() < payments.len(),
        "a ratio of 0.5 keeps some of 24, not all or none: {}",
        kept.len()
    );
    let whole = poll_for(Duration::from_secs(10), || async {
        let spans = collector.spans().await;
        kept.iter().all(|trace| {
            let of = |name: &str| {
                spans
                    .iter()
                    .filter(|s| s.name == name && s.trace_id == *trace)
                    .count()
            };
            of("webhook") == 1 && of("attempt") == 1 && of("outbound call") == 1
        })
    })
    .await;
    let spans = collector.spans().await;
    assert!(whole, "every kept trace is whole: {:?}", names(&spans));
    for span in spans.iter().filter(|s| s.name != "POST /api/tenants") {
        assert!(
            kept.contains(span.trace_id.as_str()),
            "a dropped webhook left a span: {span:?}"
        );
    }
    assert_eq!(
        spans
            .iter()
            .filter(|s| s.name == "webhook" && s.attr("tenant") == tenant)
            .count(),
        kept.len()
    );
}

/// A collector that is down loses spans, never a webhook, and says so in Cobro's own log.
#[actix_web::test]
async fn a_collector_that_is_down_is_logged_and_webhooks_still_go_through() {
    let db = TestDb::new().await;
    let mp = flaky_mercadopago(0).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let logs = tempfile::NamedTempFile::new().expect("a log file");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_cobro"))
        .arg("serve")
        .env_remove("COBRO_CONFIG")
        .env("COBRO_BIND", format!("127.0.0.1:{port}"))
        .env("COBRO_DATABASE_URL", &db.url)
        .env("COBRO_ADMIN_TOKEN", ADMIN)
        .env("COBRO_MP_WEBHOOK_SECRET", SECRET)
        .env("COBRO_MP_API_BASE", mp.uri())
        .env("COBRO_OTLP_ENDPOINT", format!("http://127.0.0.1:{closed}"))
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(logs.reopen().expect("the log file"))
        .spawn()
        .expect("cobro starts");
    let node = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    wait_ready(&http, &node.url).await;
    let tenant = create_tenant(&http, &node.url).await;
    let event = deliver(&http, &node.url).await;
    let processed = poll_for(Duration::from_secs(20), || async {
        let path = format!("{}/api/tenants/{tenant}/events/{event}", node.url);
        let read = http.get(path).bearer_auth(ADMIN).send().await;
        let body: Value = match read {
            Ok(response) => response.json().await.unwrap_or_default(),
            Err(_) => Value::Null,
        };
        body["status"] == "success"
    })
    .await;
    assert!(processed, "the webhook is processed without a collector");
    let logged = poll_for(Duration::from_secs(20), || async {
        let text = std::fs::read_to_string(logs.path()).unwrap_or_default();
        text.contains("BatchSpanProcessor.ExportError")
    })
    .await;
    let text = std::fs::read_to_string(logs.path()).unwrap_or_default();
    assert!(logged, "the lost batch is logged: {text}");
}
