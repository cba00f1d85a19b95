//! The overview's figures (issue 13), counted by the database: webhooks per minute over the last
//! hour and per day over the last 30 days by status, approved amount per day by currency, and
//! the queue (depth, oldest pending). One tenant's, or every tenant's for the super admin.
//!
//! Buckets are text, `YYYY-MM-DDTHH:MM` and `YYYY-MM-DD` in UTC: on SQLite a prefix of the stored
//! RFC 3339 time (both sea-orm's and the writer's own connection store `to_rfc3339`, UTC), on
//! PostgreSQL `to_char` of the time in UTC. Time windows are id ranges (UUIDv7), as in search.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement, Value};

use super::search::id_floor;
use crate::domain::TenantId;

/// How many of one status in one bucket.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct Count {
    pub bucket: String,
    pub status: String,
    pub count: i64,
}

/// The approved amount of one currency in one day.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct Amount {
    pub bucket: String,
    pub currency: Option<String>,
    pub amount: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct Queue {
    pub pending: i64,
    pub processing: i64,
    pub oldest_pending_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub per_minute: Vec<Count>,
    pub per_day: Vec<Count>,
    pub approved_per_day: Vec<Amount>,
    pub queue: Queue,
}

/// `YYYY-MM-DDTHH:MM` (16) or `YYYY-MM-DD` (10) of `created_at`, in UTC.
fn bucket(backend: DbBackend, width: usize) -> String {
    match backend {
        DbBackend::Postgres => {
            let format = if width == 16 {
                "YYYY-MM-DD\"T\"HH24:MI"
            } else {
                "YYYY-MM-DD"
            };
            format!("to_char(created_at AT TIME ZONE 'UTC', '{format}')")
        }
        _ => format!("substr(created_at, 1, {width})"),
    }
}

/// `tenant_id = $n AND ` when one tenant is asked for, with its value.
fn scope(tenant: Option<TenantId>, next: usize, backend: DbBackend) -> (String, Vec<Value>) {
    match tenant {
        Some(t) => (
            format!("tenant_id = {} AND ", placeholder(backend, next)),
            vec![t.0.into()],
        ),
        None => (String::new(), Vec::new()),
    }
}

fn placeholder(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".into(),
    }
}

async fn counts(
    db: &impl ConnectionTrait,
    tenant: Option<TenantId>,
    since: DateTime<Utc>,
    width: usize,
) -> Result<Vec<Count>, DbErr> {
    let backend = db.get_database_backend();
    let (scoped, mut values) = scope(tenant, 1, backend);
    let since_at = placeholder(backend, values.len() + 1);
    values.push(id_floor(since).into());
    let sql = format!(
        "SELECT {b} AS bucket, status, COUNT(*) AS count FROM webhook_events \
         WHERE {scoped}id >= {since_at} GROUP BY {b}, status ORDER BY 1",
        b = bucket(backend, width)
    );
    Count::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await
}

async fn approved(
    db: &impl ConnectionTrait,
    tenant: Option<TenantId>,
    since: DateTime<Utc>,
) -> Result<Vec<Amount>, DbErr> {
    let backend = db.get_database_backend();
    let (scoped, mut values) = scope(tenant, 1, backend);
    let since_at = placeholder(backend, values.len() + 1);
    values.push(id_floor(since).into());
    let sql = format!(
        "SELECT {b} AS bucket, currency_id AS currency, SUM(transaction_amount) AS amount \
         FROM payments WHERE {scoped}status = 'APPROVED' AND id >= {since_at} \
         GROUP BY {b}, currency_id ORDER BY 1",
        b = bucket(backend, 10)
    );
    Amount::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await
}

async fn queue(db: &impl ConnectionTrait, tenant: Option<TenantId>) -> Result<Queue, DbErr> {
    let backend = db.get_database_backend();
    let (scoped, values) = scope(tenant, 1, backend);
    // PostgreSQL has no MIN over uuid: the oldest is the earliest `created_at`.
    let sql = format!(
        "SELECT \
           COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS pending, \
           COALESCE(SUM(CASE WHEN status = 'processing' THEN 1 ELSE 0 END), 0) AS processing, \
           MIN(CASE WHEN status = 'pending' THEN created_at END) AS oldest_pending_at \
         FROM webhook_events WHERE {scoped}status IN ('pending', 'processing')"
    );
    let found = Queue::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .one(db)
        .await?;
    Ok(found.unwrap_or(Queue {
        pending: 0,
        processing: 0,
        oldest_pending_at: None,
    }))
}

/// Every figure of the overview, as of `now`.
pub async fn overview(
    db: &impl ConnectionTrait,
    tenant: Option<TenantId>,
    now: DateTime<Utc>,
) -> Result<Stats, DbErr> {
    Ok(Stats {
        per_minute: counts(db, tenant, now - Duration::hours(1), 16).await?,
        per_day: counts(db, tenant, now - Duration::days(30), 10).await?,
        approved_per_day: approved(db, tenant, now - Duration::days(30)).await?,
        queue: queue(db, tenant).await?,
    })
}
