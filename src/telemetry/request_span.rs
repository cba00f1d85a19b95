//! The HTTP request's span (`tracing-actix-web`), the root of every trace but one kind: the
//! probes a load balancer or Prometheus sends every few seconds (`/health`, `/ready`,
//! `/metrics`) get none, so a collector holds payment traffic, not thousands of health checks.
//! A request that brings a `traceparent` joins its caller's trace.
//! `app::http_server` wraps every request with [`RequestSpan`].

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

/// The paths polled by machines, which make no span.
const PROBES: [&str; 3] = ["/health", "/ready", "/metrics"];

pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        if PROBES.contains(&request.path()) {
            return Span::none();
        }
        let span = DefaultRootSpanBuilder::on_request_start(request);
        // A caller that traces (a platform's backend, a tracing proxy) sends its `traceparent`:
        // the request joins the caller's trace, as W3C Trace Context asks.
        let traceparent = request
            .headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok());
        super::trace_context::continue_from(&span, traceparent);
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
