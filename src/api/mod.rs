//! The admin API (SPEC §4, §8, §9) and health endpoints. Each module exports `configure`;
//! authentication is the [`auth::Caller`] extractor; errors are `AppError`.

pub mod auth;
mod cluster;
mod events;
mod health;
pub mod openapi;
mod orders;
mod payments;
mod tenants;

use actix_web::web;

use crate::error::AppError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    cluster::configure(cfg);
    openapi::configure(cfg);
    // Tenant sub-resources first: `/api/tenants/{id}` would otherwise shadow nothing, but keeping
    // the most specific paths first reads the way actix matches.
    events::configure(cfg);
    orders::configure(cfg);
    payments::configure(cfg);
    tenants::configure(cfg);
}

/// Malformed JSON bodies answer 400 `{"error": ...}` like every other error.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(64 * 1024)
        .error_handler(|err, _| AppError::BadRequest(format!("invalid JSON body: {err}")).into())
}

/// Malformed query strings (a bad `cursor`, a negative `limit`) answer 400 too.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| AppError::BadRequest(format!("invalid query: {err}")).into())
}

/// Path ids that are not UUIDs are simply not found.
pub(crate) fn parse_id(text: &str, what: &'static str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(text).map_err(|_| AppError::NotFound(what))
}
