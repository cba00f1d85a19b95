//! `/api/tenants/{tid}/orders` (SPEC §8): create and read orders. Their status is moved by
//! payments only. Checkout preferences (`"checkout": true`) are not built yet and answer 501.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::Caller;
use crate::app::AppState;
use crate::error::AppError;
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

#[derive(Deserialize)]
struct CreateOrder {
    #[serde(flatten)]
    order: NewOrder,
    #[serde(default)]
    checkout: bool,
}

async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<CreateOrder>,
) -> Result<HttpResponse, AppError> {
    let tenant = caller.tenant(&path)?;
    let CreateOrder { order, checkout } = body.into_inner();
    if checkout {
        return Err(AppError::NotImplemented(
            "checkout preferences are not supported yet",
        ));
    }
    if !(order.amount.is_finite() && order.amount > 0.0) {
        return Err(AppError::Unprocessable(
            "amount must be a positive number".into(),
        ));
    }
    if order.currency.trim().is_empty() {
        return Err(AppError::Unprocessable("currency must not be empty".into()));
    }
    let created = orders::create(&state.services.db, tenant, order).await?;
    Ok(HttpResponse::Created().json(created))
}

async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let tenant = caller.tenant(&path)?;
    Ok(HttpResponse::Ok().json(orders::list(&state.services.db, tenant, &query).await?))
}

async fn read(
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
