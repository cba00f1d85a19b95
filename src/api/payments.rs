//! `/api/tenants/{tid}/payments[/{mp_payment_id}]`: payments as last fetched from MercadoPago.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::TenantAccess;
use super::page::{PageIn, PageOut};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::payments;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/tenants/{tid}/payments").route(web::get().to(list)))
        .service(
            web::resource("/tenants/{tid}/payments/{mp_payment_id}").route(web::get().to(read)),
        );
}

/// A payment as last fetched from MercadoPago.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentOut {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub mp_payment_id: String,
    /// Cobro's status (`APPROVED`, `REFUNDED`, ..., `UNKNOWN`); `mp_status` is MercadoPago's word.
    pub status: String,
    pub mp_status: String,
    pub status_detail: Option<String>,
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
    /// When the buyer was tagged in GoHighLevel (at most once per payment).
    pub ghl_tagged_at: Option<DateTime<Utc>>,
    /// The payment document as MercadoPago answered it.
    pub raw: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::payment::Model> for PaymentOut {
    fn from(p: entity::payment::Model) -> Self {
        Self {
            id: p.id,
            tenant_id: p.tenant_id,
            mp_payment_id: p.mp_payment_id,
            status: p.status,
            mp_status: p.mp_status,
            status_detail: p.status_detail,
            transaction_amount: p.transaction_amount,
            currency_id: p.currency_id,
            payer_email: p.payer_email,
            payer_name: p.payer_name,
            payment_method: p.payment_method,
            payment_type: p.payment_type,
            external_reference: p.external_reference,
            order_id: p.order_id,
            date_created: p.date_created,
            date_approved: p.date_approved,
            date_last_updated: p.date_last_updated,
            ghl_contact_id: p.ghl_contact_id,
            ghl_tagged_at: p.ghl_tagged_at,
            raw: p.raw,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[utoipa::path(get, path = "/api/tenants/{tid}/payments", tag = "payments", security(("bearer" = [])), params(("tid" = Uuid, Path, description = "tenant id"), PageIn),
    responses((status = 200, description = "a page of payments, newest first", body = PageOut<PaymentOut>)))]
pub(crate) async fn list(
    access: TenantAccess,
    state: web::Data<AppState>,
    query: web::Query<PageIn>,
) -> Result<HttpResponse, AppError> {
    let rows = payments::list(&state.services.db, access.0, &query.to_query()?).await?;
    Ok(HttpResponse::Ok().json(PageOut::from_rows(rows, PaymentOut::from)))
}

#[utoipa::path(get, path = "/api/tenants/{tid}/payments/{mp_payment_id}", tag = "payments", security(("bearer" = [])),
    params(("tid" = Uuid, Path, description = "tenant id"), ("mp_payment_id" = String, Path, pattern = r"^[0-9]+$", description = "MercadoPago's payment id: digits")),
    responses((status = 200, description = "the payment as last fetched from MercadoPago", body = PaymentOut)))]
pub(crate) async fn read(
    access: TenantAccess,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    // Payment ids are digits; anything else names no payment (and is never sent to the database).
    if path.1.is_empty() || !path.1.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::NotFound("payment"));
    }
    let payment = payments::get(&state.services.db, access.0, &path.1)
        .await?
        .ok_or(AppError::NotFound("payment"))?;
    Ok(HttpResponse::Ok().json(PaymentOut::from(payment)))
}
