//! `/api/tenants/{tid}/orders` (SPEC §8): create and read orders. Their status is moved by
//! payments only. `"checkout": true` also creates the MercadoPago checkout preference.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::auth::Caller;
use crate::app::AppState;
use crate::domain::TenantId;
use crate::error::AppError;
use crate::mercadopago::client::MpError;
use crate::outbound::CallError;
use crate::store::PageQuery;
use crate::store::orders::{self, NewOrder};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/tenants/{tid}/orders")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .route("/api/tenants/{tid}/orders/{id}", web::get().to(read));
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct CreateOrder {
    #[serde(flatten)]
    order: NewOrder,
    /// Also create the MercadoPago checkout preference.
    #[serde(default)]
    checkout: bool,
}

#[utoipa::path(post, path = "/api/tenants/{tid}/orders", tag = "orders", security(("bearer" = [])), params(("tid" = String, Path, description = "tenant id")), request_body = CreateOrder,
    responses((status = 201, description = "the order; with checkout, PENDING_PAYMENT and its init_point"), (status = 502, description = "MercadoPago refused the checkout; the order stays CREATED")))]
pub(crate) async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<CreateOrder>,
) -> Result<HttpResponse, AppError> {
    let tenant = caller.tenant(&path)?;
    let CreateOrder { order, checkout } = body.into_inner();
    if !(order.amount.is_finite() && order.amount > 0.0) {
        return Err(AppError::Unprocessable(
            "amount must be a positive number".into(),
        ));
    }
    if order.currency.trim().is_empty() {
        return Err(AppError::Unprocessable("currency must not be empty".into()));
    }
    let created = orders::create(&state.services.db, tenant, order).await?;
    let created = match checkout {
        true => with_checkout(&state, tenant, created).await?,
        false => created,
    };
    Ok(HttpResponse::Created().json(created))
}

/// SPEC §8: a MercadoPago checkout preference for the order; its `init_point` is the payment
/// page. A refusal leaves the order `CREATED` and says so.
async fn with_checkout(
    state: &AppState,
    tenant: TenantId,
    order: entity::order::Model,
) -> Result<entity::order::Model, AppError> {
    let seller = state
        .services
        .directory
        .get(tenant)
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
    let notification_url = format!(
        "{}/webhooks/mp",
        state
            .services
            .config
            .public_url
            .as_str()
            .trim_end_matches('/')
    );
    let mut preference = json!({
        "items": [{ "id": order.id, "title": order.description, "quantity": 1,
                    "unit_price": order.amount, "currency_id": order.currency }],
        "external_reference": order.id,
        "notification_url": notification_url,
    });
    if let Some(email) = &order.customer_email {
        preference["payer"] = json!({ "email": email });
    }
    let refused = |why: String| {
        AppError::BadGateway(format!(
            "order {} was created, but MercadoPago did not create its checkout: {why}; the order stays CREATED",
            order.id
        ))
    };
    let answer = state
        .services
        .mp
        .create_preference(&seller.mp_access_token, &preference)
        .await
        .map_err(|e| refused(describe(&e)))?;
    let init_point = answer["init_point"]
        .as_str()
        .ok_or_else(|| refused("its answer has no init_point".into()))?;
    tracing::info!(order = %order.id, "checkout preference created");
    Ok(orders::attach_checkout(&state.services.db, &order, init_point).await?)
}

#[utoipa::path(get, path = "/api/tenants/{tid}/orders", tag = "orders", security(("bearer" = [])), params(("tid" = String, Path, description = "tenant id"), ("limit" = Option<u64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, description = "a page of orders")))]
pub(crate) async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let tenant = caller.tenant(&path)?;
    Ok(HttpResponse::Ok().json(orders::list(&state.services.db, tenant, &query).await?))
}

#[utoipa::path(get, path = "/api/tenants/{tid}/orders/{id}", tag = "orders", security(("bearer" = [])), params(("tid" = String, Path, description = "tenant id"), ("id" = String, Path, description = "order id")),
    responses((status = 200, description = "the order"), (status = 404, description = "no such order")))]
pub(crate) async fn read(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let tenant = caller.tenant(&path.0)?;
    let id = super::parse_id(&path.1, "order")?;
    let order = orders::get(&state.services.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    Ok(HttpResponse::Ok().json(order))
}

/// MP's own words when it answered with an error body, so the caller sees why.
fn describe(err: &MpError) -> String {
    match err {
        MpError::Call(CallError::Status { status, body, .. }) if !body.is_empty() => {
            format!("MercadoPago answered {status}: {body}")
        }
        other => other.to_string(),
    }
}
