//! An OpenTelemetry collector in the test process (issue 27): it takes OTLP over HTTP/protobuf at
//! `/v1/traces`, as a real collector does, and decodes every export with the protocol's own
//! types (`opentelemetry-proto`), so a test reads the spans Cobro sent, not what Cobro meant.

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// One exported span, with its ids in hex as `traceparent` writes them.
#[derive(Debug, Clone)]
pub struct SeenSpan {
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub attributes: HashMap<String, String>,
    /// The resource's `service.instance.id`: the node that made it.
    pub node: String,
    pub service: String,
}

impl SeenSpan {
    pub fn attr(&self, key: &str) -> &str {
        self.attributes.get(key).map_or("", String::as_str)
    }
}

pub struct Collector {
    server: MockServer,
}

impl Collector {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/traces"))
            .respond_with(
                ResponseTemplate::new(200).insert_header("content-type", "application/x-protobuf"),
            )
            .mount(&server)
            .await;
        Self { server }
    }

    /// What `COBRO_OTLP_ENDPOINT` is set to: the base, as for a real collector.
    pub fn endpoint(&self) -> String {
        self.server.uri()
    }

    /// Every span exported so far; panics on an export that is not OTLP protobuf.
    pub async fn spans(&self) -> Vec<SeenSpan> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        let mut spans = Vec::new();
        for request in requests {
            let kind = request
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok());
            assert_eq!(kind, Some("application/x-protobuf"), "OTLP/HTTP protobuf");
            let export = ExportTraceServiceRequest::decode(request.body.as_slice())
                .expect("an OTLP ExportTraceServiceRequest");
            for resource_spans in export.resource_spans {
                let resource = resource_spans
                    .resource
                    .map(|r| attributes(&r.attributes))
                    .unwrap_or_default();
                let of = |key: &str| resource.get(key).cloned().unwrap_or_default();
                for scope in resource_spans.scope_spans {
                    for span in scope.spans {
                        spans.push(SeenSpan {
                            name: span.name,
                            trace_id: hex::encode(span.trace_id),
                            span_id: hex::encode(span.span_id),
                            parent_span_id: hex::encode(span.parent_span_id),
                            attributes: attributes(&span.attributes),
                            node: of("service.instance.id"),
                            service: of("service.name"),
                        });
                    }
                }
            }
        }
        spans
    }
}

fn attributes(pairs: &[KeyValue]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
        .collect()
}

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        _ => String::new(),
    }
}
