//! Search over a tenant's events and payments (issue 13): by status, action, payment id, buyer
//! email, order id and time range, paged newest first like every list. Time ranges are id ranges
//! (ids are UUIDv7, whose first 48 bits are the creation time in milliseconds), so a range is a
//! walk of the `(tenant_id, id)` index, not a scan. Email and order live on payments: an event
//! search by either goes through the payments of the tenant that match.

use chrono::{DateTime, Utc};
use entity::payment::{Column as P, Entity as Payment};
use entity::webhook_event::{Column as E, Entity as Event, Model as EventRow};
use sea_orm::sea_query::{Query, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Select};
use uuid::Uuid;

use super::page::{self, Page, PageQuery};
use crate::domain::{EventStatus, ResourceKind, TenantId};

/// What to look for; every field narrows the search, `None` leaves it open.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// The provider's name in data (`mercadopago`, `stripe`).
    pub provider: Option<String>,
    pub status: Option<String>,
    pub action: Option<String>,
    pub mp_payment_id: Option<String>,
    /// Events only: what the notification is about (`order`, `fraud_alert`, ...) and its id.
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// The buyer's email, exactly as MercadoPago sent it.
    pub email: Option<String>,
    /// The order id (the payment's `external_reference`).
    pub order_id: Option<String>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
}

/// The smallest UUIDv7 of a millisecond: every id created at or after `at` is at least this.
pub fn id_floor(at: DateTime<Utc>) -> Uuid {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or_default();
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    Uuid::from_bytes(bytes)
}

fn time_range(column: impl ColumnTrait, filter: &Filter) -> Vec<SimpleExpr> {
    let mut range = Vec::new();
    if let Some(from) = filter.from {
        range.push(column.gte(id_floor(from)));
    }
    if let Some(to) = filter.to {
        range.push(column.lt(id_floor(to)));
    }
    range
}

/// The tenant's payment ids whose payment matches the email and order filters, as a subquery;
/// `None` when neither is asked for.
fn payments_matching(tenant: TenantId, filter: &Filter) -> Option<SimpleExpr> {
    if filter.email.is_none() && filter.order_id.is_none() {
        return None;
    }
    let mut sub = Query::select();
    sub.column(P::MpPaymentId)
        .from(Payment)
        .and_where(P::TenantId.eq(tenant.0));
    if let Some(email) = &filter.email {
        sub.and_where(P::PayerEmail.eq(email.as_str()));
    }
    if let Some(order) = &filter.order_id {
        sub.and_where(P::ExternalReference.eq(order.as_str()));
    }
    Some(E::MpPaymentId.in_subquery(sub.to_owned()))
}

/// The resource filters. A payment's resource id is its `mp_payment_id` (indexed); the other
/// kinds are in a partial index that leaves payments out, which SQLite uses only when the query
/// says `resource_type <> 'payment'` in so many words.
fn by_resource(mut select: Select<Event>, filter: &Filter) -> Select<Event> {
    let payment = ResourceKind::Payment.as_str();
    match filter.resource_type.as_deref() {
        Some(kind) if kind == payment => {
            select = select.filter(E::ResourceType.eq(payment));
            if let Some(id) = &filter.resource_id {
                select = select.filter(E::MpPaymentId.eq(id.as_str()));
            }
            return select;
        }
        Some(kind) => {
            select = select
                .filter(E::ResourceType.eq(kind))
                .filter(E::ResourceType.ne(payment));
        }
        None => {}
    }
    if let Some(id) = &filter.resource_id {
        select = select.filter(E::ResourceId.eq(id.as_str()));
    }
    select
}

/// A page of the tenant's events that match, newest first.
pub async fn events(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &Filter,
    query: &PageQuery,
) -> Result<Page<EventRow>, DbErr> {
    let mut select: Select<Event> = Event::find().filter(E::TenantId.eq(tenant.0));
    if let Some(status) = filter.status.as_deref().and_then(EventStatus::parse) {
        select = select.filter(E::Status.eq(status.as_str()));
    }
    if let Some(action) = &filter.action {
        select = select.filter(E::Action.eq(action.as_str()));
    }
    if let Some(provider) = &filter.provider {
        select = select.filter(E::Provider.eq(provider.as_str()));
    }
    if let Some(payment) = &filter.mp_payment_id {
        select = select.filter(E::MpPaymentId.eq(payment.as_str()));
    }
    select = by_resource(select, filter);
    if let Some(matching) = payments_matching(tenant, filter) {
        select = select.filter(matching);
    }
    for bound in time_range(E::Id, filter) {
        select = select.filter(bound);
    }
    page::fetch(db, select, E::Id, |m| m.id, query).await
}

/// The tenant's payments that match (status is Cobro's, `APPROVED`...), newest first.
pub fn payments_select(tenant: TenantId, filter: &Filter) -> Select<Payment> {
    let mut select = Payment::find().filter(P::TenantId.eq(tenant.0));
    if let Some(provider) = &filter.provider {
        select = select.filter(P::Provider.eq(provider.as_str()));
    }
    if let Some(status) = &filter.status {
        select = select.filter(P::Status.eq(status.to_uppercase()));
    }
    if let Some(payment) = &filter.mp_payment_id {
        select = select.filter(P::MpPaymentId.eq(payment.as_str()));
    }
    if let Some(email) = &filter.email {
        select = select.filter(P::PayerEmail.eq(email.as_str()));
    }
    if let Some(order) = &filter.order_id {
        select = select.filter(P::ExternalReference.eq(order.as_str()));
    }
    for bound in time_range(P::Id, filter) {
        select = select.filter(bound);
    }
    select
}

/// A page of the tenant's payments that match.
pub async fn payments(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &Filter,
    query: &PageQuery,
) -> Result<Page<entity::payment::Model>, DbErr> {
    let select = payments_select(tenant, filter);
    page::fetch(db, select, P::Id, |m| m.id, query).await
}

/// Every matching payment up to `cap`, newest first (the CSV export).
pub async fn all_payments(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &Filter,
    cap: u64,
) -> Result<Vec<entity::payment::Model>, DbErr> {
    use sea_orm::QueryOrder;
    payments_select(tenant, filter)
        .order_by_desc(P::Id)
        .limit(cap)
        .all(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_floor_orders_below_every_id_of_its_millisecond_and_above_earlier_ones() {
        let at = Utc::now();
        let floor = id_floor(at);
        let same_ms = Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            u64::try_from(at.timestamp()).unwrap_or_default(),
            at.timestamp_subsec_millis() * 1_000_000,
        ));
        assert!(floor <= same_ms);
        let earlier = id_floor(at - chrono::Duration::milliseconds(1));
        assert!(earlier < floor);
        assert_eq!(floor.get_version_num(), 7);
    }
}
