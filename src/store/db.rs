//! Opening the database: SQLite in WAL mode with a busy timeout and the configured
//! `synchronous` (FULL by default, so an acknowledged webhook survives power loss), or PostgreSQL;
//! migrations run on every start.

use std::str::FromStr;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, TransactionOptions,
    TransactionTrait,
};

use crate::config::{Config, DatabaseKind};

/// The main pool: webhooks, the admin API, recovery. Uses the configured `synchronous`.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    open(config, &config.sqlite_synchronous).await
}

/// The pool of the tenant pipeline. On SQLite its connections use `synchronous=NORMAL` when the
/// configuration asks for more: in WAL mode such a commit survives a crash of Cobro, and the next
/// `FULL` commit (every acknowledged webhook is one) syncs the log with everything before it, so
/// a power cut can only lose the last processing updates, which are redone from the event that
/// was durably stored. (PostgreSQL uses the main pool for both.)
pub async fn connect_worker(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let synchronous = match config.sqlite_synchronous.as_str() {
        "full" | "extra" => "normal",
        other => other,
    };
    open(config, synchronous).await
}

async fn open(config: &Config, sqlite_synchronous: &str) -> Result<DatabaseConnection, DbErr> {
    if config.database_kind == DatabaseKind::Sqlite {
        create_sqlite_dir(&config.database_url)?;
    }
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(config.database_max_connections)
        .sqlx_logging(false);
    if config.database_kind == DatabaseKind::Sqlite {
        let synchronous = SqliteSynchronous::from_str(sqlite_synchronous)
            .map_err(|e| DbErr::Custom(format!("sqlite_synchronous: {e}")))?;
        let busy_timeout = config.sqlite_busy_timeout;
        options.map_sqlx_sqlite_opts(move |opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(synchronous)
                .busy_timeout(busy_timeout)
                .foreign_keys(true)
        });
    }
    Database::connect(options).await
}

/// Key of the advisory lock that serialises migrations on PostgreSQL.
const MIGRATION_LOCK: i64 = 0x0C0B_0001;

/// Brings the schema up to date. On PostgreSQL several nodes may start at once on a fresh
/// database: one migrates inside a transaction holding an advisory lock while the others wait,
/// then find nothing left to do.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if !is_postgres(db) {
        return Migrator::up(db, None).await;
    }
    let txn = db.begin().await?;
    txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        .await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// Checks that the database answers; `/ready` uses it.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

/// Options for a transaction that will write: on SQLite it takes the write lock at `BEGIN`, so a
/// read-then-write transaction cannot fail with `SQLITE_BUSY` on the upgrade (the busy timeout
/// covers waiting for the lock instead). PostgreSQL ignores the setting.
pub fn write_transaction() -> TransactionOptions {
    TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    }
}

/// `sqlite://data/cobro.db?mode=rwc` → creates `data/` so a fresh clone starts with no setup.
fn create_sqlite_dir(url: &str) -> Result<(), DbErr> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}

/// Reports whether the backend is PostgreSQL; a few statements differ.
pub fn is_postgres(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == sea_orm::DbBackend::Postgres
}
