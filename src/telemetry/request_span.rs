//! The HTTP request's span (`tracing-actix-web`), the root of every trace but one kind: the
//! probes a load balancer or Prometheus sends every few seconds (`/health`, `/ready`,
//! `/metrics`) get none, so a collector holds payment traffic, not thousands of health checks.
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
        match PROBES.contains(&request.path()) {
            true => Span::none(),
            false => DefaultRootSpanBuilder::on_request_start(request),
        }
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
