//! `GET /health` (the process answers) and `GET /ready` (the database answers too). Public: load
//! balancers and orchestrators call them without a token.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;
use crate::store::db;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health").route(web::get().to(health)))
        .service(web::resource("/ready").route(web::get().to(ready)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    /// `ok`, `ready` or `unavailable`.
    pub status: String,
    /// Why not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, description = "the process is up", body = HealthOut)))]
pub(crate) async fn health() -> HttpResponse {
    HttpResponse::Ok().json(HealthOut {
        status: "ok".into(),
        error: None,
    })
}

#[utoipa::path(get, path = "/ready", tag = "health", responses((status = 200, description = "the database answers", body = HealthOut), (status = 503, description = "it does not", body = HealthOut)))]
pub(crate) async fn ready(state: web::Data<AppState>) -> HttpResponse {
    match db::ping(&state.services.db).await {
        Ok(()) => HttpResponse::Ok().json(HealthOut {
            status: "ready".into(),
            error: None,
        }),
        Err(err) => {
            tracing::warn!(error = %err, "database not reachable");
            HttpResponse::ServiceUnavailable().json(HealthOut {
                status: "unavailable".into(),
                error: Some("database not reachable".into()),
            })
        }
    }
}
