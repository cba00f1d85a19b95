//! SPEC §14 at the HTTP edge: `POST /api/tenants/{tid}/mp/connect` answers the MercadoPago page
//! where the seller authorizes the platform, and `GET /oauth/mp/callback` is where MercadoPago
//! sends the seller back. The callback is a page a person reads, not JSON: every outcome is a
//! small HTML page that says what happened and what to do. The work is `connect`'s.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::TenantAccess;
use crate::connect::{self, CALLBACK_PATH, ConnectionError};
use crate::domain::{RECONNECT, TenantId};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::tenant::Enqueue;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/tenants/{tid}/mp/connect").route(web::post().to(start)));
}

/// Outside `/api`: MercadoPago's redirect carries no bearer token (the `state` is the proof).
pub fn configure_callback(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(CALLBACK_PATH).route(web::get().to(callback)));
}

/// Where to send the seller.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectOut {
    /// MercadoPago's authorization page, with a single-use `state` that expires in 10 minutes
    /// and a PKCE challenge.
    pub authorization_url: String,
}

#[utoipa::path(post, path = "/api/tenants/{tid}/mp/connect", tag = "tenants", security(("bearer" = [])),
    params(("tid" = uuid::Uuid, Path, description = "tenant id")),
    responses((status = 200, description = "the page to send the seller to", body = ConnectOut),
        (status = 503, description = "MercadoPago OAuth is not configured (oauth_not_configured), or no admin token", body = ErrorBody)))]
pub(crate) async fn start(
    access: TenantAccess,
    by: crate::store::audit::By,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let url = connect::start(&state.services.connector, access.0, &by)
        .await
        .map_err(|e| match e {
            ConnectionError::NotConfigured => AppError::OAuthNotConfigured,
            ConnectionError::Db(err) => AppError::from(err),
            other => AppError::Internal(other.to_string()),
        })?;
    tracing::info!(tenant = %access.0, "MercadoPago connection started");
    Ok(HttpResponse::Ok().json(ConnectOut {
        authorization_url: url,
    }))
}

/// What MercadoPago puts on the redirect: a code and our state, or an error (the seller said no).
#[derive(Debug, Deserialize)]
pub struct CallbackIn {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

#[utoipa::path(get, path = "/oauth/mp/callback", tag = "tenants",
    params(("state" = String, Query, description = "the state the authorization was started with"),
        ("code" = Option<String>, Query, description = "the authorization code, when the seller authorized"),
        ("error" = Option<String>, Query, description = "why not, when the seller did not authorize")),
    responses((status = 200, description = "connected (an HTML page)", content_type = "text/html", body = String),
        (status = 400, description = "no state (an HTML page)", content_type = "text/html", body = String),
        (status = 403, description = "the link does not authorize a connection: a forged, expired or used state, no code, or the seller refused (an HTML page)", content_type = "text/html", body = String),
        (status = 409, description = "this MercadoPago account is another tenant's (an HTML page)", content_type = "text/html", body = String),
        (status = 500, description = "an internal failure (an HTML page)", content_type = "text/html", body = String),
        (status = 502, description = "MercadoPago refused the code or could not be reached (an HTML page)", content_type = "text/html", body = String),
        (status = 503, description = "OAuth is not configured (an HTML page)", content_type = "text/html", body = String)))]
pub(crate) async fn callback(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<CallbackIn>,
) -> HttpResponse {
    let query = query.into_inner();
    let Some(state_text) = query.state else {
        return page(
            StatusCode::BAD_REQUEST,
            "Not connected",
            "This link has no state. Start the connection again from the dashboard.",
        );
    };
    if let Some(error) = query.error {
        return page(
            StatusCode::FORBIDDEN,
            "Not connected",
            &format!(
                "MercadoPago did not authorize the application ({error}). Nothing was changed."
            ),
        );
    }
    let Some(code) = query.code else {
        return page(
            StatusCode::FORBIDDEN,
            "Not connected",
            "This link has no authorization code. Start the connection again from the dashboard.",
        );
    };
    let origin = super::audit::origin_of(&req);
    match connect::finish(&state.services.connector, &code, &state_text, origin).await {
        Ok((tenant, mp_user_id)) => {
            resume_events(&state, tenant).await;
            page(
                StatusCode::OK,
                "Connected",
                &format!("MercadoPago account {mp_user_id} is connected. You can close this page."),
            )
        }
        Err(err) => {
            tracing::warn!(reason = %err, "MercadoPago connection refused");
            page(
                failure_status(&err),
                "Not connected",
                &format!("{err}. Nothing was changed."),
            )
        }
    }
}

fn failure_status(err: &ConnectionError) -> StatusCode {
    match err {
        ConnectionError::State(_) | ConnectionError::Replayed | ConnectionError::NoTenant => {
            StatusCode::FORBIDDEN
        }
        ConnectionError::TakenByAnother(_) => StatusCode::CONFLICT,
        ConnectionError::Refused(_)
        | ConnectionError::Unavailable(_)
        | ConnectionError::NoAccount => StatusCode::BAD_GATEWAY,
        ConnectionError::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
        ConnectionError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// SPEC §14: reconnecting resumes the events that failed because the seller was not connected.
async fn resume_events(state: &AppState, tenant: TenantId) {
    let fresh = state.services.config.retry_schedule.attempts();
    let db = &state.services.db;
    match crate::store::events::requeue_failed_because(db, tenant, RECONNECT, fresh).await {
        Ok(ids) => {
            if !ids.is_empty() {
                tracing::info!(%tenant, events = ids.len(), "resuming events after reconnection");
            }
            for event_id in ids {
                state.supervisor.do_send(Enqueue {
                    tenant,
                    event_id,
                    not_before: None,
                    urgent: false,
                });
            }
        }
        Err(err) => {
            tracing::warn!(%tenant, error = %err, "could not resume events after reconnection")
        }
    }
}

/// A small page; every text is escaped (MercadoPago's error words come back in it).
fn page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    let title = html_escape::encode_text(title);
    let message = html_escape::encode_text(message);
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · Cobro</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font:16px system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}}</style>\
         </head><body><h1>{title}</h1><p id=\"message\">{message}</p></body></html>"
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}
