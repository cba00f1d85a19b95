//! `/api/tenants` (SPEC §4): create, list, read, patch, delete. Secrets are write-only: the view
//! says whether they are set, never what they are; the admin token appears once, on creation or
//! rotation.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::auth::Caller;
use crate::app::AppState;
use crate::domain::TenantId;
use crate::error::AppError;
use crate::store::tenants::{self, NewTenant, TenantPatch};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/me", web::get().to(me));
    cfg.service(
        web::resource("/api/tenants")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(
        web::resource("/api/tenants/{tid}")
            .route(web::get().to(read))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

/// A tenant as the API shows it: no secret, no token, no token hash.
#[derive(Serialize)]
struct TenantView {
    id: Uuid,
    name: String,
    mp_user_id: String,
    has_webhook_secret: bool,
    allow_unsigned: bool,
    ghl: Option<GhlView>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct GhlView {
    location_id: String,
    tag: String,
}

impl From<entity::tenant::Model> for TenantView {
    fn from(t: entity::tenant::Model) -> Self {
        let ghl = match (t.ghl_location_id, t.ghl_tag) {
            (Some(location_id), Some(tag)) if t.ghl_api_key.is_some() => {
                Some(GhlView { location_id, tag })
            }
            _ => None,
        };
        Self {
            id: t.id,
            name: t.name,
            mp_user_id: t.mp_user_id,
            has_webhook_secret: t.mp_webhook_secret.is_some(),
            allow_unsigned: t.allow_unsigned,
            ghl,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

fn global_secret(state: &AppState) -> bool {
    state.services.config.mp_webhook_secret.is_some()
}

#[utoipa::path(post, path = "/api/tenants", tag = "tenants", security(("bearer" = [])), request_body = NewTenant,
    responses((status = 201, description = "{id, name, mp_user_id, admin_token}: the token is shown this once"), (status = 409, description = "mp_user_id exists"), (status = 422, description = "no webhook secret would apply")))]
pub(crate) async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<NewTenant>,
) -> Result<HttpResponse, AppError> {
    caller.super_admin()?;
    let (tenant, token) =
        tenants::create(&state.services.db, body.into_inner(), global_secret(&state)).await?;
    state.services.directory.forget_all();
    tracing::info!(tenant = %tenant.id, mp_user_id = %tenant.mp_user_id, "tenant created");
    Ok(HttpResponse::Created().json(json!({
        "id": tenant.id,
        "name": tenant.name,
        "mp_user_id": tenant.mp_user_id,
        "admin_token": token,
    })))
}

#[utoipa::path(get, path = "/api/tenants", tag = "tenants", security(("bearer" = [])), responses((status = 200, description = "all tenants, without secrets")))]
pub(crate) async fn list(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    caller.super_admin()?;
    let items: Vec<TenantView> = tenants::list(&state.services.db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": null })))
}

/// A tenant's own admin may read its tenant (no secrets are shown); the rest is super-admin only.
#[utoipa::path(get, path = "/api/tenants/{tid}", tag = "tenants", security(("bearer" = [])), params(("tid" = String, Path, description = "tenant id")), responses((status = 200, description = "the tenant, without secrets")))]
pub(crate) async fn read(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let tenant = caller.tenant(&path)?;
    let found = tenants::get(&state.services.db, tenant)
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
    Ok(HttpResponse::Ok().json(TenantView::from(found)))
}

#[utoipa::path(patch, path = "/api/tenants/{tid}", tag = "tenants", security(("bearer" = [])), params(("tid" = String, Path, description = "tenant id")), request_body = TenantPatch,
    responses((status = 200, description = "the tenant; admin_token when rotated")))]
pub(crate) async fn patch(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<TenantPatch>,
) -> Result<HttpResponse, AppError> {
    caller.super_admin()?;
    let tenant = TenantId(super::parse_id(&path, "tenant")?);
    let (updated, token) = tenants::update(
        &state.services.db,
        tenant,
        body.into_inner(),
        global_secret(&state),
    )
    .await?
    .ok_or(AppError::NotFound("tenant"))?;
    state.services.directory.forget_all();
    tracing::info!(%tenant, rotated = token.is_some(), "tenant updated");
    let mut view = serde_json::to_value(TenantView::from(updated))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    if let Some(token) = token {
        view["admin_token"] = json!(token);
    }
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(delete, path = "/api/tenants/{tid}", tag = "tenants", security(("bearer" = [])), params(("tid" = String, Path, description = "tenant id")), responses((status = 204, description = "deleted with its events, payments and orders")))]
pub(crate) async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    caller.super_admin()?;
    let tenant = TenantId(super::parse_id(&path, "tenant")?);
    if !tenants::delete(&state.services.db, tenant).await? {
        return Err(AppError::NotFound("tenant"));
    }
    state.services.directory.forget_all();
    tracing::info!(%tenant, "tenant deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// Who the token belongs to: the dashboard asks this after sign-in.
#[utoipa::path(get, path = "/api/me", tag = "tenants", security(("bearer" = [])), responses((status = 200, description = "{role, tenant_id?, name?, sandbox}")))]
pub(crate) async fn me(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    // Which node served the page and how many are live: the dashboard shows both.
    let node = json!({
        "node_id": state.services.config.node_id,
        "cluster_size": state.cluster.as_ref().map_or(1, |c| c.live_nodes()),
    });
    let mut me = match caller {
        Caller::SuperAdmin => {
            json!({ "role": "super_admin", "sandbox": state.services.config.sandbox })
        }
        Caller::Tenant(tenant) => {
            let found = tenants::get(&state.services.db, tenant)
                .await?
                .ok_or(AppError::NotFound("tenant"))?;
            json!({ "role": "tenant", "tenant_id": found.id, "name": found.name,
                    "sandbox": state.services.config.sandbox })
        }
    };
    me["node"] = node;
    Ok(HttpResponse::Ok().json(me))
}
