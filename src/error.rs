//! The one HTTP error type. Subsystems keep their own `thiserror` enums and convert into
//! [`AppError`]; this is the only place that decides status codes and the error body
//! `{"error": "<sentence>", "code": "<stable_snake_case_code>"}` (SPEC §15; the codes are listed
//! in `docs/API.md`). Internal failures are logged here with their cause and answered without
//! details.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpResponse, ResponseError};
use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    /// A request body that is not JSON or not of the operation's schema.
    #[error("invalid JSON body: {0}")]
    InvalidJson(String),
    /// A query string that does not parse (a bad `cursor`, a negative `limit`, an unknown status).
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    #[error("{0}")]
    Unauthorized(String),
    /// A webhook whose provider signature (Stripe's) does not check out: 401 `bad_signature`
    /// (SPEC §19). MercadoPago's refusals stay `unauthorized`, as SPEC §5 has them.
    #[error("{0}")]
    BadSignature(String),
    #[error("forbidden")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("body over {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("too many webhooks for this tenant; retry after {}s", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    /// An upstream service (the payment provider) refused or failed a call made on the caller's behalf.
    #[error("{0}")]
    BadGateway(String),
    #[error("admin token not configured")]
    AdminNotConfigured,
    #[error(
        "MercadoPago OAuth is not configured on this server: set COBRO_MP_CLIENT_ID and COBRO_MP_CLIENT_SECRET"
    )]
    OAuthNotConfigured,
    #[error("database error")]
    Database(#[source] DbErr),
    #[error("internal error")]
    Internal(String),
}

impl From<DbErr> for AppError {
    /// A unique-constraint violation is the caller's conflict, anything else is ours.
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                AppError::Conflict("already exists".into())
            }
            _ => AppError::Database(err),
        }
    }
}

/// Every error answer's body.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A sentence for people; its wording may change.
    pub error: String,
    /// What went wrong, for programs: stable, snake_case, listed in `docs/API.md`.
    pub code: String,
}

impl AppError {
    /// The stable code of the body. Changing one is an API break.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::InvalidJson(_) => "invalid_json",
            AppError::InvalidQuery(_) => "invalid_query",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::BadSignature(_) => "bad_signature",
            AppError::Forbidden => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::Conflict(_) => "conflict",
            AppError::Unprocessable(_) => "unprocessable",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::BadGateway(_) => "upstream_error",
            AppError::AdminNotConfigured => "admin_not_configured",
            AppError::OAuthNotConfigured => "oauth_not_configured",
            AppError::Database(_) | AppError::Internal(_) => "internal_error",
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.to_string(),
            code: self.code().to_owned(),
        }
    }
}

impl From<crate::store::tenants::TenantError> for AppError {
    fn from(err: crate::store::tenants::TenantError) -> Self {
        use crate::store::tenants::TenantError;
        match err {
            TenantError::Invalid(why) => AppError::Unprocessable(why),
            TenantError::Duplicate(_) | TenantError::DuplicateStripe(_) => {
                AppError::Conflict(err.to_string())
            }
            TenantError::Db(db) => AppError::from(db),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) | AppError::InvalidJson(_) | AppError::InvalidQuery(_) => {
                StatusCode::BAD_REQUEST
            }
            AppError::Unauthorized(_) | AppError::BadSignature(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            AppError::AdminNotConfigured | AppError::OAuthNotConfigured => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Database(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Database(err) => tracing::error!(error = %err, "database error"),
            AppError::Internal(why) => tracing::error!(error = %why, "internal error"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        if let AppError::RateLimited { retry_after } = self {
            let seconds = retry_after.as_secs_f64().ceil().max(1.0);
            response.insert_header((RETRY_AFTER, format!("{seconds}")));
        }
        response.json(self.body())
    }
}
