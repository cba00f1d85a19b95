//! `/api/tenants/{tid}/orders` (SPEC §8): create and read orders. Their status is moved by
//! payments only. `"checkout": true` also creates the MercadoPago checkout preference.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::TenantAccess;
use super::page::{PageIn, PageOut};
use crate::domain::{OrderId, TenantId};
use crate::error::{AppError, ErrorBody};
use crate::provider::{CheckoutOrder, Provider};
use crate::state::AppState;
use crate::store::orders::{self, NewOrder};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/tenants/{tid}/orders")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(web::resource("/tenants/{tid}/orders/{id}").route(web::get().to(read)));
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderIn {
    #[schema(exclusive_minimum = 0.0)]
    pub amount: f64,
    /// An ISO 4217 code such as `ARS` or `BRL`.
    #[schema(pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub currency: String,
    #[schema(pattern = r"^[^\x00]*$")]
    pub description: String,
    #[schema(pattern = r"^[^\x00]*$")]
    pub customer_email: Option<String>,
    /// Also create the MercadoPago checkout preference.
    #[serde(default)]
    pub checkout: bool,
}

/// An order; its status is moved by payments only (SPEC §7).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderOut {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub amount: f64,
    pub currency: String,
    pub description: String,
    pub customer_email: Option<String>,
    /// `CREATED`, `PENDING_PAYMENT`, `PAID`, `REJECTED`, `CANCELLED`, `REFUNDED`, `DELIVERED`
    /// or `CHARGED_BACK`.
    pub status: String,
    pub mp_payment_id: Option<String>,
    /// The checkout page, when one was created.
    pub init_point: Option<String>,
    /// MercadoPago flagged a payment of this order as fraud: do not deliver (SPEC §17).
    pub fraud_alert: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::order::Model> for OrderOut {
    fn from(o: entity::order::Model) -> Self {
        Self {
            id: o.id,
            tenant_id: o.tenant_id,
            amount: o.amount,
            currency: o.currency,
            description: o.description,
            customer_email: o.customer_email,
            status: o.status,
            mp_payment_id: o.mp_payment_id,
            init_point: o.init_point,
            fraud_alert: o.fraud_alert,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

#[utoipa::path(post, path = "/api/tenants/{tid}/orders", tag = "orders", security(("bearer" = [])), params(("tid" = Uuid, Path, description = "tenant id")), request_body = OrderIn,
    responses((status = 201, description = "the order; with checkout, PENDING_PAYMENT and its init_point", body = OrderOut),
        (status = 422, description = "amount not positive, or currency empty", body = ErrorBody),
        (status = 502, description = "MercadoPago refused the checkout; the order stays CREATED", body = ErrorBody)))]
pub(crate) async fn create(
    access: TenantAccess,
    state: web::Data<AppState>,
    body: web::Json<OrderIn>,
) -> Result<HttpResponse, AppError> {
    let tenant = access.0;
    let body = body.into_inner();
    super::input::refuse_nul(&[
        ("currency", Some(&body.currency)),
        ("description", Some(&body.description)),
        ("customer_email", body.customer_email.as_ref()),
    ])?;
    let checkout = body.checkout;
    let order = NewOrder {
        amount: body.amount,
        currency: body.currency,
        description: body.description,
        customer_email: body.customer_email,
    };
    if !(order.amount.is_finite() && order.amount > 0.0) {
        return Err(AppError::Unprocessable(
            "amount must be a positive number".into(),
        ));
    }
    if crate::domain::is_blank(&order.currency) {
        return Err(AppError::Unprocessable("currency must not be empty".into()));
    }
    let created = orders::create(&state.services.db, tenant, order).await?;
    let created = match checkout {
        true => with_checkout(&state, tenant, created).await?,
        false => created,
    };
    Ok(HttpResponse::Created().json(OrderOut::from(created)))
}

/// SPEC §8: the order's payment page at the tenant's provider, which posts the payment's
/// webhooks back here. A refusal leaves the order `CREATED` and says so.
async fn with_checkout(
    state: &AppState,
    tenant: TenantId,
    order: entity::order::Model,
) -> Result<entity::order::Model, AppError> {
    let services = &state.services;
    let seller = services
        .directory
        .get(tenant)
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
    // SPEC §8: checkouts are MercadoPago's; the seller's account there creates it.
    let provider = Provider::MercadoPago;
    let access_token = seller
        .account(provider)
        .map_or("", |account| account.access_token.as_str());
    let public_url = services.config.public_url.as_str().trim_end_matches('/');
    let checkout = CheckoutOrder {
        order_id: order.id,
        title: &order.description,
        amount: order.amount,
        currency: &order.currency,
        payer_email: order.customer_email.as_deref(),
        notification_url: format!("{public_url}{}", provider.webhook_path()),
    };
    let created = services
        .providers
        .create_checkout(provider, access_token, &checkout)
        .await;
    let init_point = created.map_err(|why| {
        AppError::BadGateway(format!(
            "order {} was created, but {} did not create its checkout: {why}; the order stays CREATED",
            order.id,
            provider.name()
        ))
    })?;
    tracing::info!(order = %order.id, "checkout preference created");
    Ok(orders::attach_checkout(&services.db, &order, &init_point).await?)
}

#[utoipa::path(get, path = "/api/tenants/{tid}/orders", tag = "orders", security(("bearer" = [])), params(("tid" = Uuid, Path, description = "tenant id"), PageIn),
    responses((status = 200, description = "a page of orders, newest first", body = PageOut<OrderOut>)))]
pub(crate) async fn list(
    access: TenantAccess,
    state: web::Data<AppState>,
    query: web::Query<PageIn>,
) -> Result<HttpResponse, AppError> {
    let rows = orders::list(&state.services.db, access.0, &query.to_query()?).await?;
    Ok(HttpResponse::Ok().json(PageOut::from_rows(rows, OrderOut::from)))
}

#[utoipa::path(get, path = "/api/tenants/{tid}/orders/{id}", tag = "orders", security(("bearer" = [])), params(("tid" = Uuid, Path, description = "tenant id"), ("id" = Uuid, Path, description = "order id")),
    responses((status = 200, description = "the order", body = OrderOut)))]
pub(crate) async fn read(
    access: TenantAccess,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let id = OrderId(super::input::parse_id(&path.1, "order")?);
    let order = orders::get(&state.services.db, access.0, id)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    Ok(HttpResponse::Ok().json(OrderOut::from(order)))
}
