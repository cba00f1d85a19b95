//! `/api/tenants` and `/api/me` (SPEC §4): create, list, read, patch, delete. Secrets are
//! write-only: the answer says whether they are set, never what they are; the admin token appears
//! once, on creation or rotation.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::{SuperAdmin, TenantAccess};
use super::mp_user_id::MpUserIdIn;
use super::tenant_out::{TenantCreatedOut, TenantListOut, TenantOut};
use crate::auth::Caller;
use crate::domain::Provider;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::store::accounts;
use crate::store::audit::By;
use crate::store::tenants::{self, GhlInput, NewTenant, TenantPatch};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/me").route(web::get().to(me)))
        .service(
            web::resource("/tenants")
                .route(web::post().to(create))
                .route(web::get().to(list)),
        )
        .service(
            web::resource("/tenants/{tid}")
                .route(web::get().to(read))
                .route(web::patch().to(patch))
                .route(web::delete().to(delete)),
        );
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GhlIn {
    #[schema(pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub api_key: String,
    #[schema(pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub location_id: String,
    /// The tag added to the buyer's contact.
    #[schema(pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub tag: String,
}

impl From<GhlIn> for GhlInput {
    fn from(g: GhlIn) -> Self {
        GhlInput {
            api_key: g.api_key,
            location_id: g.location_id,
            tag: g.tag,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TenantIn {
    #[schema(pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub name: String,
    /// The seller's MercadoPago user id. Omit it (with the token) to create a tenant by name
    /// alone: it is `disconnected` and no webhook reaches it until OAuth or a `PATCH` sets it.
    pub mp_user_id: Option<MpUserIdIn>,
    /// Omit it to connect the seller through MercadoPago OAuth later
    /// (`POST /api/tenants/{tid}/mp/connect`); the tenant is `disconnected` until then.
    #[schema(pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub mp_access_token: Option<String>,
    /// This seller's own webhook secret; without it `COBRO_MP_WEBHOOK_SECRET` applies.
    #[schema(pattern = r"^[^\x00]*$")]
    pub mp_webhook_secret: Option<String>,
    /// Accept unsigned webhooks when no secret applies (for testing only).
    #[serde(default)]
    pub allow_unsigned: bool,
    pub ghl: Option<GhlIn>,
}

/// A `PATCH`: absent fields stay; `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TenantPatchIn {
    #[schema(pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub name: Option<String>,
    /// Links the seller's MercadoPago account (409 when another tenant has it).
    pub mp_user_id: Option<MpUserIdIn>,
    #[schema(pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub mp_access_token: Option<String>,
    #[serde(default, deserialize_with = "present_or_null")]
    #[schema(value_type = Option<String>, pattern = r"^[^\x00]*$")]
    pub mp_webhook_secret: Option<Option<String>>,
    pub allow_unsigned: Option<bool>,
    #[serde(default, deserialize_with = "present_or_null")]
    #[schema(value_type = Option<GhlIn>)]
    pub ghl: Option<Option<GhlIn>>,
    /// Issue a new admin token (answered once); the old one stops working.
    #[serde(default)]
    pub rotate_admin_token: bool,
    /// Links the seller's connected Stripe account (`acct_…`, SPEC §19; 409 when another tenant
    /// has it); `null` unlinks it.
    #[serde(default, deserialize_with = "present_or_null")]
    #[schema(value_type = Option<String>, pattern = r"^acct_[A-Za-z0-9]+$")]
    pub stripe_account_id: Option<Option<String>>,
}

/// Tells a field sent as `null` (`Some(None)`) from an absent one (`None`, via `default`).
fn present_or_null<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Who a token belongs to, and which node answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    /// `super_admin` or `tenant`.
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Running `cobro demo`: MercadoPago and GoHighLevel are the built-in sandbox.
    pub sandbox: bool,
    pub node: NodeOfMeOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NodeOfMeOut {
    pub node_id: String,
    pub cluster_size: usize,
}

fn global_secret(state: &AppState) -> bool {
    state.services.config.mp_webhook_secret.is_some()
}

#[utoipa::path(post, path = "/api/tenants", tag = "tenants", security(("bearer" = [])), request_body = TenantIn,
    responses((status = 201, description = "created; the admin token is shown this once", body = TenantCreatedOut),
        (status = 400, description = "not JSON, or not this schema", body = ErrorBody),
        (status = 409, description = "mp_user_id exists", body = ErrorBody),
        (status = 422, description = "a field is empty, or no webhook secret would apply", body = ErrorBody)))]
pub(crate) async fn create(
    _: SuperAdmin,
    by: By,
    state: web::Data<AppState>,
    body: web::Json<TenantIn>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let ghl = body.ghl.as_ref();
    super::input::refuse_nul(&[
        ("name", Some(&body.name)),
        ("mp_access_token", body.mp_access_token.as_ref()),
        ("mp_webhook_secret", body.mp_webhook_secret.as_ref()),
        ("ghl.api_key", ghl.map(|g| &g.api_key)),
        ("ghl.location_id", ghl.map(|g| &g.location_id)),
        ("ghl.tag", ghl.map(|g| &g.tag)),
    ])?;
    let new = NewTenant {
        name: body.name,
        mp_user_id: body.mp_user_id.map(|id| id.0),
        mp_access_token: body.mp_access_token,
        mp_webhook_secret: body.mp_webhook_secret,
        allow_unsigned: body.allow_unsigned,
        ghl: body.ghl.map(Into::into),
    };
    let (tenant, token) = tenants::create(
        &state.services.db,
        &state.services.config.secrets,
        new,
        global_secret(&state),
        &by,
    )
    .await?;
    state.services.directory.forget_all();
    let mp_user_id = tenant
        .account(Provider::MercadoPago)
        .and_then(|a| a.account_id.clone());
    tracing::info!(tenant = %tenant.tenant.id, mp_user_id = ?mp_user_id, "tenant created");
    Ok(HttpResponse::Created().json(TenantCreatedOut {
        id: tenant.tenant.id,
        name: tenant.tenant.name,
        mp_user_id,
        admin_token: token,
    }))
}

