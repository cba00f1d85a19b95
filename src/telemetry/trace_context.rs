//! One webhook, one trace (SPEC §20): the ingest span's context is written with the event as a
//! W3C `traceparent` ([`current`]); each attempt, later and on whichever node claims the event,
//! makes that context its span's parent ([`continue_from`]); each outbound call sends its own
//! span's context in a `traceparent` header ([`inject`]). Ingest, the tenant batch and
//! `outbound::send` call these; all three do nothing unless trace export is on ([`enable`], by
//! `telemetry::init`), so no context is made, stored or sent without a collector.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::{Extractor, Injector};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Turns context propagation on (trace export is on).
pub(super) fn enable() {
    EXPORTING.store(true, Ordering::Relaxed);
}

/// Whether traces are exported: what makes a span only a trace needs worth making.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The current span's context as a `traceparent`, to store with an event; `None` when traces
/// are not exported.
pub fn current() -> Option<String> {
    if !exporting() {
        return None;
    }
    let context = Span::current().context();
    let mut carrier = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut carrier);
    });
    carrier.remove("traceparent")
}

/// Makes `span` (not started yet) a child of the stored `traceparent`, so it joins the trace
/// its webhook began. A missing or unreadable one leaves the span a trace of its own.
pub fn continue_from(span: &Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent.filter(|_| exporting()) else {
        return;
    };
    let carrier = Traceparent(traceparent);
    let parent =
        opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(&carrier));
    // An error means the span had started already: it keeps its own trace.
    let _ = span.set_parent(parent);
}

/// Adds the current span's `traceparent` (and `tracestate`) to an outgoing request's headers.
pub fn inject(headers: &mut reqwest::header::HeaderMap) {
    if !exporting() {
        return;
    }
    let context = Span::current().context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeaderInjector(headers));
    });
}

/// A stored `traceparent`, read by the propagator as the one header it carries.
struct Traceparent<'a>(&'a str);

impl Extractor for Traceparent<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent").then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}

struct HeaderInjector<'a>(&'a mut reqwest::header::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let name = reqwest::header::HeaderName::from_bytes(key.as_bytes());
        let value = reqwest::header::HeaderValue::from_str(&value);
        if let (Ok(name), Ok(value)) = (name, value) {
            self.0.insert(name, value);
        }
    }
}
