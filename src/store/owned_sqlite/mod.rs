//! The writer's own SQLite connection (rusqlite), used by the writer thread alone. Each statement
//! runs on the calling thread: a cycle's half-dozen statements are plain function calls, where
//! sqlx sends each one to its connection's worker thread and waits to be woken with the answer.
//! On two busy cores every such wake-up waited for a core, and a cycle took 10–16 ms of which the
//! database itself used a fraction (docs/BENCHMARKS.md, issue 9).
//!
//! Its transactions implement [`Run`], so the writer's `store` functions (statements built by
//! sea-query) run on it as they run on a sea-orm connection. It stores values exactly as sqlx
//! does (`values`), so the pool's connections read what it writes. Transactions and savepoints
//! are explicit ([`OwnedSqlite::begin`]); one left unfinished is rolled back when dropped.

mod values;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sea_orm::{DbBackend, DbErr, Statement};

use super::run::{Row, Run};

/// What the writer's connection is opened with, beyond the pool's settings.
pub struct Tuning {
    /// `synchronous` (the configured one: FULL by default).
    pub synchronous: String,
    pub busy_timeout: Duration,
    /// Page cache, in KiB.
    pub cache_kib: u32,
    /// WAL pages before a commit copies them back into the database.
    pub checkpoint_pages: u32,
}

/// Statements kept prepared (least recently used dropped first): a cycle's statements differ with
/// their number of rows, and the same sizes come back often under a steady load. A prepared
/// statement of many rows holds tens of kB: 256 of them were 11 MB after a burst over 10,000
/// tenants (issue 23, heaptrack), and 64 sustain the same rate (docs/BENCHMARKS.md).
const PREPARED: usize = 64;

pub struct OwnedSqlite {
    // A mutex only so the connection can be shared by reference with sea-orm's `Sync` trait;
    // nothing but the writer thread ever takes it.
    conn: Mutex<Connection>,
}

impl OwnedSqlite {
    /// Opens an existing database file (the pool created and migrated it) in WAL mode.
    pub fn open(path: &Path, tuning: &Tuning) -> Result<Self, DbErr> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(db_err)?;
        conn.busy_timeout(tuning.busy_timeout).map_err(db_err)?;
        conn.set_prepared_statement_cache_capacity(PREPARED);
        // The values are checked configuration (`config` parsed `synchronous`), not input.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA foreign_keys = ON;
             PRAGMA temp_store = memory; PRAGMA cache_size = -{}; PRAGMA wal_autocheckpoint = {};",
            tuning.synchronous, tuning.cache_kib, tuning.checkpoint_pages
        ))
        .map_err(db_err)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while it was held leaves nothing half-done that SQLite would not roll back.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes SQLite's write lock at once (`BEGIN IMMEDIATE`), as the pool's write transactions do.
    pub fn begin(&self) -> Result<OwnedTxn<'_>, DbErr> {
        self.batch("BEGIN IMMEDIATE")?;
        Ok(OwnedTxn {
            db: self,
            depth: 0,
            open: true,
        })
    }

    /// Runs SQL without parameters (transaction control, settings).
    pub fn batch(&self, sql: &str) -> Result<(), DbErr> {
        self.lock().execute_batch(sql).map_err(db_err)
    }

    /// Runs a statement; answers how many rows it changed.
    fn execute(&self, stmt: &Statement) -> Result<u64, DbErr> {
        let conn = self.lock();
        let mut prepared = prepare(&conn, stmt)?;
        // Stepped through as a query: a statement may answer rows (a PRAGMA) even when unread.
        let mut rows = prepared.raw_query();
        while rows.next().map_err(db_err)?.is_some() {}
        drop(rows);
        Ok(conn.changes())
    }

    /// Runs a statement; answers its rows, typed (see `values`).
    fn query(&self, stmt: &Statement) -> Result<Vec<serde_json::Value>, DbErr> {
        let conn = self.lock();
        let mut prepared = prepare(&conn, stmt)?;
        let names: Vec<String> = prepared
            .column_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let kinds = values::kinds(&names);
        let mut rows = prepared.raw_query();
        let mut answer = Vec::new();
        while let Some(row) = rows.next().map_err(db_err)? {
            answer.push(values::row(&names, &kinds, row)?);
        }
        Ok(answer)
    }
}

fn prepare<'c>(
    conn: &'c Connection,
    stmt: &Statement,
) -> Result<rusqlite::CachedStatement<'c>, DbErr> {
    let mut prepared = conn.prepare_cached(&stmt.sql).map_err(db_err)?;
    for (index, value) in stmt.values.iter().flat_map(|v| v.0.iter()).enumerate() {
        prepared
            .raw_bind_parameter(index + 1, values::bind(value)?)
            .map_err(db_err)?;
    }
    Ok(prepared)
}

fn db_err(err: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("sqlite: {err}"))
}

