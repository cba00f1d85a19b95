//! Running a statement built by sea-query on the connection a write is made on: a sea-orm
//! connection or transaction (the pool, PostgreSQL's writer, the admin API), or the writer's own
//! SQLite connection ([`OwnedTxn`](super::owned_sqlite::OwnedTxn)). The `store` functions the
//! writer calls build their statements once and run them through [`Run`], so both backends write
//! through the same code.

use sea_orm::sea_query::{InsertStatement, ReturningClause, UpdateStatement};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, FromQueryResult, QueryTrait, Statement, StatementBuilder,
};
use serde::de::DeserializeOwned;

/// A row the writer reads back: decoded by sea-orm from its own connections, deserialized from
/// the owned SQLite connection's typed JSON.
pub trait Row: FromQueryResult + DeserializeOwned + Send {}

impl<T: FromQueryResult + DeserializeOwned + Send> Row for T {}

#[async_trait::async_trait]
pub trait Run: Sync {
    fn backend(&self) -> DbBackend;

    /// Runs a statement; answers how many rows it changed.
    async fn exec(&self, stmt: Statement) -> Result<u64, DbErr>;

    /// Runs a statement; answers its rows.
    async fn rows<M: Row>(&self, stmt: Statement) -> Result<Vec<M>, DbErr>;
}

macro_rules! run_on_sea_orm {
    ($($connection:ty),*) => {$(
        #[async_trait::async_trait]
        impl Run for $connection {
            fn backend(&self) -> DbBackend {
                self.get_database_backend()
            }

            async fn exec(&self, stmt: Statement) -> Result<u64, DbErr> {
                Ok(self.execute_raw(stmt).await?.rows_affected())
            }

            async fn rows<M: Row>(&self, stmt: Statement) -> Result<Vec<M>, DbErr> {
                M::find_by_statement(stmt).all(self).await
            }
        }
    )*};
}

run_on_sea_orm!(DatabaseConnection, DatabaseTransaction);

/// Runs a sea-orm query (a select, an update or delete without rows back).
pub async fn exec(db: &impl Run, query: &impl QueryTrait) -> Result<u64, DbErr> {
    db.exec(query.build(db.backend())).await
}

/// The rows of a select.
pub async fn select<M: Row>(db: &impl Run, query: &impl QueryTrait) -> Result<Vec<M>, DbErr> {
    db.rows(query.build(db.backend())).await
}

/// An insert, upsert or update that can answer the rows it wrote.
pub trait Writes: StatementBuilder + Send {
    /// Adds `RETURNING *`.
    fn return_rows(&mut self);

    /// Adds `RETURNING` with these columns.
    fn return_columns(&mut self, columns: ReturningClause);
}

macro_rules! writes {
    ($($statement:ty),*) => {$(
        impl Writes for $statement {
            fn return_rows(&mut self) {
                self.returning_all();
            }

            fn return_columns(&mut self, columns: ReturningClause) {
                self.returning(columns);
            }
        }
    )*};
}

writes!(UpdateStatement, InsertStatement);

/// Runs an insert, upsert or update; answers the rows it wrote, as they are after it.
pub async fn returning<M: Row>(db: &impl Run, mut write: impl Writes) -> Result<Vec<M>, DbErr> {
    write.return_rows();
    db.rows(db.backend().build(&write)).await
}

/// Runs an insert, upsert or update; answers the given columns of the rows it wrote, as `M`.
pub async fn returning_columns<M: Row>(
    db: &impl Run,
    mut write: impl Writes,
    columns: ReturningClause,
) -> Result<Vec<M>, DbErr> {
    write.return_columns(columns);
    db.rows(db.backend().build(&write)).await
}

/// Writes the set columns of one row (by primary key); answers the row as it is after the write,
/// or `RecordNotUpdated` when there is no such row.
pub async fn update_one<A>(db: &impl Run, row: A) -> Result<ModelOf<A>, DbErr>
where
    A: ActiveModelTrait + Send,
    ModelOf<A>: Row,
{
    let update = A::Entity::update(row).validate()?.into_query();
    let updated: Vec<ModelOf<A>> = returning(db, update).await?;
    updated.into_iter().next().ok_or(DbErr::RecordNotUpdated)
}

type ModelOf<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Model;
