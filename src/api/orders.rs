//! `/api/tenants/{tid}/orders` (SPEC §8): create and read orders. Their status is moved by
//! payments only. `"checkout": true` also creates the payment page at the tenant's provider
//! (`"provider"`: a MercadoPago preference by default, a Stripe Checkout Session, SPEC §19).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::TenantAccess;
use super::page::{PageIn, PageOut};
use crate::domain::{OrderId, TenantId};
use crate::error::{AppError, ErrorBody};
use crate::provider::{CheckoutOrder, Provider, Seller};
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
    /// Also create the payment page: a MercadoPago checkout preference, or a Stripe Checkout
    /// Session on the tenant's connected account.
    #[serde(default)]
    pub checkout: bool,
    /// Where the checkout is created: `mercadopago` (the default) or `stripe`.
    #[schema(inline)]
    pub provider: Option<super::input::ProviderIn>,
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
    /// The checkout page, when one was created (MercadoPago's name for it).
    pub init_point: Option<String>,
    /// The same page under a name for any provider (SPEC §19).
    pub checkout_url: Option<String>,
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
            checkout_url: o.init_point.clone(),
            init_point: o.init_point,
            fraud_alert: o.fraud_alert,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

#[utoipa::path(post, path = "/api/tenants/{tid}/orders", tag = "orders", security(("bearer" = [])), params(("tid" = Uuid, Path, description = "tenant id")), request_body = OrderIn,
    responses((status = 201, description = "the order; with checkout, PENDING_PAYMENT and its init_point", body = OrderOut),
        (status = 409, description = "a Stripe checkout for a tenant without a Stripe account", body = ErrorBody),
        (status = 422, description = "amount not positive, currency empty, or an amount Stripe cannot charge in that currency", body = ErrorBody),
        (status = 502, description = "the provider refused the checkout; the order stays CREATED", body = ErrorBody)))]
pub(crate) async fn create(
    access: TenantAccess,
    by: crate::store::audit::By,
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
    let checkout = match body.checkout {
        true => Some(
            body.provider
                .map_or(Provider::MercadoPago, super::input::ProviderIn::provider),
        ),
        false => None,
    };
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
    if let Some(provider) = checkout {
        checkable(&state, tenant, provider, &order).await?;
    }
    let created = orders::create_by(&state.services.db, tenant, order, &by).await?;
    let created = match checkout {
        Some(provider) => with_checkout(&state, tenant, provider, created).await?,
        None => created,
    };
    Ok(HttpResponse::Created().json(OrderOut::from(created)))
}

/// Refuses, before the order is written, a checkout that cannot be made: a Stripe checkout of a
/// tenant with no Stripe account (409: the tenant's state, not the request, is wrong), or of an
/// amount the currency cannot hold (422; a schema cannot say how many decimals a currency has).
async fn checkable(
    state: &AppState,
    tenant: TenantId,
    provider: Provider,
    order: &NewOrder,
) -> Result<(), AppError> {
    if provider != Provider::Stripe {
        return Ok(());
    }
    let seller = state.services.directory.get(tenant).await?;
    let linked = seller
        .as_ref()
        .and_then(|s| s.account(provider))
        .is_some_and(|account| account.account_id.is_some());
    if !linked {
        return Err(AppError::Conflict(
            "the tenant has no Stripe account: set stripe_account_id first".into(),
        ));
    }
    if crate::provider::stripe::checkout::minor_units(order.amount, &order.currency).is_none() {
        return Err(AppError::Unprocessable(format!(
            "{} {} has more decimals than the currency has",
            order.amount, order.currency
        )));
    }
    Ok(())
}

/// SPEC §8, §19: the order's payment page at the provider, which posts the payment's webhooks
/// back here. A refusal leaves the order `CREATED` and says so.
async fn with_checkout(
    state: &AppState,
    tenant: TenantId,
    provider: Provider,
    order: entity::order::Model,
) -> Result<entity::order::Model, AppError> {
    let services = &state.services;
    let seller = services
        .directory
        .get(tenant)
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
    let account = seller.account(provider);
    let seller_at_provider = Seller {
        account_id: account.and_then(|a| a.account_id.as_deref()).unwrap_or(""),
        token: account.map_or("", |a| a.access_token.as_str()),
    };
    let public_url = services.config.public_url.as_str().trim_end_matches('/');
    let checkout = CheckoutOrder {
        order_id: order.id,
        title: &order.description,
        amount: order.amount,
        currency: &order.currency,
        payer_email: order.customer_email.as_deref(),
        notification_url: format!("{public_url}{}", provider.webhook_path()),
        return_url: format!("{public_url}{}", super::checkout_done::PATH),
    };
    let created = services
        .providers
        .create_checkout(provider, seller_at_provider, &checkout)
        .await;
    let init_point = created.map_err(|why| {
        AppError::BadGateway(format!(
            "order {} was created, but {} did not create its checkout: {why}; the order stays CREATED",
            order.id,
            provider.name()
        ))
    })?;
    tracing::info!(order = %order.id, provider = provider.key(), "checkout created");
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
