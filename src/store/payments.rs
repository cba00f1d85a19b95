//! Payments as their provider last described them (a [`PaymentSnapshot`]): the pipeline upserts
//! them and records the GoHighLevel tag; the admin API reads them.

use chrono::{DateTime, Utc};
use entity::payment::{ActiveModel, Column, Entity as Payment, Model};
use sea_orm::ActiveValue::{Set, Unchanged};
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, QueryTrait,
};
use serde::Deserialize;
use uuid::Uuid;

use super::run::{self, Run};
use crate::domain::{OrderId, PaymentId, PaymentSnapshot, Provider, TenantId};

/// What the write path reads back of a payment it stored: enough to finish the event, decide on
/// the tag and broadcast. Not the row: reading back (and parsing again) the provider's document
/// just written cost the writer about a tenth of its time in a drain (perf, issue 9).
#[derive(Debug, Clone, PartialEq, FromQueryResult, Deserialize)]
pub struct StoredPayment {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub provider: String,
    pub mp_payment_id: String,
    pub status: String,
    pub ghl_contact_id: Option<String>,
    pub ghl_tagged_at: Option<DateTime<Utc>>,
    pub fraud_alert: bool,
}

impl StoredPayment {
    pub fn payment_id(&self) -> PaymentId {
        PaymentId(self.id)
    }

    /// The columns it is read from.
    pub const COLUMNS: [Column; 8] = [
        Column::Id,
        Column::TenantId,
        Column::Provider,
        Column::MpPaymentId,
        Column::Status,
        Column::GhlContactId,
        Column::GhlTaggedAt,
        Column::FraudAlert,
    ];
}

impl From<Model> for StoredPayment {
    fn from(row: Model) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            provider: row.provider,
            mp_payment_id: row.mp_payment_id,
            status: row.status,
            ghl_contact_id: row.ghl_contact_id,
            ghl_tagged_at: row.ghl_tagged_at,
            fraud_alert: row.fraud_alert,
        }
    }
}

