//! Who is calling the admin API: the super admin (`COBRO_ADMIN_TOKEN`) or one tenant's admin (a
//! token whose SHA-256 is stored on the tenant). [`Caller`] is an extractor; handlers then say
//! what they need with [`Caller::super_admin`] or [`Caller::tenant`].

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::domain::TenantId;
use crate::error::AppError;
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

    /// The tenant of a `/api/tenants/{tid}/...` path, if this caller may reach it (403 if not).
    pub fn tenant(self, path_tenant: &str) -> Result<TenantId, AppError> {
        let tenant = TenantId(super::parse_id(path_tenant, "tenant")?);
        match self {
            Caller::SuperAdmin => Ok(tenant),
            Caller::Tenant(own) if own == tenant => Ok(tenant),
            Caller::Tenant(_) => Err(AppError::Forbidden),
        }
    }
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal("app state missing".into()))?;
            authenticate(&state, token.as_deref()).await
        })
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
pub async fn authenticate(state: &AppState, token: Option<&str>) -> Result<Caller, AppError> {
    let admin = state.services.config.admin_token.as_ref();
    let Some(token) = token else {
        return Err(match admin {
            Some(_) => AppError::Unauthorized("missing bearer token".into()),
            None => AppError::AdminNotConfigured,
        });
    };
    if admin.is_some_and(|admin| same_secret(admin.expose(), token)) {
        return Ok(Caller::SuperAdmin);
    }
    if let Some(tenant) = tenants::find_by_token(&state.services.db, token).await? {
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
