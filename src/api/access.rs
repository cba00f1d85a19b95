//! Authentication first (SPEC §15). Every `/api/...` route but the OpenAPI document sits behind
//! [`require_token`], which runs before routing inside `/api`, before path parsing and before the
//! body is read: a caller without a valid token gets 401 and learns nothing about paths or
//! bodies. Handlers then say what they need with one extractor, resolved at once from what the
//! middleware found: [`SuperAdmin`], or [`TenantAccess`] (the path's tenant, if it exists and this
//! caller may reach it), or the [`Caller`] itself.

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use crate::auth::{self, Caller};
use crate::domain::TenantId;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::tenants;

/// The `/api` scope's middleware: resolves the bearer token to a [`Caller`] or answers 401.
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = app_state(req.request())?;
    let token = auth::bearer(req.request());
    let caller = auth::authenticate(&state.services, token.as_deref()).await?;
    req.extensions_mut().insert(caller);
    next.call(req).await
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal("app state missing".into()))
}

/// The caller [`require_token`] found. A route outside the `/api` scope that asks for it is a
/// wiring mistake, answered 500 rather than let through.
fn caller_of(req: &HttpRequest) -> Result<Caller, AppError> {
    req.extensions()
        .get::<Caller>()
        .copied()
        .ok_or_else(|| AppError::Internal("route outside the authenticated scope".into()))
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller_of(req))
    }
}

/// Routes only the super admin may use (403 for a tenant's token).
pub struct SuperAdmin;

impl FromRequest for SuperAdmin {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller_of(req).and_then(|caller| caller.super_admin().map(|()| SuperAdmin)))
    }
}

/// The tenant of a `/api/tenants/{tid}/...` path: 403 if the caller may not reach it, 404 if the
/// id is not a UUID or no such tenant exists (checked only for the super admin: a tenant's own
/// token proves its tenant exists).
pub struct TenantAccess(pub TenantId);

impl FromRequest for TenantAccess {
    type Error = AppError;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let decided = tenant_of_path(req);
        let state = app_state(req);
        Box::pin(async move {
            let (caller, tenant) = decided?;
            // The row, not the directory: its cache opens the tenant's secrets, and a tenant
            // whose stored secret cannot be opened must still be reachable to be fixed.
            if caller == Caller::SuperAdmin {
                tenants::get(&state?.services.db, tenant)
                    .await?
                    .ok_or(AppError::NotFound("tenant"))?;
            }
            Ok(TenantAccess(tenant))
        })
    }
}

fn tenant_of_path(req: &HttpRequest) -> Result<(Caller, TenantId), AppError> {
    let caller = caller_of(req)?;
    let text = req.match_info().get("tid").unwrap_or_default();
    let tenant = TenantId(super::input::parse_id(text, "tenant")?);
    Ok((caller, caller.may_reach(tenant)?))
}
