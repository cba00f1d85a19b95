//! Where a cycle's statements run: a sea-orm transaction on the pool (PostgreSQL), or a
//! transaction on the writer's own SQLite connection ([`OwnedSqlite`]). Both [`Run`] statements,
//! so `together` and `one_by_one` write through the same `store` functions on either; only
//! beginning, savepoints and the commit differ.

use std::sync::Arc;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Statement,
    TransactionTrait,
};

use crate::store::db::write_transaction;
use crate::store::owned_sqlite::{OwnedSqlite, OwnedTxn};
use crate::store::run::{Row, Run};

/// The connection cycles commit on.
#[derive(Clone)]
pub enum WriteDb {
    /// PostgreSQL: the pool, shared by the writer's tasks.
    Pool(DatabaseConnection),
    /// SQLite: the writer's own connection, on the writer's thread.
    Owned(Arc<OwnedSqlite>),
}

impl WriteDb {
    pub(super) async fn begin(&self) -> Result<Txn<'_>, DbErr> {
        Ok(match self {
            WriteDb::Pool(db) => Txn::Pool(db.begin_with_options(write_transaction()).await?),
            WriteDb::Owned(db) => Txn::Owned(db.begin()?),
        })
    }

    /// A setting outside any transaction (the writer's `synchronous`).
    pub(super) async fn execute_unprepared(&self, sql: &str) -> Result<(), DbErr> {
        match self {
            WriteDb::Pool(db) => db.execute_unprepared(sql).await.map(drop),
            WriteDb::Owned(db) => db.batch(sql),
        }
    }
}

/// A cycle's transaction, or a savepoint in it.
pub(super) enum Txn<'a> {
    Pool(DatabaseTransaction),
    Owned(OwnedTxn<'a>),
}

impl Txn<'_> {
    pub async fn savepoint(&self) -> Result<Txn<'_>, DbErr> {
        Ok(match self {
            Txn::Pool(txn) => Txn::Pool(txn.begin().await?),
            Txn::Owned(txn) => Txn::Owned(txn.savepoint()?),
        })
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        match self {
            Txn::Pool(txn) => txn.commit().await,
            Txn::Owned(txn) => txn.commit(),
        }
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        match self {
            Txn::Pool(txn) => txn.rollback().await,
            Txn::Owned(txn) => txn.rollback(),
        }
    }
}

#[async_trait::async_trait]
impl Run for Txn<'_> {
    fn backend(&self) -> DbBackend {
        match self {
            Txn::Pool(txn) => txn.backend(),
            Txn::Owned(txn) => txn.backend(),
        }
    }

    async fn exec(&self, stmt: Statement) -> Result<u64, DbErr> {
        match self {
            Txn::Pool(txn) => txn.exec(stmt).await,
            Txn::Owned(txn) => txn.exec(stmt).await,
        }
    }

    async fn rows<M: Row>(&self, stmt: Statement) -> Result<Vec<M>, DbErr> {
        match self {
            Txn::Pool(txn) => txn.rows(stmt).await,
            Txn::Owned(txn) => txn.rows(stmt).await,
        }
    }
}
