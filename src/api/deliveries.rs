//! The delivery log (SPEC §18): `GET /api/tenants/{tid}/deliveries` (that tenant's) and
//! `GET /api/deliveries` (super admin: every tenant's, and the tenant-less ones), newest first,
//! filtered by outcome, type and time. Answers "MercadoPago says it sent it: did it arrive?".

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::access::{SuperAdmin, TenantAccess};
use super::page::PageOut;
use crate::domain::{DeliveryOutcome, TenantId};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::PageQuery;
use crate::store::deliveries::{self, DeliveryFilter};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/deliveries").route(web::get().to(all)))
        .service(web::resource("/tenants/{tid}/deliveries").route(web::get().to(of_tenant)));
}

/// One request to a webhook path and how it was answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: Uuid,
    pub received_at: DateTime<Utc>,
    /// `mercadopago`.
    pub provider: String,
    /// The tenant, when the request named one (for `refused`, named but not authenticated).
    pub tenant_id: Option<Uuid>,
    pub outcome: DeliveryOutcomeOut,
    /// Why it was ignored or refused.
    pub reason: Option<String>,
    pub http_status: i32,
    /// The body's `type` (`payment`, `order`, `topic_chargebacks_wh`, ...).
    #[serde(rename = "type")]
    pub webhook_type: Option<String>,
    pub action: Option<String>,
    /// The notification's `data.id` (a fraud alert's payment).
    pub resource_id: Option<String>,
    /// `x-request-id`.
    pub request_id: Option<String>,
    pub remote_addr: Option<String>,
    pub body_bytes: i64,
    /// Milliseconds from the request's start to its row (for a stored webhook: to the commit
    /// that acknowledged it).
    pub ack_ms: i64,
    /// The event it stored (accepted) or duplicated.
    pub event_id: Option<Uuid>,
    /// The body, for accepted, duplicate and ignored deliveries of an authenticated tenant
    /// (an accepted delivery is its event: its `raw_payload`); never for refused or unknown
    /// ones.
    pub body: Option<Value>,
}

impl From<entity::delivery::Model> for DeliveryOut {
    fn from(d: entity::delivery::Model) -> Self {
        Self {
            id: d.id,
            received_at: d.received_at,
            provider: d.provider,
            tenant_id: d.tenant_id,
            outcome: DeliveryOutcome::parse(&d.outcome)
                .map(DeliveryOutcomeOut::from)
                .unwrap_or(DeliveryOutcomeOut::Error),
            reason: d.reason,
            http_status: d.http_status,
            webhook_type: d.webhook_type,
            action: d.action,
            resource_id: d.resource_id,
            request_id: d.request_id,
            remote_addr: d.remote_addr,
            body_bytes: d.body_bytes,
            ack_ms: d.ack_ms,
            event_id: d.event_id,
            body: d.body,
        }
    }
}

/// How a delivery was answered (SPEC §18; `error`: it could not be stored, answered 500).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcomeOut {
    Accepted,
    Duplicate,
    Ignored,
    Refused,
    RateLimited,
    TooLarge,
    BadRequest,
    Error,
}

impl From<DeliveryOutcome> for DeliveryOutcomeOut {
    fn from(o: DeliveryOutcome) -> Self {
        use DeliveryOutcome as D;
        match o {
            D::Accepted => Self::Accepted,
            D::Duplicate => Self::Duplicate,
            D::Ignored => Self::Ignored,
            D::Refused => Self::Refused,
            D::RateLimited => Self::RateLimited,
            D::TooLarge => Self::TooLarge,
            D::BadRequest => Self::BadRequest,
            D::Error => Self::Error,
        }
    }
}

impl From<DeliveryOutcomeOut> for DeliveryOutcome {
    fn from(o: DeliveryOutcomeOut) -> Self {
        use DeliveryOutcomeOut as D;
        match o {
            D::Accepted => Self::Accepted,
            D::Duplicate => Self::Duplicate,
            D::Ignored => Self::Ignored,
            D::Refused => Self::Refused,
            D::RateLimited => Self::RateLimited,
            D::TooLarge => Self::TooLarge,
            D::BadRequest => Self::BadRequest,
            D::Error => Self::Error,
        }
    }
}

/// The filters and the paging fields.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryListIn {
    /// Only deliveries answered so.
    pub outcome: Option<DeliveryOutcomeOut>,
    /// Only deliveries whose body's `type` is this.
    #[serde(rename = "type")]
    #[param(rename = "type", pattern = r"^[^\x00]*$")]
    pub webhook_type: Option<String>,
    /// Received at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Received before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// How many items: 50 when absent; 0 counts as 1 and anything over 500 as 500.
    #[param(minimum = 0)]
    pub limit: Option<i64>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<Uuid>,
}

/// `GET /api/deliveries` also takes `tenant` (a tenant's id, or `none` for the tenant-less).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AllDeliveriesIn {
    /// Only this tenant's (its id), or `none`: only requests of no known tenant.
    #[param(
        pattern = r"^(none|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
    )]
    pub tenant: Option<String>,
}

#[utoipa::path(get, path = "/api/tenants/{tid}/deliveries", tag = "deliveries", security(("bearer" = [])),
    params(("tid" = Uuid, Path, description = "tenant id"), DeliveryListIn),
    responses((status = 200, description = "a page of the tenant's deliveries, newest first", body = PageOut<DeliveryOut>)))]
pub(crate) async fn of_tenant(
    access: TenantAccess,
    state: web::Data<AppState>,
    query: web::Query<DeliveryListIn>,
) -> Result<HttpResponse, AppError> {
    list(&state, Some(Some(access.0)), query.into_inner()).await
}

#[utoipa::path(get, path = "/api/deliveries", tag = "deliveries", security(("bearer" = [])),
    params(DeliveryListIn, AllDeliveriesIn),
    responses((status = 200, description = "a page of every delivery, tenant-less ones included, newest first", body = PageOut<DeliveryOut>)))]
pub(crate) async fn all(
    _: SuperAdmin,
    state: web::Data<AppState>,
    query: web::Query<DeliveryListIn>,
    tenant: web::Query<AllDeliveriesIn>,
) -> Result<HttpResponse, AppError> {
    let tenant = match tenant.into_inner().tenant.as_deref() {
        None => None,
        Some("none") => Some(None),
        Some(id) => Some(Some(TenantId(Uuid::parse_str(id).map_err(|_| {
            AppError::InvalidQuery("tenant must be a tenant id or none".into())
        })?))),
    };
    list(&state, tenant, query.into_inner()).await
}

async fn list(
    state: &AppState,
    tenant: Option<Option<TenantId>>,
    query: DeliveryListIn,
) -> Result<HttpResponse, AppError> {
    let page = PageQuery {
        limit: super::page::limit(query.limit)?,
        cursor: query.cursor,
    };
    let filter = DeliveryFilter {
        tenant,
        outcome: query.outcome.map(DeliveryOutcome::from),
        webhook_type: super::input::search_text("type", query.webhook_type)?,
        from: query.from,
        to: query.to,
    };
    let db = &state.services.db;
    let rows = deliveries::list(db, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(PageOut::from_rows(rows, DeliveryOut::from)))
}
