//! The cluster's statements (SPEC §13), PostgreSQL only: membership rows, tenant leases with
//! their fences, and "this tenant's pending events in arrival order". The coordinator
//! (`cluster::coordinator`), the pipeline writer's fence check and the tenant actors' pulls call
//! these; nothing else touches the two cluster tables.

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, DbErr, Statement};
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgPool};
use std::time::Duration;
use uuid::Uuid;

use super::run::Run;
use crate::domain::EventId;

/// "Node `n` is alive": a heartbeat younger than the lease, and either the session it heartbeats
/// on still exists or the heartbeat is younger than the crash grace. So a killed process is dead
/// once its session is gone and the grace has passed (about two heartbeats: long enough for a
/// node whose session broke to notice at its next heartbeat and stop calling out first), and a
/// paused or cut-off one once its heartbeat is older than the lease. The arguments name the
/// parameters holding the lease and the grace in milliseconds. A macro so that every query stays
/// a literal.
macro_rules! alive {
    ($lease:literal, $grace:literal) => {
        concat!(
            "n.heartbeat_at > now() - make_interval(secs => ",
            $lease,
            " / 1000.0) AND (n.heartbeat_at > now() - make_interval(secs => ",
            $grace,
            " / 1000.0) OR EXISTS (SELECT 1 FROM pg_stat_activity a \
             WHERE a.pid = n.backend_pid AND a.backend_start = n.backend_start))"
        )
    };
}

/// When a node counts as dead (see `alive!`).
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    pub lease: Duration,
    pub crash_grace: Duration,
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Registers (or re-registers) this node on `session`, the connection it will heartbeat on.
pub async fn register(
    session: &mut PgConnection,
    node: &str,
    address: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO cluster_nodes (node_id, address, started_at, heartbeat_at, backend_pid, backend_start)
         SELECT $1, $2, now(), now(), pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()
         ON CONFLICT (node_id) DO UPDATE SET address = EXCLUDED.address, started_at = EXCLUDED.started_at,
             heartbeat_at = now(), backend_pid = EXCLUDED.backend_pid, backend_start = EXCLUDED.backend_start",
    )
    .bind(node)
    .bind(address)
    .execute(&mut *session)
    .await?;
    Ok(())
}

/// Renews this node's heartbeat on its own session. `false`: the row is gone or belongs to
/// another session (another process took this node id, or we were removed as dead).
pub async fn heartbeat(session: &mut PgConnection, node: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE cluster_nodes SET heartbeat_at = now() WHERE node_id = $1 AND backend_pid = pg_backend_pid()",
    )
    .bind(node)
    .execute(&mut *session)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A registered node and how many tenants it owns.
#[derive(Debug, Clone)]
pub struct NodeRow {
    pub node_id: String,
    pub address: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub alive: bool,
    pub tenants_owned: i64,
}

/// Every registered node, alive or not, with how many tenants each owns.
pub async fn nodes(pool: &PgPool, liveness: Liveness) -> Result<Vec<NodeRow>, sqlx::Error> {
    let sql = concat!(
        "SELECT n.node_id, n.address, n.started_at, n.heartbeat_at, (",
        alive!("$1", "$2"),
        ") AS alive, (SELECT count(*) FROM tenant_leases l WHERE l.owner_node = n.node_id) AS owned
         FROM cluster_nodes n ORDER BY n.node_id"
    );
    let rows = sqlx::query(sql)
        .bind(millis(liveness.lease))
        .bind(millis(liveness.crash_grace))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(NodeRow {
                node_id: row.try_get(0)?,
                address: row.try_get(1)?,
                started_at: row.try_get(2)?,
                heartbeat_at: row.try_get(3)?,
                alive: row.try_get(4)?,
                tenants_owned: row.try_get(5)?,
            })
        })
        .collect()
}

/// The ids of the live nodes.
pub async fn live_nodes(pool: &PgPool, liveness: Liveness) -> Result<Vec<String>, sqlx::Error> {
    let sql = concat!(
        "SELECT n.node_id FROM cluster_nodes n WHERE ",
        alive!("$1", "$2"),
        " ORDER BY n.node_id"
    );
    sqlx::query_scalar(sql)
        .bind(millis(liveness.lease))
        .bind(millis(liveness.crash_grace))
        .fetch_all(pool)
        .await
}