#[utoipa::path(get, path = "/api/tenants", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, description = "all tenants, without secrets", body = TenantListOut)))]
pub(crate) async fn list(
    _: SuperAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let items = accounts::list(&state.services.db)
        .await?
        .into_iter()
        .map(TenantOut::from)
        .collect();
    Ok(HttpResponse::Ok().json(TenantListOut {
        items,
        next_cursor: None,
    }))
}

/// A tenant's own admin may read its tenant (no secrets are shown); the rest is super-admin only.
#[utoipa::path(get, path = "/api/tenants/{tid}", tag = "tenants", security(("bearer" = [])), params(("tid" = Uuid, Path, description = "tenant id")),
    responses((status = 200, description = "the tenant, without secrets", body = TenantOut)))]
pub(crate) async fn read(
    access: TenantAccess,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let found = accounts::get(&state.services.db, access.0)
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
    Ok(HttpResponse::Ok().json(TenantOut::from(found)))
}

#[utoipa::path(patch, path = "/api/tenants/{tid}", tag = "tenants", security(("bearer" = [])), params(("tid" = Uuid, Path, description = "tenant id")), request_body = TenantPatchIn,
    responses((status = 200, description = "the tenant; admin_token when rotated", body = TenantOut),
        (status = 400, description = "not JSON, or not this schema", body = ErrorBody),
        (status = 409, description = "another tenant has this mp_user_id or stripe_account_id", body = ErrorBody),
        (status = 422, description = "a field is empty, a stripe_account_id is not acct_…, or no webhook secret would apply", body = ErrorBody)))]
pub(crate) async fn patch(
    _: SuperAdmin,
    access: TenantAccess,
    by: By,
    state: web::Data<AppState>,
    body: web::Json<TenantPatchIn>,
) -> Result<HttpResponse, AppError> {
    let tenant = access.0;
    let body = body.into_inner();
    let ghl = body.ghl.as_ref().and_then(Option::as_ref);
    super::input::refuse_nul(&[
        ("name", body.name.as_ref()),
        ("mp_access_token", body.mp_access_token.as_ref()),
        (
            "mp_webhook_secret",
            body.mp_webhook_secret.as_ref().and_then(Option::as_ref),
        ),
        ("ghl.api_key", ghl.map(|g| &g.api_key)),
        ("ghl.location_id", ghl.map(|g| &g.location_id)),
        ("ghl.tag", ghl.map(|g| &g.tag)),
    ])?;
    let change = TenantPatch {
        name: body.name,
        mp_user_id: body.mp_user_id.map(|id| id.0),
        mp_access_token: body.mp_access_token,
        mp_webhook_secret: body.mp_webhook_secret,
        allow_unsigned: body.allow_unsigned,
        ghl: body.ghl.map(|ghl| ghl.map(Into::into)),
        rotate_admin_token: body.rotate_admin_token,
        stripe_account_id: body.stripe_account_id,
    };
    let (updated, token) = tenants::update(
        &state.services.db,
        &state.services.config.secrets,
        tenant,
        change,
        global_secret(&state),
        &by,
    )
    .await?
    .ok_or(AppError::NotFound("tenant"))?;
    state.services.directory.forget_all();
    tracing::info!(%tenant, rotated = token.is_some(), "tenant updated");
    let mut answer = TenantOut::from(updated);
    answer.admin_token = token;
    Ok(HttpResponse::Ok().json(answer))
}

#[utoipa::path(delete, path = "/api/tenants/{tid}", tag = "tenants", security(("bearer" = [])), params(("tid" = Uuid, Path, description = "tenant id")),
    responses((status = 204, description = "deleted with its events, payments and orders")))]
pub(crate) async fn delete(
    _: SuperAdmin,
    access: TenantAccess,
    by: By,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let tenant = access.0;
    if !tenants::delete(&state.services.db, tenant, &by).await? {
        return Err(AppError::NotFound("tenant"));
    }
    state.services.directory.forget_all();
    tracing::info!(%tenant, "tenant deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// Who the token belongs to: the dashboard asks this after sign-in.
#[utoipa::path(get, path = "/api/me", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, description = "the caller's role, tenant and the node that answered", body = MeOut)))]
pub(crate) async fn me(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    // Which node served the page and how many are live: the dashboard shows both.
    let node = NodeOfMeOut {
        node_id: state.services.config.node_id.clone(),
        cluster_size: state.cluster.as_ref().map_or(1, |c| c.live_nodes()),
    };
    let sandbox = state.services.config.sandbox;
    let me = match caller {
        Caller::SuperAdmin => MeOut {
            role: "super_admin".into(),
            tenant_id: None,
            name: None,
            sandbox,
            node,
        },
        Caller::Tenant(tenant) => {
            let found = tenants::get(&state.services.db, tenant)
                .await?
                .ok_or(AppError::NotFound("tenant"))?;
            MeOut {
                role: "tenant".into(),
                tenant_id: Some(found.id),
                name: Some(found.name),
                sandbox,
                node,
            }
        }
    };
    Ok(HttpResponse::Ok().json(me))
}