/// A fresh payment row for `mp_payment_id` as its provider answered it (GoHighLevel fields
/// empty).
pub fn new_row(
    tenant: TenantId,
    mp_payment_id: &str,
    snapshot: &PaymentSnapshot,
    order_id: Option<OrderId>,
) -> ActiveModel {
    let now = Utc::now();
    let mut row = ActiveModel {
        id: Set(super::new_id()),
        tenant_id: Set(tenant.0),
        provider: Set(snapshot.provider.key().to_owned()),
        mp_payment_id: Set(mp_payment_id.to_owned()),
        ghl_contact_id: Set(None),
        ghl_tagged_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    refresh(&mut row, snapshot, order_id);
    row
}

/// Sets what the provider's answer decides (everything but the id, tenant, GoHighLevel fields
/// and `created_at`).
fn refresh(row: &mut ActiveModel, mp: &PaymentSnapshot, order_id: Option<OrderId>) {
    row.status = Set(mp.status.as_str().to_owned());
    row.mp_status = Set(mp.provider_status.clone().unwrap_or_default());
    row.status_detail = Set(mp.status_detail.clone());
    row.transaction_amount = Set(mp.transaction_amount);
    row.amount_decimal = Set(mp.amount.clone());
    row.refunded_amount = Set(mp.refunded_amount.clone());
    row.currency_id = Set(mp.currency_id.clone());
    row.payer_email = Set(mp.payer_email.clone());
    row.payer_name = Set(mp.payer_name.clone());
    row.payment_method = Set(mp.payment_method.clone());
    row.payment_type = Set(mp.payment_type.clone());
    row.external_reference = Set(mp.external_reference.clone());
    row.order_id = Set(order_id.map(Uuid::from));
    row.date_created = Set(mp.date_created.clone());
    row.date_approved = Set(mp.date_approved.clone());
    row.date_last_updated = Set(mp.date_last_updated.clone());
    row.raw = Set(mp.raw.clone());
    row.updated_at = Set(Utc::now());
}

/// Inserts or refreshes the payment row of `mp_payment_id` at the snapshot's provider; the
/// GoHighLevel fields are kept.
pub async fn upsert(
    db: &impl Run,
    tenant: TenantId,
    mp_payment_id: &str,
    snapshot: &PaymentSnapshot,
    order_id: Option<OrderId>,
) -> Result<Model, DbErr> {
    match get_at(db, tenant, snapshot.provider, mp_payment_id).await? {
        Some(found) => {
            let mut row = ActiveModel {
                id: Unchanged(found.id),
                ..Default::default()
            };
            refresh(&mut row, snapshot, order_id);
            run::update_one(db, row).await
        }
        None => {
            let row = new_row(tenant, mp_payment_id, snapshot, order_id);
            let insert = Payment::insert(row).into_query();
            let inserted: Vec<Model> = run::returning(db, insert).await?;
            inserted.into_iter().next().ok_or(DbErr::RecordNotInserted)
        }
    }
}

/// Records that the buyer of this payment carries the tenant's tag in GoHighLevel.
pub async fn mark_tagged(db: &impl Run, id: PaymentId, contact_id: &str) -> Result<(), DbErr> {
    let row = ActiveModel {
        id: Unchanged(id.0),
        ghl_contact_id: Set(Some(contact_id.to_owned())),
        ghl_tagged_at: Set(Some(Utc::now())),
        ..Default::default()
    };
    run::update_one(db, row).await?;
    Ok(())
}

/// A fraud alert took the buyer's tag back: the payment is no longer tagged (and, flagged as
/// fraud, is never tagged again).
pub async fn mark_untagged(db: &impl Run, id: PaymentId) -> Result<(), DbErr> {
    let row = ActiveModel {
        id: Unchanged(id.0),
        ghl_tagged_at: Set(None),
        ..Default::default()
    };
    run::update_one(db, row).await?;
    Ok(())
}

/// The tenant's payments flagged as fraud that nobody has acknowledged yet, newest first.
pub async fn open_fraud_alerts(
    db: &impl sea_orm::ConnectionTrait,
    tenant: TenantId,
) -> Result<Vec<Model>, DbErr> {
    use sea_orm::QueryOrder;
    Payment::find()
        .filter(Column::TenantId.eq(tenant.0))
        .filter(Column::FraudAlert.eq(true))
        .filter(Column::FraudAcknowledgedAt.is_null())
        .order_by_desc(Column::UpdatedAt)
        .limit(100)
        .all(db)
        .await
}

/// A person saw the fraud alert on this payment: the banner goes (the flag stays). In one
/// transaction with its audit row (`payment.fraud_acknowledged`, the payment's id as target);
/// `None` (nothing recorded) when the tenant has no such payment.
pub async fn acknowledge_fraud(
    db: &sea_orm::DatabaseConnection,
    tenant: TenantId,
    mp_payment_id: &str,
    by: &super::audit::By,
) -> Result<Option<Model>, DbErr> {
    let txn = crate::store::db::begin_write(db).await?;
    let Some(found) = get(&txn, tenant, mp_payment_id).await? else {
        return Ok(None);
    };
    let row = ActiveModel {
        id: Unchanged(found.id),
        fraud_acknowledged_at: Set(Some(Utc::now())),
        ..Default::default()
    };
    let payment = run::update_one(&txn, row).await?;
    let entry = super::audit::Entry {
        action: "payment.fraud_acknowledged",
        tenant_id: Some(tenant),
        target: Some(mp_payment_id.to_owned()),
        changes: vec!["fraud_acknowledged_at"],
    };
    super::audit::append(&txn, by, entry).await?;
    txn.commit().await?;
    Ok(Some(payment))
}

/// The tenant's payment of this id, whichever provider's it is (the API's paths name an id
/// only; MercadoPago's ids are numbers and Stripe's `pi_…`, so they never meet).
pub async fn get(
    db: &impl Run,
    tenant: TenantId,
    mp_payment_id: &str,
) -> Result<Option<Model>, DbErr> {
    let query = Payment::find()
        .filter(Column::TenantId.eq(tenant.0))
        .filter(Column::MpPaymentId.eq(mp_payment_id))
        .limit(1);
    let found: Vec<Model> = run::select(db, &query).await?;
    Ok(found.into_iter().next())
}

/// The tenant's payment of this id at `provider`: the write path's key (SPEC §19).
pub async fn get_at(
    db: &impl Run,
    tenant: TenantId,
    provider: Provider,
    mp_payment_id: &str,
) -> Result<Option<Model>, DbErr> {
    let query = Payment::find()
        .filter(Column::TenantId.eq(tenant.0))
        .filter(Column::Provider.eq(provider.key()))
        .filter(Column::MpPaymentId.eq(mp_payment_id))
        .limit(1);
    let found: Vec<Model> = run::select(db, &query).await?;
    Ok(found.into_iter().next())
}
