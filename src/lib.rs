//! Cobro: a multi-tenant MercadoPago webhook receiver. Webhooks are verified and stored once
//! (`ingest`), processed per tenant by actors (`tenant`) against MercadoPago and GoHighLevel,
//! retried on a schedule, and exposed through the admin API (`api`). See `app` for the wiring.
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod domain;
pub mod error;
pub mod ghl;
pub mod ingest;
pub mod mercadopago;
pub mod metrics;
pub mod outbound;
pub mod publish;
pub mod retention;
pub mod services;
pub mod store;
pub mod telemetry;
pub mod tenant;
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
}

/// `cobro serve`: start everything and serve until stopped (SIGINT/SIGTERM).
pub async fn run(config: config::Config) -> Result<(), RunError> {
    let bind = config.bind.clone();
    if config.admin_token.is_none() {
        tracing::warn!("COBRO_ADMIN_TOKEN is not set: the admin API answers 503");
    }
    let state = app::start(config, Vec::new()).await?;
    let listener = std::net::TcpListener::bind(&bind).map_err(|source| RunError::Bind {
        bind: bind.clone(),
        source,
    })?;
    tracing::info!(%bind, "cobro listening");
    app::http_server(state, listener)
        .map_err(RunError::Server)?
        .await
        .map_err(RunError::Server)
}
