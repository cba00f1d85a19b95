//! The admin API (SPEC §4, §8, §9, §15) and health endpoints. Each module registers its
//! resources with `configure` and owns the API types of its bodies (`XxxIn` read from requests,
//! `XxxOut` answered, mapped from rows: a column rename is not an API change). Every `/api` route
//! but the OpenAPI document is inside one scope behind [`access::require_token`], so
//! authentication comes before routing, path parsing and body validation. Errors are `AppError`.

pub mod access;
mod cluster;
mod connect;
mod deliveries;
mod events;
mod export;
mod health;
mod mp_user_id;
pub mod openapi;
mod orders;
mod page;
mod payments;
mod stats;
mod tenants;

use actix_web::dev::ServiceResponse;
use actix_web::http::header::ALLOW;
use actix_web::middleware::{ErrorHandlerResponse, from_fn};
use actix_web::{ResponseError, web};

use crate::error::AppError;

pub use page::PageOut;

pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    openapi::configure(cfg);
    connect::configure_callback(cfg);
    cfg.service(
        web::scope("/api")
            .wrap(from_fn(access::require_token))
            .configure(cluster::configure)
            .configure(connect::configure)
            // The most specific paths first, the way actix matches them.
            .configure(deliveries::configure)
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

/// Text the database could not store: PostgreSQL's `text` has no NUL character. Refused the same
/// way on SQLite, so both answer alike; the schemas say `pattern: ^[^\x00]*$` (or, for text that
/// must not be blank, `^[^\x00]*[^\s\x00][^\x00]*$`).
pub(crate) fn refuse_nul(fields: &[(&str, Option<&String>)]) -> Result<(), AppError> {
    match fields
        .iter()
        .find(|(_, value)| value.is_some_and(|v| v.contains('\0')))
    {
        Some((name, _)) => Err(AppError::Unprocessable(format!(
            "{name} must not contain a NUL character"
        ))),
        None => Ok(()),
    }
}

/// A search field as asked: trimmed, and an empty one is no filter at all. A NUL character is
/// refused (400), as the schema says: PostgreSQL's text cannot hold one.
pub(crate) fn search_text(name: &str, asked: Option<String>) -> Result<Option<String>, AppError> {
    let Some(text) = asked.map(|text| text.trim().to_owned()) else {
        return Ok(None);
    };
    if text.contains('\0') {
        return Err(AppError::InvalidQuery(format!(
            "{name} must not contain a NUL character"
        )));
    }
    Ok(Some(text).filter(|text| !text.is_empty()))
}

/// Path ids that are not UUIDs are simply not found.
pub(crate) fn parse_id(text: &str, what: &'static str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(text).map_err(|_| AppError::NotFound(what))
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
