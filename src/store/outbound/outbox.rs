//! The outbox's write side (SPEC §21): [`enqueue`] turns the changes a transaction made into one
//! message row per endpoint that wants them, in that same transaction, so a message exists exactly
//! when its change committed. Called by the writer (payments, orders, disputes, fraud alerts,
//! claims, dead letters) and by the connection store (OAuth state); the relay reads the rows.

use chrono::{DateTime, SecondsFormat, Utc};
use entity::outbound_endpoint::{Column as EndpointColumn, Entity as Endpoint};
use entity::outbound_message::{ActiveModel, Entity as Message};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QuerySelect};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::sync::futures::Notified;
use uuid::Uuid;

use crate::domain::{OutboundType, TenantId, endpoint_wants};
use crate::store::run::{self, Run};

/// Wakes the relays when messages were committed. Process-wide: the writer, below the relay,
/// names no relay; a relay woken for another's messages (tests run several apps in one process)
/// looks once for nothing.
static WAKE: Notify = Notify::const_new();

/// Resolves at the next [`wake`] (the relay arms it before each look).
pub fn committed() -> Notified<'static> {
    WAKE.notified()
}

/// Tells the relays that messages were committed (by the writer after a cycle that wrote some,
/// by the API after its own).
pub fn wake() {
    WAKE.notify_waiters();
}

/// A change to tell the platform about.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// `None`: about the platform itself (goes to platform-wide endpoints only).
    pub tenant: Option<TenantId>,
    pub kind: OutboundType,
    pub data: Value,
}

impl Notice {
    pub fn of_tenant(tenant: TenantId, kind: OutboundType, data: Value) -> Self {
        Self {
            tenant: Some(tenant),
            kind,
            data,
        }
    }

    /// The body every endpoint receives (and its signature covers), byte for byte.
    pub fn body(&self, at: DateTime<Utc>) -> String {
        json!({
            "type": self.kind.as_str(),
            "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "tenant_id": self.tenant,
            "data": self.data,
        })
        .to_string()
    }
}

/// What the fan-out reads of an endpoint.
#[derive(Debug, FromQueryResult, Deserialize)]
struct Target {
    id: Uuid,
    tenant_id: Option<Uuid>,
    events: Option<String>,
}

impl Target {
    fn hears(&self, notice: &Notice) -> bool {
        let tenant_matches = match (self.tenant_id, notice.tenant) {
            (None, _) => true,
            (Some(own), Some(tenant)) => own == tenant.0,
            (Some(_), None) => false,
        };
        tenant_matches && endpoint_wants(self.wanted().as_deref(), notice.kind)
    }

    /// An unreadable filter (never written by the API) counts as "everything": a message too many
    /// is better than one lost.
    fn wanted(&self) -> Option<Vec<String>> {
        self.events
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
    }
}

/// Writes the messages of `notices` (in order) for every enabled endpoint that wants each, inside
/// the caller's transaction. Answers how many rows it wrote (0 when nobody listens).
pub async fn enqueue(db: &impl Run, notices: &[Notice]) -> Result<usize, DbErr> {
    if notices.is_empty() {
        return Ok(0);
    }
    let query = Endpoint::find()
        .select_only()
        .columns([
            EndpointColumn::Id,
            EndpointColumn::TenantId,
            EndpointColumn::Events,
        ])
        .filter(EndpointColumn::Disabled.eq(false));
    let targets: Vec<Target> = run::select(db, &query).await?;
    if targets.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let mut rows = Vec::new();
    for notice in notices {
        let message_id = crate::store::new_id();
        let body = notice.body(now);
        for target in targets.iter().filter(|t| t.hears(notice)) {
            rows.push(row(message_id, target.id, notice, body.clone(), now));
        }
    }
    insert(db, rows).await
}

/// Writes a message for one endpoint (a test message, a replay of nothing else).
pub async fn enqueue_for(db: &impl Run, endpoint: Uuid, notice: &Notice) -> Result<Uuid, DbErr> {
    let now = Utc::now();
    let message_id = crate::store::new_id();
    insert(
        db,
        vec![row(message_id, endpoint, notice, notice.body(now), now)],
    )
    .await?;
    Ok(message_id)
}

fn row(
    message_id: Uuid,
    endpoint: Uuid,
    notice: &Notice,
    body: String,
    now: DateTime<Utc>,
) -> ActiveModel {
    ActiveModel {
        seq: NotSet,
        message_id: Set(message_id),
        endpoint_id: Set(endpoint),
        tenant_id: Set(notice.tenant.map(|t| t.0)),
        event_type: Set(notice.kind.as_str().to_owned()),
        body: Set(body),
        status: Set(super::PENDING.to_owned()),
        attempts: Set(0),
        max_attempts: Set(None),
        next_attempt_at: Set(now),
        created_at: Set(now),
        delivered_at: Set(None),
        last_error: Set(None),
    }
}

async fn insert(db: &impl Run, rows: Vec<ActiveModel>) -> Result<usize, DbErr> {
    let count = rows.len();
    if count > 0 {
        // In order: `seq` follows the rows, so one tenant's messages keep their changes' order.
        run::exec(db, &Message::insert_many(rows)).await?;
        metrics::counter!("cobro_outbound_messages_total", "outcome" => "enqueued")
            .increment(count as u64);
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(tenant: Option<Uuid>, events: Option<&str>) -> Target {
        Target {
            id: Uuid::nil(),
            tenant_id: tenant,
            events: events.map(str::to_owned),
        }
    }

    #[test]
    fn endpoints_hear_their_tenant_or_everyone() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let notice = Notice::of_tenant(TenantId(a), OutboundType::PaymentUpdated, json!({}));
        assert!(target(None, None).hears(&notice));
        assert!(target(Some(a), None).hears(&notice));
        assert!(!target(Some(b), None).hears(&notice));
        assert!(!target(Some(a), Some(r#"["order.updated"]"#)).hears(&notice));
        let platform = Notice {
            tenant: None,
            kind: OutboundType::EndpointDisabled,
            data: json!({}),
        };
        assert!(target(None, Some("[]")).hears(&platform));
        assert!(!target(Some(a), None).hears(&platform));
    }

    #[test]
    fn the_body_has_the_four_fields_of_the_spec() {
        let at = DateTime::parse_from_rfc3339("2026-12-05T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let notice = Notice::of_tenant(
            TenantId(Uuid::nil()),
            OutboundType::OrderUpdated,
            json!({"id": "o1"}),
        );
        let body: Value = serde_json::from_str(&notice.body(at)).unwrap_or_default();
        assert_eq!(body["type"], "order.updated");
        assert_eq!(body["timestamp"], "2026-12-05T12:00:00.000Z");
        assert_eq!(body["tenant_id"], Uuid::nil().to_string());
        assert_eq!(body["data"]["id"], "o1");
    }
}
