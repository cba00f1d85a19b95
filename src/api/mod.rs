//! The admin API (SPEC §4, §8, §9, §15) and health endpoints. Each module registers its
//! resources with `configure` and owns the API types of its bodies (`XxxIn` read from requests,
//! `XxxOut` answered, mapped from rows: a column rename is not an API change). Every `/api` route
//! but the OpenAPI document is inside one scope behind [`access::require_token`], so
//! authentication comes before routing, path parsing and body validation. Errors are `AppError`.

pub mod access;
mod audit;
mod checkout_done;
mod cluster;
mod connect;
mod deliveries;
mod endpoints;
mod events;
mod export;
mod health;
mod input;
mod mp_user_id;
pub mod openapi;
mod orders;
mod page;
mod payments;
mod stats;
mod tenant_out;
mod tenants;

use actix_web::dev::ServiceResponse;
use actix_web::http::header::ALLOW;
use actix_web::middleware::{ErrorHandlerResponse, from_fn};
use actix_web::{ResponseError, web};

use crate::error::AppError;

pub use page::PageOut;

pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    checkout_done::configure(cfg);
    openapi::configure(cfg);
    connect::configure_callback(cfg);
    cfg.service(
        web::scope("/api")
            .wrap(from_fn(access::require_token))
            .configure(cluster::configure)
            .configure(connect::configure)
            // The most specific paths first, the way actix matches them.
            .configure(audit::configure)
            .configure(deliveries::configure)
            .configure(endpoints::configure)
            .configure(events::configure)
            .configure(orders::configure)
            .configure(payments::configure)
            .configure(stats::configure)
            .configure(tenants::configure)
            .default_service(web::to(not_found)),
    );
}

/// Malformed JSON bodies answer 400 `invalid_json` like every other error.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(64 * 1024)
        .error_handler(|err, _| AppError::InvalidJson(err.to_string()).into())
}

/// Malformed query strings (a bad `cursor`, a negative `limit`) answer 400 `invalid_query`.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| AppError::InvalidQuery(err.to_string()).into())
}

/// Any path no route matches.
pub async fn not_found() -> actix_web::HttpResponse {
    AppError::NotFound("route").error_response()
}

/// actix answers a method a resource lacks with an empty 405 and its `Allow` header; this gives
/// it the error body every other error has, keeping `Allow` (registered by `app::http_server`).
pub fn method_not_allowed<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let (req, res) = res.into_parts();
    let mut answer = AppError::MethodNotAllowed.error_response();
    if let Some(allow) = res.headers().get(ALLOW) {
        answer.headers_mut().insert(ALLOW, allow.clone());
    }
    let answer = ServiceResponse::new(req, answer).map_into_right_body::<B>();
    Ok(ErrorHandlerResponse::Response(answer))
}
