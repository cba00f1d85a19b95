//! The attempt history of events (issue 13): rows written by the writer in the cycle that
//! records each attempt's result, read by the admin API's event detail.

use chrono::{DateTime, Utc};
use entity::event_attempt::{ActiveModel, Column, Entity as Attempt, Model};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;

use super::run::{self, Run};
use crate::domain::{EventId, TenantId};

/// How much of a failure's details an attempt keeps.
const DETAILS_EXCERPT_CHARS: usize = 1_000;

/// One attempt as it ended.
pub struct Ended<'a> {
    pub event: &'a entity::webhook_event::Model,
    pub node: Option<&'a str>,
    pub duration_ms: i64,
    pub outcome: &'static str,
    pub mp_status: Option<i32>,
    pub ghl_status: Option<i32>,
    pub error: Option<&'a str>,
    pub details: Option<&'a Value>,
}

pub fn row(ended: Ended<'_>) -> ActiveModel {
    let now = Utc::now();
    let started_at: DateTime<Utc> = now - chrono::Duration::milliseconds(ended.duration_ms);
    ActiveModel {
        id: Set(super::new_id()),
        event_id: Set(ended.event.id),
        tenant_id: Set(ended.event.tenant_id),
        attempt: Set(ended.event.attempts),
        node: Set(ended.node.map(str::to_owned)),
        started_at: Set(started_at),
        duration_ms: Set(ended.duration_ms),
        outcome: Set(ended.outcome.to_owned()),
        mp_status: Set(ended.mp_status),
        ghl_status: Set(ended.ghl_status),
        error: Set(ended.error.map(str::to_owned)),
        details: Set(ended.details.map(excerpt)),
    }
}

/// Details as kept: small ones whole, large ones cut to a text excerpt.
fn excerpt(details: &Value) -> Value {
    let text = details.to_string();
    if text.chars().count() <= DETAILS_EXCERPT_CHARS {
        return details.clone();
    }
    Value::String(text.chars().take(DETAILS_EXCERPT_CHARS).collect())
}

/// Inserts a cycle's attempt rows in one statement (inside the caller's transaction).
pub async fn insert_many(db: &impl Run, rows: Vec<ActiveModel>) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    run::exec(db, &Attempt::insert_many(rows)).await?;
    Ok(())
}

/// An event's attempts, first to last.
pub async fn of_event(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    event: EventId,
) -> Result<Vec<Model>, DbErr> {
    Attempt::find()
        .filter(Column::TenantId.eq(tenant.0))
        .filter(Column::EventId.eq(event))
        .order_by_asc(Column::Attempt)
        .order_by_asc(Column::StartedAt)
        .all(db)
        .await
}
