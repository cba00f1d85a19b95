//! Cobro: a multi-tenant MercadoPago webhook receiver. Webhooks are verified and stored once
//! (`ingest`), processed per tenant by actors (`tenant`) against MercadoPago and GoHighLevel,
//! retried on a schedule, and exposed through the admin API (`api`). See `app` for the wiring.
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod connect;
pub mod dashboard;
pub mod demo;
pub mod domain;
pub mod error;
pub mod ghl;
pub mod ingest;
pub mod lease;
pub mod metrics;
pub mod outbound;
pub mod provider;
pub mod publish;
pub mod relay;
pub mod retention;
pub mod secrets;
pub mod services;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tenant;
pub mod writer;
pub mod ws;

/// Why `cobro serve` stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Start(#[from] app::StartError),
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Server(std::io::Error),
    #[error("demo: {0}")]
    Demo(String),
    #[error(transparent)]
    SqliteLock(#[from] cluster::SqliteLockError),
}

/// `cobro serve`: start everything and serve until stopped (SIGINT/SIGTERM).
pub async fn run(config: config::Config) -> Result<(), RunError> {
    let bind = config.bind.clone();
    // SQLite is single-node: a second process on the same file stops here, before touching it.
    let _single_node = match config.database_kind {
        config::DatabaseKind::Sqlite => Some(cluster::SqliteLock::acquire(&config.database_url)?),
        config::DatabaseKind::Postgres => None,
    };
    if config.admin_token.is_none() {
        tracing::warn!("COBRO_ADMIN_TOKEN is not set: the admin API answers 503");
    }
    let state = app::start(config, Vec::new()).await?;
    serve(state, &bind, || {}).await
}

/// Serves a started Cobro on `bind` until SIGTERM or Ctrl-C, then shuts down gracefully.
/// `listening` runs once the port is bound (the demo prints its banner there).
pub async fn serve(
    state: state::AppState,
    bind: &str,
    listening: impl FnOnce(),
) -> Result<(), RunError> {
    let listener = std::net::TcpListener::bind(bind).map_err(|source| RunError::Bind {
        bind: bind.to_owned(),
        source,
    })?;
    tracing::info!(%bind, "cobro listening");
    let server = app::http_server(state.clone(), listener).map_err(RunError::Server)?;
    let handle = server.handle();
    let serving = actix_web::rt::spawn(server);
    listening();
    shutdown_signal().await;
    shutdown(&state, handle).await;
    let _ = serving.await;
    Ok(())
}

/// How long attempts in flight may run on after SIGTERM before the process exits anyway; what is
/// cut stays `processing` and resumes at the next start.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// SIGTERM (or Ctrl-C): stop accepting, say goodbye to WebSocket clients, let the attempts in
/// flight finish (bounded), stop the HTTP workers, leave the cluster, and return so the process
/// exits 0. Queued events stay `pending`.
///
/// The attempts finish *before* the HTTP workers stop: a database connection a worker opened
/// dies with that worker's runtime, and the attempts' last writes may be using one.
async fn shutdown(state: &state::AppState, server: actix_web::dev::ServerHandle) {
    tracing::info!("shutting down: no new webhooks, finishing attempts in flight");
    server.pause().await;
    state.hub.do_send(ws::hub::GoingAway);
    let drain = state.supervisor.send(tenant::supervisor::DrainAll);
    match tokio::time::timeout(SHUTDOWN_GRACE, drain).await {
        Ok(_) => tracing::info!("all attempts in flight finished"),
        Err(_) => tracing::warn!(
            "attempts still running after the grace period; they resume at the next start"
        ),
    }
    server.stop(true).await;
    if let Some(cluster) = &state.cluster {
        cluster.leave().await;
    }
    tracing::info!("bye");
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
