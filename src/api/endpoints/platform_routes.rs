//! The routes of the platform-wide endpoints (`/api/endpoints/...`, every tenant's events): the
//! super admin only. What they do is in the parent module.
use super::*;
use crate::api::access::SuperAdmin;
use crate::store::audit::By;
use actix_web::{HttpResponse, web};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/endpoints")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    cfg.service(
        web::resource("/endpoints/{eid}")
            .route(web::get().to(read))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
    cfg.service(web::resource("/endpoints/{eid}/rotate-secret").route(web::post().to(rotate)));
    cfg.service(web::resource("/endpoints/{eid}/test").route(web::post().to(test)));
    cfg.service(web::resource("/endpoints/{eid}/messages").route(web::get().to(messages)));
    cfg.service(
        web::resource("/endpoints/{eid}/messages/retry").route(web::post().to(retry_failed)),
    );
    cfg.service(web::resource("/endpoints/{eid}/messages/{mid}").route(web::get().to(message)));
    cfg.service(
        web::resource("/endpoints/{eid}/messages/{mid}/retry").route(web::post().to(retry)),
    );
}

#[utoipa::path(get, path = "/api/endpoints", tag = "endpoints", security(("bearer" = [])),
    responses((status = 200, description = "the endpoints, oldest first", body = Vec<EndpointOut>)))]
pub(crate) async fn list(
    _: SuperAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    super::list(&state, Scope::Platform).await
}

#[utoipa::path(post, path = "/api/endpoints", tag = "endpoints", security(("bearer" = [])),
    request_body = EndpointIn,
    responses((status = 201, description = "created; `secret` is shown this once", body = EndpointOut), (status = 422, description = "a URL Cobro may not call", body = crate::error::ErrorBody)))]
pub(crate) async fn create(
    _: SuperAdmin,
    state: web::Data<AppState>,
    by: By,
    body: web::Json<EndpointIn>,
) -> Result<HttpResponse, AppError> {
    super::create(&state, Scope::Platform, body.into_inner(), &by).await
}

#[utoipa::path(get, path = "/api/endpoints/{eid}", tag = "endpoints", security(("bearer" = [])),
    params(("eid" = Uuid, Path, description = "endpoint id")),
    responses((status = 200, description = "the endpoint", body = EndpointOut)))]
pub(crate) async fn read(
    _: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let eid = path.into_inner();
    super::read(&state, Scope::Platform, &eid).await
}

#[utoipa::path(patch, path = "/api/endpoints/{eid}", tag = "endpoints", security(("bearer" = [])),
    params(("eid" = Uuid, Path, description = "endpoint id")),
    request_body = EndpointPatchIn,
    responses((status = 200, description = "changed", body = EndpointOut), (status = 422, description = "a URL Cobro may not call", body = crate::error::ErrorBody)))]
pub(crate) async fn patch(
    _: SuperAdmin,
    state: web::Data<AppState>,
    by: By,
    path: web::Path<String>,
    body: web::Json<EndpointPatchIn>,
) -> Result<HttpResponse, AppError> {
    let eid = path.into_inner();
    super::patch(&state, Scope::Platform, &eid, body.into_inner(), &by).await
}

#[utoipa::path(delete, path = "/api/endpoints/{eid}", tag = "endpoints", security(("bearer" = [])),
    params(("eid" = Uuid, Path, description = "endpoint id")),
    responses((status = 204, description = "deleted, with its messages")))]
pub(crate) async fn delete(
    _: SuperAdmin,
    state: web::Data<AppState>,
    by: By,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let eid = path.into_inner();
    super::delete(&state, Scope::Platform, &eid, &by).await
}

#[utoipa::path(post, path = "/api/endpoints/{eid}/rotate-secret", tag = "endpoints", security(("bearer" = [])),
    params(("eid" = Uuid, Path, description = "endpoint id")),
    responses((status = 200, description = "a new `secret`, shown this once; the old one signs beside it for 24 h", body = EndpointOut)))]
pub(crate) async fn rotate(
    _: SuperAdmin,
    state: web::Data<AppState>,
    by: By,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let eid = path.into_inner();
    super::rotate(&state, Scope::Platform, &eid, &by).await
}

#[utoipa::path(post, path = "/api/endpoints/{eid}/test", tag = "endpoints", security(("bearer" = [])),
    params(("eid" = Uuid, Path, description = "endpoint id")),
    responses((status = 202, description = "an `endpoint.test` message, queued", body = MessageOut)))]
pub(crate) async fn test(
    _: SuperAdmin,
    state: web::Data<AppState>,
    by: By,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let eid = path.into_inner();
    super::test(&state, Scope::Platform, &eid, &by).await
}

#[utoipa::path(get, path = "/api/endpoints/{eid}/messages", tag = "endpoints", security(("bearer" = [])),
    params(("eid" = Uuid, Path, description = "endpoint id"), MessageListIn),
    responses((status = 200, description = "the endpoint's messages, newest first", body = Vec<MessageOut>)))]
pub(crate) async fn messages(
    _: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<MessageListIn>,
) -> Result<HttpResponse, AppError> {
    let eid = path.into_inner();
    super::list_messages(&state, Scope::Platform, &eid, query.into_inner()).await
}

#[utoipa::path(post, path = "/api/endpoints/{eid}/messages/retry", tag = "endpoints", security(("bearer" = [])),
    params(("eid" = Uuid, Path, description = "endpoint id")),
    responses((status = 202, description = "every failed message is sent again", body = RetriedOut)))]
pub(crate) async fn retry_failed(
    _: SuperAdmin,
    state: web::Data<AppState>,
    by: By,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let eid = path.into_inner();
    super::retry_failed(&state, Scope::Platform, &eid, &by).await
}

#[utoipa::path(get, path = "/api/endpoints/{eid}/messages/{mid}", tag = "endpoints", security(("bearer" = [])),
    params(("eid" = Uuid, Path, description = "endpoint id"), ("mid" = String, Path, description = "message id (`msg_…`)")),
    responses((status = 200, description = "the message and its attempts", body = MessageOut)))]
pub(crate) async fn message(
    _: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (eid, mid) = path.into_inner();
    super::read_message(&state, Scope::Platform, &eid, &mid).await
}

#[utoipa::path(post, path = "/api/endpoints/{eid}/messages/{mid}/retry", tag = "endpoints", security(("bearer" = [])),
    params(("eid" = Uuid, Path, description = "endpoint id"), ("mid" = String, Path, description = "message id (`msg_…`)")),
    responses((status = 202, description = "sent again (a failed or a delivered one), with a whole retry schedule", body = MessageOut)))]
pub(crate) async fn retry(
    _: SuperAdmin,
    state: web::Data<AppState>,
    by: By,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (eid, mid) = path.into_inner();
    super::retry_message(&state, Scope::Platform, &eid, &mid, &by).await
}
