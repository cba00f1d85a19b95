//! Who is calling: the super admin (`COBRO_ADMIN_TOKEN`) or one tenant's admin (a token whose
//! SHA-256 is stored on the tenant). Shared by the admin API (`api::access`, which runs it before
//! anything else of a request) and the WebSocket handshake (`ws::session`), so neither imports
//! the other.

use actix_web::HttpRequest;
use sha2::{Digest, Sha256};

use crate::domain::TenantId;
use crate::error::AppError;
use crate::services::Services;
use crate::store::tenants;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    SuperAdmin,
    Tenant(TenantId),
}

impl Caller {
    pub fn super_admin(self) -> Result<(), AppError> {
        match self {
            Caller::SuperAdmin => Ok(()),
            Caller::Tenant(_) => Err(AppError::Forbidden),
        }
    }

    /// May this caller reach `tenant`'s resources? (403 if not.)
    pub fn may_reach(self, tenant: TenantId) -> Result<TenantId, AppError> {
        match self {
            Caller::SuperAdmin => Ok(tenant),
            Caller::Tenant(own) if own == tenant => Ok(tenant),
            Caller::Tenant(_) => Err(AppError::Forbidden),
        }
    }
}

pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Resolves a token to a caller. Without `COBRO_ADMIN_TOKEN`, anything that is not a tenant token
/// answers 503 "admin token not configured", as SPEC §2 says.
pub async fn authenticate(services: &Services, token: Option<&str>) -> Result<Caller, AppError> {
    let admin = services.config.admin_token.as_ref();
    let Some(token) = token else {
        return Err(match admin {
            Some(_) => AppError::Unauthorized("missing bearer token".into()),
            None => AppError::AdminNotConfigured,
        });
    };
    if admin.is_some_and(|admin| same_secret(admin.expose(), token)) {
        return Ok(Caller::SuperAdmin);
    }
    if let Some(tenant) = tenants::find_by_token(&services.db, token).await? {
        return Ok(Caller::Tenant(TenantId(tenant.id)));
    }
    Err(match admin {
        Some(_) => AppError::Unauthorized("invalid token".into()),
        None => AppError::AdminNotConfigured,
    })
}

/// Compares digests, so the time taken says nothing about how much of the token matched.
fn same_secret(expected: &str, given: &str) -> bool {
    Sha256::digest(expected.as_bytes()) == Sha256::digest(given.as_bytes())
}
