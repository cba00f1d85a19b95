//! The process's shared handles: database, writer, configuration, outbound clients, the status
//! publisher. Built once by `app::start` (or a test) and held by the HTTP edge (`AppState`);
//! the layers below get only their part: processing a `tenant::Processing`, sellers' connections
//! a `connect::Connector`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::connect::Connector;
use crate::ghl::GhlClient;
use crate::outbound::http_client;
use crate::provider::Providers;
use crate::publish::StatusPublisher;
use crate::store::directory::TenantDirectory;
use crate::store::gate::WriteGate;
use crate::store::pending_reads::PendingReads;
use crate::writer::{Connections, Relaxed, WriteDb, Writer};

/// Writer tasks on PostgreSQL (each holds a pool connection while it commits a cycle).
pub const WRITERS_POSTGRES: usize = 4;

pub struct Services {
    /// Webhooks, admin API, recovery (SQLite: the configured `synchronous`, FULL by default).
    pub db: DatabaseConnection,
    /// Taken around every write transaction on SQLite (the writer's cycles, retention).
    pub gate: WriteGate,
    /// Every write of ingest and of the tenant pipeline, committed together in cycles.
    pub writer: Writer,
    /// Cached tenant lookups; the admin API forgets them on every tenant change.
    pub directory: Arc<TenantDirectory>,
    pub config: Arc<Config>,
    /// The payment providers' clients.
    pub providers: Providers,
    pub ghl: GhlClient,
    /// Sellers' OAuth connections.
    pub connector: Arc<Connector>,
    pub publisher: Arc<dyn StatusPublisher>,
    /// PostgreSQL: the tenant actors' pulls, read together (`None` on SQLite, which never pulls).
    pub pending_reads: Option<PendingReads>,
}

impl Services {
    pub fn new(
        db: DatabaseConnection,
        write_db: WriteDb,
        config: Config,
        publisher: Arc<dyn StatusPublisher>,
    ) -> std::io::Result<Self> {
        let http = http_client(config.http_timeout);
        let gate = WriteGate::for_database(config.database_kind);
        let directory = Arc::new(TenantDirectory::new(db.clone(), config.secrets.clone()));
        // On PostgreSQL every pipeline write is fenced under this node's cluster id.
        let node = (config.database_kind == crate::config::DatabaseKind::Postgres)
            .then(|| std::sync::Arc::from(config.node_id.as_str()));
        // SQLite has one writer; PostgreSQL commits a few cycles in parallel.
        let writers = match config.database_kind {
            crate::config::DatabaseKind::Sqlite => 1,
            crate::config::DatabaseKind::Postgres => WRITERS_POSTGRES,
        };
        let connections = Connections {
            db: write_db,
            relaxed: crate::store::db::relaxed_synchronous(&config).map(|relaxed| Relaxed {
                durable: config.sqlite_synchronous.clone(),
                relaxed,
            }),
        };
        let writer = Writer::start(connections, gate.clone(), node, writers)?;
        let pending_reads = (config.database_kind == crate::config::DatabaseKind::Postgres)
            .then(|| PendingReads::start(db.get_postgres_connection_pool().clone()));
        let providers = Providers::new(http.clone(), &config);
        let config = Arc::new(config);
        let connector = Connector::new(
            db.clone(),
            gate.clone(),
            directory.clone(),
            providers.clone(),
            config.clone(),
        );
        Ok(Self {
            ghl: GhlClient::new(http, config.ghl_api_base.clone()),
            connector: Arc::new(connector),
            providers,
            db,
            gate,
            writer,
            directory,
            config,
            publisher,
            pending_reads,
        })
    }
}
