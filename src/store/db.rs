//! Opening the database: SQLite in WAL mode with a busy timeout and the configured
//! `synchronous` (FULL by default, so an acknowledged webhook survives power loss), or PostgreSQL;
//! migrations run on every start.

use std::path::PathBuf;
use std::str::FromStr;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    TransactionOptions, TransactionTrait,
};

use crate::config::{Config, DatabaseKind};
use crate::store::owned_sqlite::{OwnedSqlite, Tuning};

/// The main pool: the admin API, the dashboard, recovery, retention. Uses the configured
/// `synchronous`.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    open(config, config.database_max_connections).await
}

/// The write path's connection on SQLite: one connection, owned by the writer's thread and used
/// by it alone (see `store::owned_sqlite` for why it is not one of sqlx's). With one writing
/// connection (the pool's only read, but for retention) its page cache stays valid from one cycle
/// to the next. Opened with the configured `synchronous`; see [`relaxed_synchronous`]. Call it
/// after [`migrate`]: the file and its schema must exist.
pub fn open_writer(config: &Config) -> Result<OwnedSqlite, DbErr> {
    let path = sqlite_path(&config.database_url).ok_or_else(|| {
        DbErr::Custom("the writer needs an SQLite database file, not an in-memory one".into())
    })?;
    OwnedSqlite::open(
        &path,
        &Tuning {
            synchronous: config.sqlite_synchronous.clone(),
            busy_timeout: config.sqlite_busy_timeout,
            cache_kib: WRITER_CACHE_KIB,
            checkpoint_pages: WRITER_CHECKPOINT_PAGES,
        },
    )
}

/// The write path's pool on PostgreSQL: the writer's tasks only, connected lazily, so that every
/// connection is opened by the writer's own runtime (its thread) and its socket is driven by that
/// runtime. A connection of the shared pool is driven by whichever runtime opened it: the writer's
/// statements then waited for an HTTP worker's runtime to poll its socket, and failed outright
/// once that runtime had shut down (a commit whose answer was lost that way was redone, and a
/// webhook it had stored was answered `duplicate`).
pub async fn connect_writer_pool(
    config: &Config,
    tasks: usize,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(u32::try_from(tasks).unwrap_or(u32::MAX))
        .min_connections(0)
        .connect_lazy(true)
        .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
        .sqlx_logging(false);
    held(&mut options, config, "writer");
    Database::connect(options).await
}

/// The writer connection's page cache (SQLite's default is 2 MiB): the pages a cycle touches
/// (recent events, their indexes, payments) stay in memory instead of being read again. 16 MiB
/// measured no faster than 8 and is resident once filled (issue 23, docs/BENCHMARKS.md).
const WRITER_CACHE_KIB: u32 = 8 * 1024;
/// WAL pages before the writer's commit copies them back into the database (SQLite's default is
/// 1,000): a cycle dirties the same hot pages (index roots, the newest leaves) again and again, and
/// a longer log copies each of them once per checkpoint rather than once per few cycles.
const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

/// The `synchronous` of SQLite write cycles that hold no webhook, when it is not the configured
/// one: NORMAL when FULL or EXTRA is configured. In WAL mode such a commit survives a crash of
/// Cobro, and the next FULL commit (every webhook cycle is one) syncs the log with
/// everything before it, so a power cut can only lose the last processing updates, which are
/// redone from the event that was durably stored. `None` on PostgreSQL.
pub fn relaxed_synchronous(config: &Config) -> Option<&'static str> {
    let sqlite = config.database_kind == DatabaseKind::Sqlite;
    let strict = matches!(config.sqlite_synchronous.as_str(), "full" | "extra");
    (sqlite && strict).then_some("normal")
}

/// A pooled connection idle this long is pinged before it is handed out.
const IDLE_BEFORE_PING: std::time::Duration = std::time::Duration::from_secs(30);

async fn open(config: &Config, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    if config.database_kind == DatabaseKind::Sqlite {
        create_sqlite_dir(&config.database_url)?;
    }
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(max_connections)
        // A ping on every checkout is a round trip on every transaction (on SQLite, a hand-off
        // to the connection's thread and back); only a connection idle long enough to have been
        // dropped by a server or a proxy is worth checking.
        .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
        .sqlx_logging(false);
    held(&mut options, config, "main");
    if config.database_kind == DatabaseKind::Sqlite {
        let synchronous = SqliteSynchronous::from_str(&config.sqlite_synchronous)
            .map_err(|e| DbErr::Custom(format!("sqlite_synchronous: {e}")))?;
        let busy_timeout = config.sqlite_busy_timeout;
        options.map_sqlx_sqlite_opts(move |opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(synchronous)
                .busy_timeout(busy_timeout)
                .foreign_keys(true)
                // Statement journals (a multi-row statement inside a transaction keeps one to
                // undo itself) go to memory, not to a temporary file written on every cycle.
                .pragma("temp_store", "memory")
        });
    }
    Database::connect(options).await
}

/// How long a pool's connections live (`database_idle_timeout_secs`,
/// `database_max_lifetime_secs`), and a count of the ones it opens: under steady load
/// `cobro_db_connections_opened_total{pool}` stays flat once every connection is open, so a
/// rising count means connections are dropped and reopened (a proxy cutting them, a lifetime
/// set too short), each paying a TCP and TLS handshake.
fn held(options: &mut ConnectOptions, config: &Config, pool: &'static str) {
    options
        .idle_timeout(config.database_idle_timeout)
        .max_lifetime(config.database_max_lifetime)
        // sqlx's hook, run for every connection the pool opens (sea-orm's `after_connect` runs
        // once, for the pool). Cobro sets no schema search path, sea-orm's only use of it.
        .map_sqlx_postgres_pool_opts(move |opts| {
            opts.after_connect(move |_, _| {
                connection_opened(pool);
                Box::pin(async { Ok(()) })
            })
        })
        .map_sqlx_sqlite_pool_opts(move |opts| {
            opts.after_connect(move |_, _| {
                connection_opened(pool);
                Box::pin(async { Ok(()) })
            })
        });
}

/// Counts a database connection this process opened; `pool` is `main`, `writer` or, for a
/// cluster node's own sessions (heartbeat, LISTEN), `cluster`.
pub fn connection_opened(pool: &'static str) {
    metrics::counter!("cobro_db_connections_opened_total", "pool" => pool).increment(1);
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

/// Begins a transaction that will write (a person's change and its audit row, a prune batch): on
/// SQLite it takes the write lock at `BEGIN`, so a read-then-write transaction cannot fail with
/// `SQLITE_BUSY` on the upgrade (the busy timeout covers waiting for the lock instead).
/// PostgreSQL ignores the setting.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(write_transaction()).await
}

/// The options [`begin_write`] uses (the writer's own transactions take them too).
pub fn write_transaction() -> TransactionOptions {
    TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    }
}

/// The file of a `sqlite://` URL (`None` for an in-memory database or another scheme).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let path = url
        .strip_prefix("sqlite:")?
        .trim_start_matches("//")
        .split('?')
        .next()?;
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// `sqlite://data/cobro.db?mode=rwc` → creates `data/` so a fresh clone starts with no setup.
fn create_sqlite_dir(url: &str) -> Result<(), DbErr> {
    let Some(path) = sqlite_path(url) else {
        return Ok(());
    };
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}

/// Reports whether the backend is PostgreSQL; a few statements differ.
pub fn is_postgres(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == sea_orm::DbBackend::Postgres
}