/// Forgets nodes dead for longer than `after` (they stay listed as dead until then).
pub async fn forget_dead_nodes(pool: &PgPool, after: Duration) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM cluster_nodes WHERE heartbeat_at < now() - make_interval(secs => $1 / 1000.0)
         AND node_id NOT IN (SELECT owner_node FROM tenant_leases WHERE owner_node IS NOT NULL)",
    )
    .bind(millis(after))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub async fn tenant_ids(pool: &PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM tenants")
        .fetch_all(pool)
        .await
}

/// The leases this node holds, with their fences.
pub async fn leases_of(pool: &PgPool, node: &str) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT tenant_id, fence FROM tenant_leases WHERE owner_node = $1")
        .bind(node)
        .fetch_all(pool)
        .await
}

/// A lease taken by [`acquire`]: the new fence, and who held it before (for the log).
#[derive(Debug, Clone)]
pub struct Acquired {
    pub tenant: Uuid,
    pub fence: i64,
    pub previous_owner: Option<String>,
}

/// Takes the leases of `tenants` that are free, or whose owner is dead (compare-and-set: a live
/// owner keeps its lease until it releases it). Each take bumps the fence, and the taken tenants'
/// `processing` events go back to `pending` in the same transaction, to be pulled again in
/// arrival order.
pub async fn acquire(
    pool: &PgPool,
    node: &str,
    tenants: &[Uuid],
    liveness: Liveness,
) -> Result<Vec<Acquired>, sqlx::Error> {
    let mut txn = pool.begin().await?;
    let previous: Vec<(Uuid, Option<String>)> =
        sqlx::query_as("SELECT tenant_id, owner_node FROM tenant_leases WHERE tenant_id = ANY($1)")
            .bind(tenants)
            .fetch_all(&mut *txn)
            .await?;
    let sql = concat!(
        "INSERT INTO tenant_leases (tenant_id, owner_node, fence, acquired_at)
         SELECT t.id, $1, 1, now() FROM tenants t WHERE t.id = ANY($2)
         ON CONFLICT (tenant_id) DO UPDATE
            SET owner_node = EXCLUDED.owner_node, fence = tenant_leases.fence + 1, acquired_at = now()
            WHERE tenant_leases.owner_node IS NULL OR tenant_leases.owner_node = $1
               OR NOT EXISTS (SELECT 1 FROM cluster_nodes n
                              WHERE n.node_id = tenant_leases.owner_node AND ",
        alive!("$3", "$4"),
        ")
         RETURNING tenant_id, fence"
    );
    let taken: Vec<(Uuid, i64)> = sqlx::query_as(sql)
        .bind(node)
        .bind(tenants)
        .bind(millis(liveness.lease))
        .bind(millis(liveness.crash_grace))
        .fetch_all(&mut *txn)
        .await?;
    if !taken.is_empty() {
        let ids: Vec<Uuid> = taken.iter().map(|(t, _)| *t).collect();
        sqlx::query(
            "UPDATE webhook_events SET status = 'pending'
             WHERE tenant_id = ANY($1) AND status = 'processing'",
        )
        .bind(&ids)
        .execute(&mut *txn)
        .await?;
    }
    txn.commit().await?;
    Ok(taken
        .into_iter()
        .map(|(tenant, fence)| Acquired {
            tenant,
            fence,
            previous_owner: previous
                .iter()
                .find(|(t, _)| *t == tenant)
                .and_then(|(_, owner)| owner.clone()),
        })
        .collect())
}

/// Gives a lease back (only if this node still holds it with this fence).
pub async fn release(
    pool: &PgPool,
    node: &str,
    tenant: Uuid,
    fence: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tenant_leases SET owner_node = NULL WHERE tenant_id = $1 AND owner_node = $2 AND fence = $3",
    )
    .bind(tenant)
    .bind(node)
    .bind(fence)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Leaving the cluster (SIGTERM): every lease back and the node's row gone, in one transaction,
/// then a word on `cobro_nodes` so the others take over at once.
pub async fn leave(pool: &PgPool, node: &str) -> Result<u64, sqlx::Error> {
    let mut txn = pool.begin().await?;
    let released = sqlx::query("UPDATE tenant_leases SET owner_node = NULL WHERE owner_node = $1")
        .bind(node)
        .execute(&mut *txn)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM cluster_nodes WHERE node_id = $1")
        .bind(node)
        .execute(&mut *txn)
        .await?;
    sqlx::query("SELECT pg_notify('cobro_nodes', $1)")
        .bind(node)
        .execute(&mut *txn)
        .await?;
    txn.commit().await?;
    Ok(released)
}

/// The fence check of the pipeline writer: of `tenants`, those this node still holds, with their
/// fences. Run inside the writer's transaction; `FOR SHARE` makes a take-over wait for that
/// transaction to end, so a result is never written after its tenant moved.
pub async fn held_leases(
    txn: &impl Run,
    node: &str,
    tenants: &[Uuid],
) -> Result<Vec<(Uuid, i64)>, DbErr> {
    let placeholders: Vec<String> = (0..tenants.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT tenant_id, fence FROM tenant_leases
         WHERE owner_node = $1 AND tenant_id IN ({}) FOR SHARE",
        placeholders.join(", ")
    );
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(tenants.len() + 1);
    values.push(node.into());
    values.extend(tenants.iter().map(|t| sea_orm::Value::from(*t)));
    #[derive(sea_orm::FromQueryResult, serde::Deserialize)]
    struct Held {
        tenant_id: Uuid,
        fence: i64,
    }
    let rows: Vec<Held> = txn
        .rows(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    Ok(rows.into_iter().map(|h| (h.tenant_id, h.fence)).collect())
}

/// A pending event as a tenant actor pulls it.
#[derive(Debug, Clone, Copy)]
pub struct PendingEvent {
    pub id: EventId,
    pub seq: i64,
    pub next_retry_at: Option<DateTime<Utc>>,
    /// A fraud alert: queued ahead of the tenant's others (SPEC §17).
    pub urgent: bool,
}

/// A pulled row: the pull's number, the event's id, `seq`, `next_retry_at`, and whether it is
/// urgent.
type PendingRow = (i64, Uuid, i64, Option<DateTime<Utc>>, bool);

/// One tenant's pull: its pending events after `after_seq`, at most `limit`.
pub struct Pull {
    pub tenant: Uuid,
    pub after_seq: i64,
    pub limit: i64,
}

/// The answers to several pulls in one statement, in the order of `pulls` (each in arrival
/// order). The same tenant may be pulled twice; each pull gets its own answer.
pub async fn pending_after_many(
    pool: &PgPool,
    pulls: &[Pull],
) -> Result<Vec<Vec<PendingEvent>>, sqlx::Error> {
    let tenants: Vec<Uuid> = pulls.iter().map(|p| p.tenant).collect();
    let afters: Vec<i64> = pulls.iter().map(|p| p.after_seq).collect();
    let limits: Vec<i64> = pulls.iter().map(|p| p.limit).collect();
    // Each pull is the single-tenant read of the partial index `ix_webhook_events_pending_seq`,
    // run once per row of the arrays (LATERAL), numbered to give each pull its own rows.
    let rows: Vec<PendingRow> = sqlx::query_as(
        "SELECT p.n, e.id, e.seq, e.next_retry_at, e.resource_type = 'fraud_alert'
         FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) WITH ORDINALITY
              AS p(tenant_id, after_seq, max_rows, n)
         CROSS JOIN LATERAL (
             SELECT id, seq, next_retry_at, resource_type FROM webhook_events
             WHERE tenant_id = p.tenant_id AND status = 'pending' AND seq > p.after_seq
             ORDER BY seq LIMIT p.max_rows
         ) e
         ORDER BY p.n, e.seq",
    )
    .bind(&tenants)
    .bind(&afters)
    .bind(&limits)
    .fetch_all(pool)
    .await?;
    let mut answers: Vec<Vec<PendingEvent>> = pulls.iter().map(|_| Vec::new()).collect();
    for (n, id, seq, next_retry_at, urgent) in rows {
        // `n` counts from 1 over `pulls`.
        let slot = usize::try_from(n - 1)
            .ok()
            .and_then(|i| answers.get_mut(i))
            .ok_or_else(|| sqlx::Error::Protocol(format!("pull number {n} out of range")))?;
        slot.push(PendingEvent {
            id: EventId(id),
            seq,
            next_retry_at,
            urgent,
        });
    }
    Ok(answers)
}

/// Of `tenants`, those with pending events due now: the backstop poll.
pub async fn tenants_with_due_events(
    pool: &PgPool,
    tenants: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT tenant_id FROM webhook_events
         WHERE status = 'pending' AND tenant_id = ANY($1)
           AND (next_retry_at IS NULL OR next_retry_at <= now())",
    )
    .bind(tenants)
    .fetch_all(pool)
    .await
}

/// `NOTIFY channel, payload` (outside any transaction of the caller).
pub async fn notify(pool: &PgPool, channel: &str, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(pool)
        .await?;
    Ok(())
}
