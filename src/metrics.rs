//! Prometheus metrics (SPEC §12) through the `metrics` facade and its Prometheus exporter. The
//! recorder is process-wide and installed once; `GET /metrics` refreshes the gauges that are
//! read from the database (events by status) and renders the text format.
//!
//! Names, for dashboards and alerts:
//! - `cobro_webhooks_received_total{outcome}`: accepted, duplicate, ignored, bad_request,
//!   too_large, unauthorized, rate_limited, error
//! - `cobro_events{status}`: events in the database by status
//! - `cobro_processing_duration_seconds{result}`: one processing attempt (success, retry, failed)
//! - `cobro_retries_total`, `cobro_events_failed_total`
//! - `cobro_outbound_request_duration_seconds{service,status}`: MP and GHL calls
//! - `cobro_write_cycle_events`: webhooks per webhook cycle, `cobro_write_cycle_writes`:
//!   pipeline writes per pipeline cycle; `cobro_write_cycle_seconds{kind}` (webhooks, pipeline):
//!   how long each cycle took (begin to answers sent);
//!   `cobro_write_cycles_redone_total`: cycles redone one write at a time (should stay 0)
//! - `cobro_db_connections_opened_total{pool}` (main, writer, cluster): database connections
//!   opened; flat under steady load once warm (`store::db`)
//! - `cobro_tenant_queue_depth{tenant}` (only tenants with work; `tenant::depths`),
//!   `cobro_tenant_actors`, `cobro_ws_sessions`
//! - cluster (PostgreSQL): `cobro_cluster_pulls_per_read` (the actors' pulls each read of
//!   pending events answered), `cobro_cluster_nodes_alive`, `cobro_cluster_tenants_owned` (this
//!   node), and per registered node `cobro_cluster_node_alive{node}`,
//!   `cobro_cluster_node_tenants{node}`, `cobro_cluster_node_heartbeat_age_seconds{node}`

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sea_orm::{DatabaseConnection, DbErr};

use crate::domain::EventStatus;
use crate::state::AppState;

/// Seconds; from a fast local call to the 10 s default timeout.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder the first time; later calls (tests start many apps) reuse it.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets(&BUCKETS).ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(err) => {
                    tracing::warn!(error = %err, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").route(web::get().to(render)));
}

#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"), (status = 503, description = "the metrics recorder is not installed", body = String, content_type = "text/plain")))]
pub(crate) async fn render(state: web::Data<AppState>) -> HttpResponse {
    let Some(handle) = handle() else {
        return HttpResponse::ServiceUnavailable().body("metrics recorder not installed\n");
    };
    if let Err(err) = refresh_event_gauges(&state.services.db).await {
        tracing::warn!(error = %err, "could not count events by status");
    }
    if let Some(cluster) = &state.cluster {
        match cluster.nodes().await {
            Ok(nodes) => refresh_cluster_gauges(&nodes),
            Err(err) => tracing::warn!(error = %err, "could not read the cluster's nodes"),
        }
    }
    handle.run_upkeep();
    let mut text = handle.render();
    text.push_str(&state.queue_depths.render());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text)
}

async fn refresh_event_gauges(db: &DatabaseConnection) -> Result<(), DbErr> {
    let counts = crate::store::events::count_by_status(db).await?;
    for status in EventStatus::ALL {
        let count = counts
            .iter()
            .find(|(s, _)| s == status.as_str())
            .map_or(0, |(_, n)| *n);
        metrics::gauge!("cobro_events", "status" => status.as_str()).set(count as f64);
    }
    Ok(())
}

/// `GET /api/cluster`'s view as gauges, one series per registered node.
fn refresh_cluster_gauges(nodes: &[crate::store::cluster::NodeRow]) {
    let now = chrono::Utc::now();
    for node in nodes {
        let id = node.node_id.clone();
        let age = (now - node.heartbeat_at).num_milliseconds() as f64 / 1000.0;
        metrics::gauge!("cobro_cluster_node_alive", "node" => id.clone())
            .set(f64::from(u8::from(node.alive)));
        metrics::gauge!("cobro_cluster_node_tenants", "node" => id.clone())
            .set(node.tenants_owned as f64);
        metrics::gauge!("cobro_cluster_node_heartbeat_age_seconds", "node" => id).set(age.max(0.0));
    }
}