/// A transaction, or a savepoint inside one, on the writer's connection. Finish it with
/// [`OwnedTxn::commit`]; dropped unfinished, it is rolled back.
pub struct OwnedTxn<'a> {
    db: &'a OwnedSqlite,
    /// 0: the transaction; n: the n-th nested savepoint.
    depth: u32,
    open: bool,
}

impl OwnedTxn<'_> {
    /// A savepoint inside this transaction: rolled back alone, or released into it.
    pub fn savepoint(&self) -> Result<OwnedTxn<'_>, DbErr> {
        let depth = self.depth + 1;
        self.db.batch(&format!("SAVEPOINT cycle_{depth}"))?;
        Ok(OwnedTxn {
            db: self.db,
            depth,
            open: true,
        })
    }

    pub fn commit(mut self) -> Result<(), DbErr> {
        let sql = match self.depth {
            0 => "COMMIT".to_owned(),
            n => format!("RELEASE cycle_{n}"),
        };
        // A failed COMMIT leaves the transaction open: dropping `self` rolls it back.
        self.db.batch(&sql)?;
        self.open = false;
        Ok(())
    }

    pub fn rollback(mut self) -> Result<(), DbErr> {
        self.open = false;
        self.db.batch(&self.rollback_sql())
    }

    fn rollback_sql(&self) -> String {
        match self.depth {
            0 => "ROLLBACK".to_owned(),
            n => format!("ROLLBACK TO cycle_{n}; RELEASE cycle_{n}"),
        }
    }
}

impl Drop for OwnedTxn<'_> {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        // SQLite may have rolled back already (after an I/O error, say); then there is nothing
        // to undo and the error says so.
        if let Err(err) = self.db.batch(&self.rollback_sql()) {
            tracing::debug!(error = %err, "rolling back an unfinished write transaction");
        }
    }
}

#[async_trait::async_trait]
impl Run for OwnedTxn<'_> {
    fn backend(&self) -> DbBackend {
        DbBackend::Sqlite
    }

    async fn exec(&self, stmt: Statement) -> Result<u64, DbErr> {
        self.db.execute(&stmt)
    }

    async fn rows<M: Row>(&self, stmt: Statement) -> Result<Vec<M>, DbErr> {
        self.db
            .query(&stmt)?
            .into_iter()
            .map(|row| serde_json::from_value(row).map_err(|e| DbErr::Type(e.to_string())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::Value;

    use super::*;

    fn open(dir: &tempfile::TempDir) -> OwnedSqlite {
        let tuning = Tuning {
            synchronous: "full".into(),
            busy_timeout: Duration::from_secs(1),
            cache_kib: 1024,
            checkpoint_pages: 1000,
        };
        let path = dir.path().join("t.db");
        assert!(
            OwnedSqlite::open(&path, &tuning).is_err(),
            "the writer opens only a database that exists (the pool creates and migrates it)"
        );
        Connection::open(&path).expect("create");
        let db = OwnedSqlite::open(&path, &tuning).expect("open");
        db.batch("CREATE TABLE t (n INTEGER NOT NULL)")
            .expect("table");
        db
    }

    fn insert(n: i64) -> Statement {
        Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "INSERT INTO t (n) VALUES (?)",
            [Value::BigInt(Some(n))],
        )
    }

    fn count(db: &OwnedSqlite) -> i64 {
        db.lock()
            .query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
            .expect("count")
    }

    /// A savepoint rolled back undoes its own writes only; a transaction dropped unfinished
    /// undoes everything; a committed one keeps everything.
    #[tokio::test]
    async fn savepoints_roll_back_alone_and_dropped_transactions_roll_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = open(&dir);
        let txn = db.begin().expect("begin");
        assert_eq!(txn.exec(insert(1)).await.expect("insert"), 1);
        let savepoint = txn.savepoint().expect("savepoint");
        savepoint.exec(insert(2)).await.expect("insert");
        savepoint.rollback().expect("rollback");
        let kept = txn.savepoint().expect("savepoint");
        kept.exec(insert(3)).await.expect("insert");
        kept.commit().expect("release");
        txn.commit().expect("commit");
        assert_eq!(count(&db), 2, "1 and 3, not 2");

        let dropped = db.begin().expect("begin");
        dropped.exec(insert(4)).await.expect("insert");
        drop(dropped);
        assert_eq!(count(&db), 2, "the dropped transaction was rolled back");
        // The connection is usable again: nothing was left open.
        db.begin().expect("begin").commit().expect("commit");
    }

    /// A failing statement is an error, and the connection stays usable after it.
    #[tokio::test]
    async fn a_failing_statement_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = open(&dir);
        let txn = db.begin().expect("begin");
        let bad = Statement::from_string(DbBackend::Sqlite, "INSERT INTO missing VALUES (1)");
        assert!(txn.exec(bad).await.is_err());
        drop(txn);
        let txn = db.begin().expect("begin");
        txn.exec(insert(5)).await.expect("insert");
        txn.commit().expect("commit");
        assert_eq!(count(&db), 1);
    }
}
