//! Set-based statements of the write path: many claims, many successes, many payment upserts,
//! each in one statement whatever their number. The writer (`crate::writer`) commits a whole
//! cycle with these; the one-row versions in `events` and `payments` serve its fallback (a cycle
//! that failed is redone one write at a time, so a bad write fails alone).
//!
//! Why it matters: all writes share one connection (SQLite) or a few (PostgreSQL, where every
//! statement is a round trip to the server), so statements per cycle, not rows, bound how fast
//! Cobro processes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::payment::{self, Entity as Payment};
use entity::webhook_event::{Column, Entity as Event, Model};
use sea_orm::sea_query::{BinOper, CaseStatement, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryTrait};

use super::payments::StoredPayment;
use super::run::{Run, returning, returning_columns};
use uuid::Uuid;

use crate::domain::{EventId, EventStatus, PaymentId};

/// Moves every `pending` event of `ids` to `processing` and counts the attempt; answers the rows
/// it moved (an id missing from the answer was not pending any more).
pub async fn claim_many(db: &impl Run, ids: &[EventId]) -> Result<HashMap<EventId, Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let claim = Event::update_many()
        .col_expr(
            Column::Status,
            Expr::value(EventStatus::Processing.as_str()),
        )
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(
            Column::NextRetryAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(pending_without_its_index())
        .into_query();
    let claimed: Vec<Model> = returning(db, claim).await?;
    Ok(claimed.into_iter().map(|m| (EventId(m.id), m)).collect())
}

/// `status || '' = 'pending'`: the same test as `status = 'pending'`, but no index can serve it.
/// Given `id IN (...) AND status = ?`, SQLite (which has no statistics) picks the status index
/// and scans every pending event, so each claim cost grew with the backlog; this way the primary
/// key finds the few rows at once (PostgreSQL's planner would choose so anyway).
fn pending_without_its_index() -> sea_orm::sea_query::SimpleExpr {
    Expr::col(Column::Status)
        .binary(BinOper::Custom("||"), Expr::val(""))
        .eq(EventStatus::Pending.as_str())
}

/// One event to mark `success`.
pub struct Success {
    pub event: EventId,
    /// `None`: an attempt that stored no payment (an order without payments, a superseded one).
    pub payment: Option<PaymentId>,
    pub processing_ms: i64,
}

/// Most successes one statement marks. Each row's new `payment_id` and `processing_ms` come from
/// a `CASE id WHEN ...` over the statement's rows, so a statement costs rows × rows comparisons:
/// a drain's cycles of 400 successes spent more time in those than in anything else (perf).
const SUCCESSES_PER_STATEMENT: usize = 32;

/// Marks every event of `done` `success` with its payment and processing time; answers the rows.
pub async fn mark_success_many(
    db: &impl Run,
    done: &[Success],
) -> Result<HashMap<EventId, Model>, DbErr> {
    let mut marked = HashMap::with_capacity(done.len());
    for chunk in done.chunks(SUCCESSES_PER_STATEMENT) {
        marked.extend(mark_success_chunk(db, chunk).await?);
    }
    Ok(marked)
}

async fn mark_success_chunk(
    db: &impl Run,
    done: &[Success],
) -> Result<HashMap<EventId, Model>, DbErr> {
    let Some(first) = done.first() else {
        return Ok(HashMap::new());
    };
    let by_event = |value: fn(&Success) -> sea_orm::Value| {
        let is = |s: &Success| Expr::col(Column::Id).eq(s.event);
        done[1..].iter().fold(
            CaseStatement::new().case(is(first), Expr::val(value(first))),
            |case, s| case.case(is(s), Expr::val(value(s))),
        )
    };
    let update = Event::update_many()
        .col_expr(Column::Status, Expr::value(EventStatus::Success.as_str()))
        .col_expr(Column::Processed, Expr::value(true))
        .col_expr(Column::ProcessedAt, Expr::value(Some(Utc::now())))
        .col_expr(Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(
            Column::ErrorDetails,
            Expr::value(Option::<serde_json::Value>::None),
        )
        .col_expr(
            Column::NextRetryAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            Column::PaymentId,
            by_event(|s| s.payment.map(Uuid::from).into()).into(),
        )
        .col_expr(
            Column::ProcessingMs,
            by_event(|s| s.processing_ms.into()).into(),
        )
        .filter(Column::Id.is_in(done.iter().map(|s| s.event)))
        .into_query();
    let updated: Vec<Model> = returning(db, update).await?;
    Ok(updated.into_iter().map(|m| (EventId(m.id), m)).collect())
}

/// A payment's key: tenant, provider (`Provider::key`) and the provider's payment id.
pub type PaymentKey = (Uuid, String, String);

/// Inserts or refreshes many payment rows in one statement (at most one per
/// `(tenant_id, provider, mp_payment_id)`); the GoHighLevel fields, id and `created_at` of an
/// existing row are kept. Answers what the write path needs of each, by that key.
pub async fn upsert_payments(
    db: &impl Run,
    rows: Vec<payment::ActiveModel>,
) -> Result<HashMap<PaymentKey, StoredPayment>, DbErr> {
    use payment::Column as P;
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let refreshed = [
        P::Status,
        P::MpStatus,
        P::StatusDetail,
        P::TransactionAmount,
        P::AmountDecimal,
        P::RefundedAmount,
        P::CurrencyId,
        P::PayerEmail,
        P::PayerName,
        P::PaymentMethod,
        P::PaymentType,
        P::ExternalReference,
        P::OrderId,
        P::DateCreated,
        P::DateApproved,
        P::DateLastUpdated,
        P::Raw,
        P::UpdatedAt,
    ];
    let upsert = Payment::insert_many(rows)
        .on_conflict(
            OnConflict::columns([P::TenantId, P::Provider, P::MpPaymentId])
                .update_columns(refreshed)
                .to_owned(),
        )
        .into_query();
    let read_back = Query::returning().columns(StoredPayment::COLUMNS);
    let stored: Vec<StoredPayment> = returning_columns(db, upsert, read_back).await?;
    Ok(stored
        .into_iter()
        .map(|p| {
            (
                (p.tenant_id, p.provider.clone(), p.mp_payment_id.clone()),
                p,
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, QueryTrait};

    /// The claim's status test must read the same on both backends and keep its bound values.
    #[test]
    fn the_claim_compares_status_without_its_index_on_both_backends() {
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            let claim = Event::update_many()
                .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
                .filter(pending_without_its_index())
                .build(backend)
                .to_string();
            assert!(
                claim.ends_with(r#"WHERE ("status" || '') = 'pending'"#),
                "{claim}"
            );
        }
    }
}
