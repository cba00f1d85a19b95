//! An order of a tenant's shop. Its id is the `external_reference` MP echoes back on payments, and
//! its status only moves forward along the state machine in `cobro::domain`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub amount: f64,
    pub currency: String,
    pub description: String,
    pub customer_email: Option<String>,
    pub status: String,
    pub mp_payment_id: Option<String>,
    pub init_point: Option<String>,
    /// MercadoPago flagged a payment of this order as fraud: do not deliver.
    pub fraud_alert: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
