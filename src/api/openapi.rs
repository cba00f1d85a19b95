//! The admin API described for machines: OpenAPI 3 built by utoipa from the handlers'
//! annotations, served at `GET /api/openapi.json`. A test checks that every route is in it.

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Cobro", description = "Multi-tenant MercadoPago webhook receiver: admin API, webhooks, live updates."),
    paths(
        crate::ingest::receive,
        super::tenants::create, super::tenants::list, super::tenants::read, super::tenants::patch,
        super::tenants::delete, super::tenants::me,
        super::events::list, super::events::read, super::events::retry, super::events::retry_failed,
        super::orders::create, super::orders::list, super::orders::read,
        super::payments::list, super::payments::read,
        super::health::health, super::health::ready, super::cluster::cluster, crate::metrics::render, crate::ws::session::connect,
    ),
    components(schemas(
        crate::store::tenants::NewTenant, crate::store::tenants::TenantPatch, crate::store::tenants::GhlInput,
        crate::store::orders::NewOrder, super::orders::CreateOrder,
    )),
    modifiers(&BearerToken),
)]
pub struct ApiDoc;

/// The `bearer` scheme the paths refer to: the super-admin token or a tenant's admin token.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/openapi.json", web::get().to(document));
}

async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
