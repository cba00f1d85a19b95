//! The audit trail as the admin API meets it (SPEC §20): who a request acts as, for the store
//! functions that record changes ([`By`] from the request: the caller the token resolved to, the
//! peer's address, the request's `x-request-id`), and reading the trail: `GET /api/audit` (super
//! admin, every row) and `GET /api/tenants/{tid}/audit` (that tenant's), newest first, filtered
//! by action and time. Both resources take GET alone: an edit or a delete is 405.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::access::{SuperAdmin, TenantAccess};
use super::page::PageOut;
use crate::auth::Caller;
use crate::domain::TenantId;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::PageQuery;
use crate::store::audit::{self, Actor, By, Filter, Origin};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/audit").route(web::get().to(all)))
        .service(web::resource("/tenants/{tid}/audit").route(web::get().to(of_tenant)));
}

/// One change and who made it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryOut {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// `super_admin`, `tenant:<id>`, `cli` or `system`.
    pub actor: String,
    /// `tenant.create`, `tenant.update`, ... (docs/API.md lists them).
    pub action: String,
    pub tenant_id: Option<Uuid>,
    /// What the action was on, beyond the tenant.
    pub target: Option<String>,
    /// The names of the fields changed, never their values.
    #[schema(value_type = Option<Vec<String>>)]
    pub changes: Option<Value>,
    /// The TCP peer of the request that made the change.
    pub remote_addr: Option<String>,
    /// That request's `x-request-id`.
    pub request_id: Option<String>,
}

impl From<entity::audit_entry::Model> for AuditEntryOut {
    fn from(row: entity::audit_entry::Model) -> Self {
        Self {
            id: row.id,
            at: row.at,
            actor: row.actor,
            action: row.action,
            tenant_id: row.tenant_id,
            target: row.target,
            changes: row.changes,
            remote_addr: row.remote_addr,
            request_id: row.request_id,
        }
    }
}

/// The filters and the paging fields.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditListIn {
    /// Only this action (`tenant.update`, ...).
    #[param(pattern = r"^[^\x00]*$")]
    pub action: Option<String>,
    /// At or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// How many items: 50 when absent; 0 counts as 1 and anything over 500 as 500.
    #[param(minimum = 0)]
    pub limit: Option<i64>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/audit", tag = "audit", security(("bearer" = [])),
    params(AuditListIn),
    responses((status = 200, description = "a page of every change, newest first", body = PageOut<AuditEntryOut>)))]
pub(crate) async fn all(
    _: SuperAdmin,
    state: web::Data<AppState>,
    query: web::Query<AuditListIn>,
) -> Result<HttpResponse, AppError> {
    list(&state, None, query.into_inner()).await
}

#[utoipa::path(get, path = "/api/tenants/{tid}/audit", tag = "audit", security(("bearer" = [])),
    params(("tid" = Uuid, Path, description = "tenant id"), AuditListIn),
    responses((status = 200, description = "a page of the tenant's changes, newest first", body = PageOut<AuditEntryOut>)))]
pub(crate) async fn of_tenant(
    access: TenantAccess,
    state: web::Data<AppState>,
    query: web::Query<AuditListIn>,
) -> Result<HttpResponse, AppError> {
    list(&state, Some(access.0), query.into_inner()).await
}

async fn list(
    state: &AppState,
    tenant_id: Option<TenantId>,
    query: AuditListIn,
) -> Result<HttpResponse, AppError> {
    let page = PageQuery {
        limit: super::page::limit(query.limit)?,
        cursor: query.cursor,
    };
    let filter = Filter {
        tenant_id,
        action: super::input::search_text("action", query.action)?,
        from: query.from,
        to: query.to,
    };
    let rows = audit::list(&state.services.db, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(PageOut::from_rows(rows, AuditEntryOut::from)))
}

impl From<Caller> for Actor {
    fn from(caller: Caller) -> Self {
        match caller {
            Caller::SuperAdmin => Actor::SuperAdmin,
            Caller::Tenant(id) => Actor::Tenant(id),
        }
    }
}

/// The origin of a request: its peer (not a forwarded-for header, which the client writes) and
/// the `x-request-id` it came with.
pub fn origin_of(req: &HttpRequest) -> Origin {
    Origin {
        remote_addr: req.peer_addr().map(|addr| addr.ip().to_string()),
        request_id: req
            .headers()
            .get("x-request-id")
            .and_then(|id| id.to_str().ok())
            .map(str::to_owned),
    }
}

impl FromRequest for By {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let by = Caller::from_request(req, payload)
            .into_inner()
            .map(|caller| By {
                actor: caller.into(),
                origin: origin_of(req),
            });
        ready(by)
    }
}
