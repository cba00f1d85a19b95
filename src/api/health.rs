//! `GET /health` (the process answers) and `GET /ready` (the database answers too).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::app::AppState;
use crate::store::db;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/ready", web::get().to(ready));
}

#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, description = "the process is up")))]
pub(crate) async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/ready", tag = "health", responses((status = 200, description = "the database answers"), (status = 503, description = "it does not")))]
pub(crate) async fn ready(state: web::Data<AppState>) -> HttpResponse {
    match db::ping(&state.services.db).await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(err) => {
            tracing::warn!(error = %err, "database not reachable");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "error": "database not reachable" }))
        }
    }
}
