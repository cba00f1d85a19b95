//! Orders: created through the admin API, moved forward by payments (never backwards: the rule is
//! `domain::plan_order_move`, this module only applies its answer).

use chrono::Utc;
use entity::order::{ActiveModel, Column, Entity as Order, Model};
use sea_orm::ActiveValue::{Set, Unchanged};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::page::{self, Page, PageQuery};
use super::run::{self, Run};
use crate::domain::{OrderId, OrderMove, OrderStatus, TenantId, plan_order_move};

#[derive(Debug)]
pub struct NewOrder {
    pub amount: f64,
    pub currency: String,
    pub description: String,
    pub customer_email: Option<String>,
}

pub async fn create(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    new: NewOrder,
) -> Result<Model, DbErr> {
    let now = Utc::now();
    ActiveModel {
        id: Set(super::new_id()),
        tenant_id: Set(tenant.0),
        amount: Set(new.amount),
        currency: Set(new.currency),
        description: Set(new.description),
        customer_email: Set(new.customer_email),
        status: Set(OrderStatus::Created.as_str().into()),
        mp_payment_id: Set(None),
        init_point: Set(None),
        fraud_alert: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

/// Creates an order as a person asked for it, in one transaction with its audit row
/// (`order.create`, the order's id as its target).
pub async fn create_by(
    db: &sea_orm::DatabaseConnection,
    tenant: TenantId,
    new: NewOrder,
    by: &super::audit::By,
) -> Result<Model, DbErr> {
    let mut changes = vec!["amount", "currency", "description"];
    if new.customer_email.is_some() {
        changes.push("customer_email");
    }
    let txn = crate::store::db::begin_write(db).await?;
    let order = create(&txn, tenant, new).await?;
    let entry = super::audit::Entry {
        action: "order.create",
        tenant_id: Some(tenant),
        target: Some(order.id.to_string()),
        changes,
    };
    super::audit::append(&txn, by, entry).await?;
    txn.commit().await?;
    Ok(order)
}

pub async fn get(db: &impl Run, tenant: TenantId, id: OrderId) -> Result<Option<Model>, DbErr> {
    let query = Order::find_by_id(id.0).filter(Column::TenantId.eq(tenant.0));
    let found: Vec<Model> = run::select(db, &query).await?;
    Ok(found.into_iter().next())
}

pub async fn list(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    query: &PageQuery,
) -> Result<Page<Model>, DbErr> {
    let select = Order::find().filter(Column::TenantId.eq(tenant.0));
    page::fetch(db, select, Column::Id, |m| m.id, query).await
}

/// Moves the order toward `target` if the state machine allows it; answers the plan it followed.
/// An order whose stored status is unknown to this version is left alone.
pub async fn apply_payment(
    db: &impl Run,
    order: &Model,
    target: OrderStatus,
    mp_payment_id: &str,
) -> Result<Option<OrderMove>, DbErr> {
    let Some(current) = OrderStatus::parse(&order.status) else {
        return Ok(None);
    };
    let plan = plan_order_move(current, target);
    if let OrderMove::Move { to, .. } = plan {
        let row = ActiveModel {
            id: Unchanged(order.id),
            status: Set(to.as_str().into()),
            mp_payment_id: Set(Some(mp_payment_id.to_owned())),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        run::update_one(db, row).await?;
    }
    Ok(Some(plan))
}

/// Sets the order's status whatever the state machine says: only a fraud alert's cancellation
/// does this (SPEC §17).
pub async fn force_status(
    db: &impl Run,
    id: OrderId,
    status: OrderStatus,
    mp_payment_id: &str,
) -> Result<(), DbErr> {
    let row = ActiveModel {
        id: Unchanged(id.0),
        status: Set(status.as_str().into()),
        mp_payment_id: Set(Some(mp_payment_id.to_owned()).filter(|p| !p.is_empty())),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    run::update_one(db, row).await?;
    Ok(())
}

/// MercadoPago flagged a payment of this order as fraud: do not deliver.
pub async fn flag_fraud(db: &impl Run, id: OrderId) -> Result<(), DbErr> {
    let row = ActiveModel {
        id: Unchanged(id.0),
        fraud_alert: Set(true),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    run::update_one(db, row).await?;
    Ok(())
}

/// Records the checkout preference of a freshly created order and moves it to `PENDING_PAYMENT`.
pub async fn attach_checkout(
    db: &impl ConnectionTrait,
    order: &Model,
    init_point: &str,
) -> Result<Model, DbErr> {
    ActiveModel {
        id: Unchanged(order.id),
        init_point: Set(Some(init_point.to_owned())),
        status: Set(OrderStatus::PendingPayment.as_str().into()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(db)
    .await
}
