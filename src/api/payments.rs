//! `/api/tenants/{tid}/payments[/{mp_payment_id}]`: payments as last fetched from MercadoPago.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::access::TenantAccess;
use super::export;
use super::page::PageOut;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::store::PageQuery;
use crate::store::payments;
use crate::store::search::{self, Filter};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/tenants/{tid}/payments").route(web::get().to(list)))
        // Before `{mp_payment_id}`, the way actix matches: `export` names no payment.
        .service(web::resource("/tenants/{tid}/payments/export").route(web::get().to(export)))
        .service(
            web::resource("/tenants/{tid}/payments/{mp_payment_id}").route(web::get().to(read)),
        )
        .service(web::resource("/tenants/{tid}/fraud-alerts").route(web::get().to(fraud_alerts)))
        .service(
            web::resource("/tenants/{tid}/payments/{mp_payment_id}/acknowledge-fraud")
                .route(web::post().to(acknowledge_fraud)),
        );
}

/// A payment as last fetched from MercadoPago.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentOut {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// `mercadopago` or `stripe` (SPEC §19).
    pub provider: String,
    /// The provider's payment id: MercadoPago's number, or a Stripe PaymentIntent's `pi_…`.
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
    /// The payment document as its provider answered it (MercadoPago's payment, Stripe's
    /// PaymentIntent with its latest charge).
    pub raw: Value,
    /// The amount exactly as the provider wrote it, when it sends decimal text (the Orders API;
    /// `transaction_amount` is the same as a number).
    pub amount: Option<String>,
    pub refunded_amount: Option<String>,
    /// MercadoPago flagged the sale as fraud: do not deliver (SPEC §17).
    pub fraud_alert: bool,
    /// When a person acknowledged the fraud alert (the dashboard's red banner shows until then).
    pub fraud_acknowledged_at: Option<DateTime<Utc>>,
    /// The dispute (chargeback) on this payment: `id`, `amount`, `currency`,
    /// `date_documentation_deadline` (answer with documents before it, or lose the money),
    /// `documentation_status`, `coverage_applied`, `reason`, as MercadoPago sent them.
    pub dispute: Option<Value>,
    /// The buyer's claim on this payment: `id`, `status`, `stage`, `type`, `reason_id`.
    pub claim: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::payment::Model> for PaymentOut {
    fn from(p: entity::payment::Model) -> Self {
        Self {
            id: p.id,
            tenant_id: p.tenant_id,
            provider: p.provider,
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
            amount: p.amount_decimal,
            refunded_amount: p.refunded_amount,
            fraud_alert: p.fraud_alert,
            fraud_acknowledged_at: p.fraud_acknowledged_at,
            dispute: p.dispute,
            claim: p.claim,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// The filters plus the paging fields. Every filter narrows the search.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentListIn {
    /// Only payments from this provider.
    #[param(inline)]
    pub provider: Option<super::input::ProviderIn>,
    /// Only payments in this status (Cobro's: `APPROVED`, `REFUNDED`, ...; any case).
    #[param(pattern = r"^[^\x00]*$")]
    pub status: Option<String>,
    #[param(pattern = r"^[^\x00]*$")]
    pub mp_payment_id: Option<String>,
    /// The buyer's email, exactly as MercadoPago sent it.
    #[param(pattern = r"^[^\x00]*$")]
    pub email: Option<String>,
    /// The order id (the payment's `external_reference`).
    #[param(pattern = r"^[^\x00]*$")]
    pub order_id: Option<String>,
    /// First stored at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// First stored before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// How many items: 50 when absent; 0 counts as 1 and anything over 500 as 500.
    #[param(minimum = 0)]
    pub limit: Option<i64>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<Uuid>,
}

impl PaymentListIn {
    fn filter(&self) -> Result<Filter, AppError> {
        Ok(Filter {
            provider: self.provider.map(super::input::ProviderIn::key),
            status: super::input::search_text("status", self.status.clone())?,
            action: None,
            mp_payment_id: super::input::search_text("mp_payment_id", self.mp_payment_id.clone())?,
            resource_type: None,
            resource_id: None,
            email: super::input::search_text("email", self.email.clone())?,
            order_id: super::input::search_text("order_id", self.order_id.clone())?,
            from: self.from,
            to: self.to,
        })
    }
}

#[utoipa::path(get, path = "/api/tenants/{tid}/payments", tag = "payments", security(("bearer" = [])), params(("tid" = Uuid, Path, description = "tenant id"), PaymentListIn),
    responses((status = 200, description = "a page of payments, newest first", body = PageOut<PaymentOut>)))]
