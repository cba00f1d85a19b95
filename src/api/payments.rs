//! `/api/tenants/{tid}/payments[/{mp_payment_id}]`: payments as last fetched from MercadoPago.

use actix_web::{HttpResponse, web};

use super::auth::Caller;
use crate::app::AppState;
use crate::error::AppError;
use crate::store::{PageQuery, payments};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/tenants/{tid}/payments", web::get().to(list))
        .route(
            "/api/tenants/{tid}/payments/{mp_payment_id}",
            web::get().to(read),
        );
}

async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let tenant = caller.tenant(&path)?;
    Ok(HttpResponse::Ok().json(payments::list(&state.services.db, tenant, &query).await?))
}

async fn read(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let tenant = caller.tenant(&path.0)?;
    let payment = payments::get(&state.services.db, tenant, &path.1)
        .await?
        .ok_or(AppError::NotFound("payment"))?;
    Ok(HttpResponse::Ok().json(payment))
}
