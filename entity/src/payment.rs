//! A payment as its provider last described it for a tenant, upserted by the processing
//! pipeline; unique by (tenant, provider, provider payment id).
//! `ghl_tagged_at` records that the buyer was tagged in GoHighLevel, so a replay never tags twice.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The provider that described it (`mercadopago`, `stripe`).
    pub provider: String,
    /// The provider's payment id (MercadoPago's number, Stripe's `pi_…`), as text.
    pub mp_payment_id: String,
    /// Mapped status (`APPROVED`, `REFUNDED`, ...); `mp_status` keeps MP's own word.
    pub status: String,
    pub mp_status: String,
    pub status_detail: Option<String>,
    /// MP sends a JSON number with at most two decimals; kept as a double and never summed here.
    pub transaction_amount: Option<f64>,
    pub currency_id: Option<String>,
    pub payer_email: Option<String>,
    pub payer_name: Option<String>,
    pub payment_method: Option<String>,
    pub payment_type: Option<String>,
    pub external_reference: Option<String>,
    pub order_id: Option<Uuid>,
    pub date_created: Option<String>,
    pub date_approved: Option<String>,
    pub date_last_updated: Option<String>,
    pub ghl_contact_id: Option<String>,
    pub ghl_tagged_at: Option<DateTimeUtc>,
    pub raw: Json,
    /// The amount exactly as the provider wrote it, when it sends decimal text (Orders API).
    pub amount_decimal: Option<String>,
    pub refunded_amount: Option<String>,
    /// MercadoPago asked the seller not to deliver (a fraud alert, SPEC §17).
    pub fraud_alert: bool,
    /// When a person acknowledged the fraud alert (the dashboard's banner stays until then).
    pub fraud_acknowledged_at: Option<DateTimeUtc>,
    /// The dispute (chargeback) on this payment: id, status, amount, documentation deadline.
    pub dispute: Option<Json>,
    /// The buyer's claim on this payment: id, status, stage, reason.
    pub claim: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
