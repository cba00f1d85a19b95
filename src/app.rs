//! Assembly: [`start`] opens and migrates the database, builds the shared services, starts the
//! tenant supervisor and hands back unfinished events (recovery); [`http_server`] serves the routes.
//! `main` and the integration tests both go through these two functions.

use std::net::TcpListener;
use std::sync::Arc;

use actix::Actor;
use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlers;
use actix_web::{App, HttpServer, web};
use governor::{Quota, RateLimiter};

use crate::cluster::Cluster;
use crate::config::{Config, DatabaseKind};
use crate::ingest::delivery_log::DeliveryLog;
use crate::publish::{FanOut, StatusPublisher};
use crate::services::Services;
use crate::state::AppState;
use crate::store::{db, events};
use crate::tenant::depths::QueueDepths;
use crate::tenant::processing::{Processing, Settings};
use crate::tenant::{Enqueue, TenantSupervisor};
use crate::writer::WriteDb;
use crate::ws::HubPublisher;
use crate::ws::hub::WsHub;

/// How long a stopping server lets requests in flight finish.
const SHUTDOWN_HTTP_SECS: u64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database: {0}")]
    Connect(sea_orm::DbErr),
    #[error("cannot migrate the database: {0}")]
    Migrate(sea_orm::DbErr),
    #[error("cannot recover unfinished events: {0}")]
    Recover(sea_orm::DbErr),
    #[error("cannot start the writer thread: {0}")]
    Writer(std::io::Error),
    #[error("{0}")]
    Secrets(crate::store::tenant_secrets::SecretsError),
    #[error("cannot build the outbound HTTP client: {0}")]
    Relay(reqwest::Error),
}

/// Opens the database, migrates it, starts the WebSocket hub and the tenant supervisor (on the
/// current actix system) and queues every unfinished event again. `observers` receive every status
/// update besides the hub (tests record them). Must run inside an actix `System`.
pub async fn start(
    config: Config,
    observers: Vec<Arc<dyn StatusPublisher>>,
) -> Result<AppState, StartError> {
    crate::metrics::handle();
    let conn = db::connect(&config).await.map_err(StartError::Connect)?;
    db::migrate(&conn).await.map_err(StartError::Migrate)?;
    prepare_secrets(&conn, &config).await?;
    let write_conn = match config.database_kind {
        DatabaseKind::Sqlite => WriteDb::Owned(Arc::new(
            db::open_writer(&config).map_err(StartError::Connect)?,
        )),
        DatabaseKind::Postgres => WriteDb::Pool(
            db::connect_writer_pool(&config, crate::services::WRITERS_POSTGRES)
                .await
                .map_err(StartError::Connect)?,
        ),
    };
    let delivery_log_anon_per_second = config.delivery_log_anon_per_second;
    let ingest_limiter = config
        .ingest_per_tenant_per_second
        .map(|rate| Arc::new(RateLimiter::keyed(Quota::per_second(rate))));
    let hub = WsHub::default().start();
    let hub_publisher: Arc<dyn StatusPublisher> = Arc::new(HubPublisher::new(hub.clone()));
    let cluster = (config.database_kind == DatabaseKind::Postgres)
        .then(|| Arc::new(Cluster::new(&config, &conn)));
    let mut publishers = vec![hub_publisher.clone()];
    publishers.extend(cluster.as_ref().map(|c| c.publisher()));
    publishers.extend(observers);
    let services = Arc::new(
        Services::new(conn, write_conn, config, Arc::new(FanOut(publishers)))
            .map_err(StartError::Writer)?,
    );
    crate::retention::run_in_background(
        services.db.clone(),
        services.gate.clone(),
        crate::retention::Keep {
            events_days: services.config.retention_days,
            deliveries_days: services.config.delivery_log_retention_days,
            outbound_days: services.config.outbound.retention_days,
            audit_days: services.config.audit_retention_days,
        },
        services.config.retention_interval,
    );
    let queue_depths = QueueDepths::default();
    let supervisor = TenantSupervisor::new(
        Arc::new(processing(&services, queue_depths.clone())),
        cluster.as_ref().map(|c| c.ownership()),
    );
    let registry = supervisor.registry();
    let supervisor = supervisor.start();
    let state = AppState {
        services,
        supervisor,
        hub,
        registry,
        queue_depths,
        cluster,
        started_at: chrono::Utc::now(),
        ingest_limiter,
        delivery_log: DeliveryLog::new(delivery_log_anon_per_second),
    };
    start_token_refresh(&state);
    start_relay(&state)?;
    crate::store::directory::TenantDirectory::sweep_in_background(&state.services.directory);
    match &state.cluster {
        // Tenants come with their leases: each one taken resumes its unfinished events.
        Some(cluster) => cluster.start(state.supervisor.clone(), hub_publisher).await,
        None => recover(&state).await.map_err(StartError::Recover)?,
    }
    Ok(state)
}

