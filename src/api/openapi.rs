//! The API described for machines (SPEC §15): OpenAPI 3 built by utoipa from the handlers'
//! annotations, served at `GET /api/openapi.json` (public, like the routes' shapes it describes).
//! Handlers annotate what is theirs (success bodies, 409, 422, 502...); the answers every
//! operation of a kind can give (401 without a valid token, 403, 404 for a path id, 400 for a
//! body or query, 500, 503 without an admin token) are added here, once, by [`CommonAnswers`].
//! `tests/it/e2e_contract.rs` and the schemathesis run in `.ci/run` hold it to what the server
//! answers.

use actix_web::{HttpResponse, web};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Cobro", description = "Multi-tenant MercadoPago and Stripe webhook receiver: admin API, webhooks, live updates. Every error body is {\"error\", \"code\"}; the codes are listed in docs/API.md."),
    paths(
        crate::ingest::receive, crate::ingest::receive_stripe, super::checkout_done::done,
        super::tenants::create, super::tenants::list, super::tenants::read, super::tenants::patch,
        super::tenants::delete, super::tenants::me, super::connect::start, super::connect::callback,
        super::events::list, super::events::read, super::events::retry, super::events::retry_failed,
        super::orders::create, super::orders::list, super::orders::read,
        super::payments::list, super::payments::export, super::payments::read,
        super::payments::fraud_alerts, super::payments::acknowledge_fraud,
        super::stats::one, super::stats::all, super::deliveries::of_tenant, super::deliveries::all,
        super::audit::all, super::audit::of_tenant,
        super::endpoints::tenant_routes::list, super::endpoints::tenant_routes::create, super::endpoints::tenant_routes::read, super::endpoints::tenant_routes::patch, super::endpoints::tenant_routes::delete, super::endpoints::tenant_routes::rotate, super::endpoints::tenant_routes::test, super::endpoints::tenant_routes::messages, super::endpoints::tenant_routes::retry_failed, super::endpoints::tenant_routes::message, super::endpoints::tenant_routes::retry,
        super::endpoints::platform_routes::list, super::endpoints::platform_routes::create, super::endpoints::platform_routes::read, super::endpoints::platform_routes::patch, super::endpoints::platform_routes::delete, super::endpoints::platform_routes::rotate, super::endpoints::platform_routes::test, super::endpoints::platform_routes::messages, super::endpoints::platform_routes::retry_failed, super::endpoints::platform_routes::message, super::endpoints::platform_routes::retry,
        super::health::health, super::health::ready, super::cluster::cluster, crate::metrics::render, crate::ws::session::connect,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerToken, &CommonAnswers),
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

/// Adds to each operation the error answers that follow from its kind, where its handler did
/// not describe them itself.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                add_common_answers(path, operation);
            }
        }
    }
}

fn add_common_answers(path: &str, operation: &mut Operation) {
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let admin_api = path.starts_with("/api/");
    let params = operation.parameters.as_deref().unwrap_or_default();
    let has = |place: ParameterIn| {
        params
            .iter()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == place))
    };
    let mut answers = Vec::new();
    if operation.request_body.is_some() && admin_api {
        answers.push(("400", "the body is not JSON or not of this schema"));
    }
    if has(ParameterIn::Query) && admin_api {
        answers.push(("400", "a query parameter does not parse"));
    }
    if secured {
        answers.push(("401", "missing or wrong bearer token"));
    }
    if admin_api && path != "/api/me" {
        answers.push(("403", "this token may not reach this resource"));
    }
    if has(ParameterIn::Path) {
        answers.push(("404", "no such resource (or an id that is not one)"));
    }
    if admin_api {
        answers.push(("500", "an internal failure (logged; no details are given)"));
        answers.push((
            "503",
            "COBRO_ADMIN_TOKEN is not set and the token is no tenant's",
        ));
    }
    for (status, description) in answers {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error_answer(description));
    }
}

fn error_answer(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", content)
            .build(),
    )
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/openapi.json").route(web::get().to(document)));
}

async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
