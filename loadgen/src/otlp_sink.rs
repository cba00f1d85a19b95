//! A stand-in OpenTelemetry collector for the traces benchmark (issue 27): takes OTLP/HTTP
//! protobuf at `POST /v1/traces`, decodes each export as a collector must, and counts the spans;
//! `GET /count` answers `{"exports", "spans"}` so the script reads how many spans a run delivered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{App, HttpResponse, HttpServer, web};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::json;

#[derive(clap::Args)]
pub struct OtlpSinkArgs {
    #[arg(long, default_value = "127.0.0.1:4318")]
    bind: String,
}

#[derive(Default)]
struct Counts {
    exports: AtomicU64,
    spans: AtomicU64,
}

#[actix_web::main]
pub async fn serve(args: OtlpSinkArgs) -> std::io::Result<()> {
    let counts = web::Data::new(Arc::new(Counts::default()));
    HttpServer::new(move || {
        App::new()
            .app_data(counts.clone())
            // An export holds up to 512 spans: well over actix's 256 KiB default.
            .app_data(web::PayloadConfig::new(32 * 1024 * 1024))
            .route("/v1/traces", web::post().to(export))
            .route("/count", web::get().to(count))
    })
    .workers(1)
    .bind(&args.bind)?
    .run()
    .await
}

async fn export(body: web::Bytes, counts: web::Data<Arc<Counts>>) -> HttpResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return HttpResponse::BadRequest().finish();
    };
    let spans: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    counts.exports.fetch_add(1, Ordering::Relaxed);
    counts.spans.fetch_add(spans as u64, Ordering::Relaxed);
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .finish()
}

async fn count(counts: web::Data<Arc<Counts>>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "exports": counts.exports.load(Ordering::Relaxed),
        "spans": counts.spans.load(Ordering::Relaxed),
    }))
}