/// SPEC §14: with OAuth configured, this node refreshes the tokens of the tenants it owns (all of
/// them on SQLite; on PostgreSQL those whose lease it holds).
fn start_token_refresh(state: &AppState) {
    if state.services.config.mp_oauth.is_none() {
        return;
    }
    let owns: crate::connect::refresh_job::Owns = match &state.cluster {
        Some(cluster) => {
            let held = cluster.held.clone();
            Arc::new(move |tenant| held.contains_key(&tenant))
        }
        None => Arc::new(|_| true),
    };
    tokio::spawn(crate::connect::refresh_job::run(
        state.services.connector.clone(),
        owns,
    ));
}

/// SPEC §21: this node sends the outbox's messages (on PostgreSQL, those of the tenants whose
/// lease it holds).
fn start_relay(state: &AppState) -> Result<(), StartError> {
    let services = &state.services;
    let cluster = state
        .cluster
        .as_ref()
        .map(|cluster| crate::relay::ClusterSeat {
            node: cluster.node.clone(),
            held: cluster.held.clone(),
        });
    crate::relay::start(
        services.db.clone(),
        services.writer.clone(),
        services.config.secrets.clone(),
        services.config.outbound.clone(),
        cluster,
    )
    .map_err(StartError::Relay)
}

/// SPEC §16: a key that does not open every stored secret stops start-up; with a key, plain
/// values are sealed now; without one, a warning (once) says they are plain.
async fn prepare_secrets(
    conn: &sea_orm::DatabaseConnection,
    config: &Config,
) -> Result<(), StartError> {
    let prepared = crate::store::tenant_secrets::prepare(conn, &config.secrets)
        .await
        .map_err(StartError::Secrets)?;
    if config.secrets.has_key() {
        tracing::info!(
            sealed_now = prepared.sealed_now,
            "tenant secrets are encrypted at rest"
        );
    } else {
        tracing::warn!(
            plain = prepared.plain,
            "COBRO_SECRET_KEY is not set: tenant secrets are stored in plain text"
        );
    }
    Ok(())
}

/// SPEC §6: `processing` events (a crash mid-way) and `pending` ones go back to their tenant
/// actors in arrival order; `next_retry_at` is honoured by the actors' timers.
async fn recover(state: &AppState) -> Result<(), sea_orm::DbErr> {
    let unfinished = events::recover_unfinished(&state.services.db).await?;
    if !unfinished.is_empty() {
        tracing::info!(events = unfinished.len(), "resuming unfinished events");
    }
    for event in unfinished {
        state.supervisor.do_send(Enqueue {
            tenant: event.tenant_id,
            event_id: event.id,
            not_before: event.next_retry_at,
            urgent: event.urgent,
        });
    }
    Ok(())
}

/// Registers every route; used by [`http_server`] and available to tests that build their own.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(state))
            .app_data(crate::api::json_config())
            .app_data(crate::api::query_config())
            .configure(crate::ingest::configure)
            .configure(crate::api::configure)
            .configure(crate::ws::configure)
            .configure(crate::metrics::configure)
            .configure(crate::dashboard::configure);
    }
}

pub fn http_server(state: AppState, listener: TcpListener) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .wrap(ErrorHandlers::new().handler(
                StatusCode::METHOD_NOT_ALLOWED,
                crate::api::method_not_allowed,
            ))
            .wrap(tracing_actix_web::TracingLogger::<
                crate::telemetry::request_span::RequestSpan,
            >::new())
            .configure(configure(state.clone()))
            .default_service(web::to(crate::api::not_found))
    })
    // Signals are `run`'s: it closes WebSocket clients and drains the tenant actors around the
    // server's own graceful stop.
    .disable_signals()
    .shutdown_timeout(SHUTDOWN_HTTP_SECS)
    // A WebSocket session writes several small frames in a row (an event's `processing`, then its
    // payment and `success`): with Nagle's algorithm each one after the first waited for the
    // client's delayed ACK, ~40 ms, which was the webhook → broadcast p99 (issue 9).
    .tcp_nodelay(true)
    .listen(listener)?
    .run();
    Ok(server)
}

/// The part of the process's services that processing uses (`tenant::Processing`).
fn processing(services: &Services, queue_depths: QueueDepths) -> Processing {
    Processing {
        db: services.db.clone(),
        writer: services.writer.clone(),
        directory: services.directory.clone(),
        providers: services.providers.clone(),
        ghl: services.ghl.clone(),
        connector: services.connector.clone(),
        publisher: services.publisher.clone(),
        pending_reads: services.pending_reads.clone(),
        queue_depths,
        settings: Settings::from_config(&services.config),
    }
}
