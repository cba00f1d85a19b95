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

#[utoipa::path(get, path = "/api/tenants/{tid}/payments", tag = "payments", security(("bearer" = [])), params(("tid" = String, Path, description = "tenant id"), ("limit" = Option<u64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, description = "a page of payments")))]
pub(crate) async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let tenant = caller.tenant(&path)?;
    Ok(HttpResponse::Ok().json(payments::list(&state.services.db, tenant, &query).await?))
}

#[utoipa::path(get, path = "/api/tenants/{tid}/payments/{mp_payment_id}", tag = "payments", security(("bearer" = [])), params(("tid" = String, Path, description = "tenant id"), ("mp_payment_id" = String, Path)),
    responses((status = 200, description = "the payment as last fetched from MercadoPago"), (status = 404, description = "unknown payment")))]
pub(crate) async fn read(
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
