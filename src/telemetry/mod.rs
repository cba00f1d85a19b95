//! Logs and traces. Logs: `tracing` to stderr, human-readable or one JSON object per line
//! (`COBRO_LOG_FORMAT`), filtered by `RUST_LOG` (default `info`; `cobro demo` defaults to
//! `error`, so its banner and its compact progress line are not scrolled away by a line per
//! request).
//!
//! Traces (SPEC §20): with `COBRO_OTLP_ENDPOINT` set, the spans of Cobro's own code and of the
//! HTTP middleware also go to an OpenTelemetry layer whose batch processor exports them over OTLP
//! (HTTP/protobuf) from a thread of its own, so no request waits for the collector. The layer has
//! its own filter ([`traced_spans`]), independent of `RUST_LOG`: quiet logs still give whole
//! traces. Unset, the layer does not exist: nothing is exported, no trace context is made,
//! stored or sent. How one webhook becomes one trace is [`trace_context`]'s.

pub mod request_span;
pub mod trace_context;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::{Level, Metadata};
use tracing_subscriber::filter::{FilterFn, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{Config, LogFormat};

/// What runs while the process runs; [`Telemetry::shutdown`] exports the spans still in the batch.
#[must_use = "shut it down at exit, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what the batch holds and stops the exporter (a blocking call, at exit).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(err) = provider.shutdown()
        {
            tracing::warn!(error = %err, "the last spans could not be exported");
        }
    }
}

/// Starts logging and, when `COBRO_OTLP_ENDPOINT` is set, trace export.
pub fn init(config: &Config, default_level: &str) -> Telemetry {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let pretty = (config.log_format == LogFormat::Pretty)
        .then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr));
    let json = (config.log_format == LogFormat::Json).then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
    });
    let logs = pretty.map(Layer::boxed).or(json.map(Layer::boxed));
    let built = config
        .otlp_endpoint
        .as_ref()
        .map(|endpoint| tracer_provider(endpoint, &config.node_id));
    let (provider, refused) = match built {
        Some(Ok(provider)) => (Some(provider), None),
        Some(Err(err)) => (None, Some(err)),
        None => (None, None),
    };
    let traces = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("cobro"))
            // Per span, not per trace: what these cost is paid for every span, sampled or not
            // (docs/BENCHMARKS.md, "Traces off and on"). Nothing in Cobro reads the active
            // OpenTelemetry context (a span's own is read from the span), the spans' names say
            // where they come from, and busy/idle time would read the clock at every poll.
            .with_context_activation(false)
            .with_tracked_inactivity(false)
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_filter(traced_spans())
    });
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::registry()
        .with(logs.map(|logs| logs.with_filter(filter)))
        .with(traces)
        .try_init();
    if let Some(err) = refused {
        tracing::warn!(error = %err, "traces are not exported");
    }
    if provider.is_some() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        trace_context::enable();
    }
    Telemetry { provider }
}

/// What a trace is made of: the spans of Cobro's own code (webhook, attempt, outbound call) and
/// of the HTTP request (`tracing-actix-web`) at `info`, and the log lines written inside them at
/// `warn` and `error` only, as span events: the `info` lines every webhook writes ("webhook
/// accepted") would ride every trace and say what the spans' fields say. Not the database
/// driver's spans, one per statement.
/// Decided by call site alone, so the answer is cached once per call site.
fn traced_spans() -> FilterFn {
    filter_fn(|meta: &Metadata<'_>| {
        let ours = ["cobro", "tracing_actix_web"]
            .iter()
            .any(|target| meta.target().starts_with(target));
        let most_verbose = if meta.is_span() {
            Level::INFO
        } else {
            Level::WARN
        };
        ours && *meta.level() <= most_verbose
    })
}

/// The OTLP exporter behind a batch processor, with this node named in the resource. The
/// processor's own settings come from the standard `OTEL_BSP_*` variables (delay 5 s, 2,048
/// spans queued, 512 per export); a full queue drops spans rather than slowing anything down.
fn tracer_provider(
    endpoint: &url::Url,
    node_id: &str,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces_url(endpoint))
        .build()?;
    let resource = Resource::builder_empty()
        .with_service_name("cobro")
        .with_attribute(KeyValue::new("service.instance.id", node_id.to_owned()))
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// `COBRO_OTLP_ENDPOINT` is the collector's base, as `OTEL_EXPORTER_OTLP_ENDPOINT` is: traces go
/// to `<base>/v1/traces` (a base that already names that path is taken as it is).
fn traces_url(endpoint: &url::Url) -> String {
    let base = endpoint.as_str().trim_end_matches('/');
    match base.ends_with("/v1/traces") {
        true => base.to_owned(),
        false => format!("{base}/v1/traces"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_go_to_the_signal_path_under_the_base() -> Result<(), url::ParseError> {
        let url = |s: &str| url::Url::parse(s).map(|u| traces_url(&u));
        assert_eq!(
            url("http://collector:4318")?,
            "http://collector:4318/v1/traces"
        );
        assert_eq!(url("http://c:4318/otlp/")?, "http://c:4318/otlp/v1/traces");
        assert_eq!(url("https://c/v1/traces")?, "https://c/v1/traces");
        Ok(())
    }
}