pub(crate) async fn list(
    access: TenantAccess,
    state: web::Data<AppState>,
    query: web::Query<PaymentListIn>,
) -> Result<HttpResponse, AppError> {
    let page = PageQuery {
        limit: super::page::limit(query.limit)?,
        cursor: query.cursor,
    };
    let rows = search::payments(&state.services.db, access.0, &query.filter()?, &page).await?;
    Ok(HttpResponse::Ok().json(PageOut::from_rows(rows, PaymentOut::from)))
}

/// The most rows one export answers; narrow the filters for more.
const EXPORT_CAP: u64 = 100_000;

#[utoipa::path(get, path = "/api/tenants/{tid}/payments/export", tag = "payments", security(("bearer" = [])), params(("tid" = Uuid, Path, description = "tenant id"), PaymentListIn),
    responses((status = 200, description = "the filtered payments as CSV, newest first (up to 100,000 rows; `limit` and `cursor` are ignored)", content_type = "text/csv", body = String)))]
pub(crate) async fn export(
    access: TenantAccess,
    state: web::Data<AppState>,
    query: web::Query<PaymentListIn>,
) -> Result<HttpResponse, AppError> {
    // The export takes every row up to its cap; `limit` is still checked as the list checks it,
    // so the same query string is refused or accepted by both.
    super::page::limit(query.limit)?;
    let rows =
        search::all_payments(&state.services.db, access.0, &query.filter()?, EXPORT_CAP).await?;
    let csv = export::payments_csv(&rows).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            "attachment; filename=\"payments.csv\"",
        ))
        .body(csv))
}

#[utoipa::path(get, path = "/api/tenants/{tid}/payments/{mp_payment_id}", tag = "payments", security(("bearer" = [])),
    params(("tid" = Uuid, Path, description = "tenant id"), ("mp_payment_id" = String, Path, pattern = r"^[A-Za-z0-9_-]+$", description = "the provider's payment id: digits for MercadoPago's Payments API, `PAY01…` for its Orders API, `pi_…` for Stripe")),
    responses((status = 200, description = "the payment as last fetched from MercadoPago", body = PaymentOut)))]
pub(crate) async fn read(
    access: TenantAccess,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let id = payment_id(&path.1)?;
    let payment = payments::get(&state.services.db, access.0, id)
        .await?
        .ok_or(AppError::NotFound("payment"))?;
    Ok(HttpResponse::Ok().json(PaymentOut::from(payment)))
}

/// Payments ids in paths: letters, digits, `-` and `_`; anything else names no payment (and is
/// never sent to the database).
fn payment_id(text: &str) -> Result<&str, AppError> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    match !text.is_empty() && text.bytes().all(plain) {
        true => Ok(text),
        false => Err(AppError::NotFound("payment")),
    }
}

/// The fraud alerts nobody has acknowledged yet.
#[derive(Debug, Serialize, ToSchema)]
pub struct FraudAlertsOut {
    /// The flagged payments, newest first (at most 100).
    pub items: Vec<PaymentOut>,
}

#[utoipa::path(get, path = "/api/tenants/{tid}/fraud-alerts", tag = "payments", security(("bearer" = [])),
    params(("tid" = Uuid, Path, description = "tenant id")),
    responses((status = 200, description = "payments MercadoPago flagged as fraud that nobody acknowledged: do not deliver", body = FraudAlertsOut)))]
pub(crate) async fn fraud_alerts(
    access: TenantAccess,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let open = payments::open_fraud_alerts(&state.services.db, access.0).await?;
    Ok(HttpResponse::Ok().json(FraudAlertsOut {
        items: open.into_iter().map(PaymentOut::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/tenants/{tid}/payments/{mp_payment_id}/acknowledge-fraud", tag = "payments", security(("bearer" = [])),
    params(("tid" = Uuid, Path, description = "tenant id"), ("mp_payment_id" = String, Path, pattern = r"^[A-Za-z0-9_-]+$", description = "the provider's payment id")),
    responses((status = 200, description = "acknowledged: the dashboard's banner goes, the flag stays", body = PaymentOut),
        (status = 409, description = "the payment has no fraud alert", body = ErrorBody)))]
pub(crate) async fn acknowledge_fraud(
    access: TenantAccess,
    state: web::Data<AppState>,
    by: crate::store::audit::By,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let id = payment_id(&path.1)?;
    let db = &state.services.db;
    let found = payments::get(db, access.0, id)
        .await?
        .ok_or(AppError::NotFound("payment"))?;
    if !found.fraud_alert {
        return Err(AppError::Conflict("the payment has no fraud alert".into()));
    }
    let payment = payments::acknowledge_fraud(db, access.0, id, &by)
        .await?
        .ok_or(AppError::NotFound("payment"))?;
    tracing::info!(tenant = %access.0, payment = id, "fraud alert acknowledged");
    Ok(HttpResponse::Ok().json(PaymentOut::from(payment)))
}
