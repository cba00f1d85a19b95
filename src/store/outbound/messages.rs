//! Outbound messages and their attempts (SPEC §21): what the relay reads (the due head of every
//! (endpoint, tenant) pair, then that pair's next messages in order) and has the writer record
//! (each attempt with the message's new state, in a cycle, fenced in a cluster), and what the
//! admin API lists and sends again by hand.

use chrono::{DateTime, Utc};
use entity::outbound_attempt::{self, Entity as Attempt};
use entity::outbound_message::{ActiveModel, Column, Entity as Message, Model};
use sea_orm::ActiveValue::{Set, Unchanged};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use uuid::Uuid;

use super::{DELIVERED, FAILED, PENDING, endpoints};
use crate::store::run::{self, Run};

/// The first pending message of every (endpoint, tenant) pair of an enabled endpoint, when it is
/// due: what may be sent now without overtaking anything.
pub async fn due_heads(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let backend = db.get_database_backend();
    let (at, most) = match backend {
        DbBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    let sql = format!(
        "SELECT m.* FROM outbound_messages m
         JOIN (SELECT MIN(seq) AS head FROM outbound_messages WHERE status = 'pending'
               GROUP BY endpoint_id, tenant_id) h ON m.seq = h.head
         JOIN outbound_endpoints e ON e.id = m.endpoint_id AND e.disabled = false
         WHERE m.next_attempt_at <= {at}
         ORDER BY m.seq LIMIT {most}"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let stmt = Statement::from_sql_and_values(backend, sql, [now.into(), limit.into()]);
    Model::find_by_statement(stmt).all(db).await
}

/// How many messages wait to be sent (the `cobro_outbound_queue_depth` gauge).
pub async fn pending_count(db: &DatabaseConnection) -> Result<u64, DbErr> {
    Message::find()
        .filter(Column::Status.eq(PENDING))
        .count(db)
        .await
}

/// A pair's pending messages from the head on, in order.
pub async fn pair_pending(
    db: &DatabaseConnection,
    endpoint: Uuid,
    tenant: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let of_tenant = match tenant {
        Some(tenant) => Column::TenantId.eq(tenant),
        None => Column::TenantId.is_null(),
    };
    Message::find()
        .filter(Column::Status.eq(PENDING))
        .filter(Column::EndpointId.eq(endpoint))
        .filter(of_tenant)
        .order_by_asc(Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

/// What became of a message after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum After {
    Delivered,
    RetryAt(DateTime<Utc>),
    /// No attempt left.
    Failed,
    /// The endpoint was disabled by this answer: the message waits, pending, for it to be enabled.
    Held,
}

/// One attempt as it ended, as the writer records it (owned: it waits in the writer's queue).
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub message_seq: i64,
    pub endpoint_id: Uuid,
    /// The message's attempts before this one.
    pub attempts_before: i32,
    pub node: Option<String>,
    pub at: DateTime<Utc>,
    pub duration_ms: i64,
    pub http_status: Option<u16>,
    pub response: Option<String>,
    /// What a person reads when it failed.
    pub error: Option<String>,
    pub after: After,
    /// The endpoint was failing (`failing_since` set) when its pair read it: only a change of
    /// that state is written to the endpoint.
    pub endpoint_was_failing: bool,
}

impl AttemptRecord {
    fn outcome(&self) -> &'static str {
        match &self.after {
            After::Delivered => DELIVERED,
            After::RetryAt(_) => "retry",
            After::Failed => FAILED,
            After::Held => "disabled",
        }
    }
}

/// Writes an attempt and the message's new state, in the caller's transaction (the writer's
/// cycle: a cluster node's record is fenced there by its tenant's lease, SPEC §13).
pub async fn apply_record(db: &impl Run, record: &AttemptRecord) -> Result<(), DbErr> {
    let row = outbound_attempt::ActiveModel {
        id: Set(crate::store::new_id()),
        message_seq: Set(record.message_seq),
        endpoint_id: Set(record.endpoint_id),
        attempted_at: Set(record.at),
        duration_ms: Set(record.duration_ms),
        outcome: Set(record.outcome().to_owned()),
        http_status: Set(record.http_status.map(i32::from)),
        response: Set(record.response.clone()),
        node: Set(record.node.clone()),
    };
    run::exec(db, &Attempt::insert(row)).await?;
    let mut update = Message::update_many()
        .col_expr(Column::Attempts, Expr::value(record.attempts_before + 1))
        .col_expr(Column::LastError, Expr::value(record.error.clone()))
        .filter(Column::Seq.eq(record.message_seq));
    update = match &record.after {
        After::Delivered => update
            .col_expr(Column::Status, Expr::value(DELIVERED))
            .col_expr(Column::DeliveredAt, Expr::value(Some(Utc::now()))),
        After::RetryAt(at) => update.col_expr(Column::NextAttemptAt, Expr::value(*at)),
        After::Failed => update.col_expr(Column::Status, Expr::value(FAILED)),
        After::Held => update,
    };
    run::exec(db, &update).await?;
    let failed = !matches!(record.after, After::Delivered);
    if failed != record.endpoint_was_failing {
        endpoints::note_result(db, record.endpoint_id, failed).await?;
    }
    Ok(())
}

/// An endpoint's messages, newest first, `before` a `seq` (paging), of one status if asked.
pub async fn page(
    db: &impl ConnectionTrait,
    endpoint: Uuid,
    status: Option<&str>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Message::find().filter(Column::EndpointId.eq(endpoint));
    if let Some(status) = status {
        query = query.filter(Column::Status.eq(status));
    }
    if let Some(before) = before {
        query = query.filter(Column::Seq.lt(before));
    }
    query.order_by_desc(Column::Seq).limit(limit).all(db).await
}

pub async fn get(
    db: &impl ConnectionTrait,
    endpoint: Uuid,
    message: Uuid,
) -> Result<Option<Model>, DbErr> {
    Message::find()
        .filter(Column::EndpointId.eq(endpoint))
        .filter(Column::MessageId.eq(message))
        .one(db)
        .await
}

/// A message's attempts, first to last.
pub async fn attempts_of(
    db: &impl ConnectionTrait,
    seq: i64,
) -> Result<Vec<outbound_attempt::Model>, DbErr> {
    Attempt::find()
        .filter(outbound_attempt::Column::MessageSeq.eq(seq))
        .order_by_asc(outbound_attempt::Column::AttemptedAt)
        .all(db)
        .await
}

/// Sends a message again by hand (failed, or delivered: a replay), with a whole retry schedule
/// of `schedule_attempts` attempts ahead of it, now. `None`: no such message.
pub async fn retry(
    db: &impl ConnectionTrait,
    endpoint: Uuid,
    message: Uuid,
    schedule_attempts: i32,
) -> Result<Option<Model>, DbErr> {
    let Some(found) = get(db, endpoint, message).await? else {
        return Ok(None);
    };
    let row = ActiveModel {
        seq: Unchanged(found.seq),
        status: Set(PENDING.to_owned()),
        max_attempts: Set(Some(found.attempts.saturating_add(schedule_attempts))),
        next_attempt_at: Set(Utc::now()),
        ..Default::default()
    };
    Ok(Some(row.update(db).await?))
}

/// Sends every failed message of an endpoint again (bulk replay); answers how many.
pub async fn retry_failed(
    db: &impl ConnectionTrait,
    endpoint: Uuid,
    schedule_attempts: i32,
) -> Result<u64, DbErr> {
    let done = Message::update_many()
        .col_expr(Column::Status, Expr::value(PENDING))
        .col_expr(
            Column::MaxAttempts,
            Expr::col(Column::Attempts).add(schedule_attempts),
        )
        .col_expr(Column::NextAttemptAt, Expr::value(Utc::now()))
        .filter(Column::EndpointId.eq(endpoint))
        .filter(Column::Status.eq(FAILED))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}
