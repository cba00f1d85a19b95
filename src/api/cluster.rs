//! `GET /api/cluster` (super admin, SPEC §13): the nodes, their heartbeats, how many tenants each
//! owns, and which node answered. On SQLite the "cluster" is this one node.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Serialize;

use super::auth::Caller;
use crate::app::AppState;
use crate::error::AppError;
use crate::store::cluster::NodeRow;
use crate::store::tenants;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/cluster", web::get().to(cluster));
}

#[derive(Serialize)]
struct ClusterView {
    /// `cluster` (PostgreSQL) or `single` (SQLite).
    mode: &'static str,
    /// The node that answered this request.
    node_id: String,
    live_nodes: usize,
    lease_timeout_ms: u128,
    nodes: Vec<NodeRow>,
}

#[utoipa::path(get, path = "/api/cluster", tag = "cluster", security(("bearer" = [])),
    responses((status = 200, description = "{mode, node_id, live_nodes, lease_timeout_ms, nodes: [{node_id, address, started_at, heartbeat_at, alive, tenants_owned}]}"), (status = 403, description = "not the super admin")))]
pub(crate) async fn cluster(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    caller.super_admin()?;
    let config = &state.services.config;
    let view = match &state.cluster {
        Some(cluster) => {
            let nodes = cluster
                .nodes()
                .await
                .map_err(|e| AppError::Internal(format!("cluster nodes: {e}")))?;
            ClusterView {
                mode: "cluster",
                node_id: cluster.node.to_string(),
                live_nodes: nodes.iter().filter(|n| n.alive).count(),
                lease_timeout_ms: cluster.lease_timeout().as_millis(),
                nodes,
            }
        }
        None => {
            let owned = tenants::list(&state.services.db).await?.len();
            ClusterView {
                mode: "single",
                node_id: config.node_id.clone(),
                live_nodes: 1,
                lease_timeout_ms: config.cluster_lease_timeout.as_millis(),
                nodes: vec![NodeRow {
                    node_id: config.node_id.clone(),
                    address: config.public_url.to_string(),
                    started_at: state.started_at,
                    heartbeat_at: Utc::now(),
                    alive: true,
                    tenants_owned: i64::try_from(owned).unwrap_or(i64::MAX),
                }],
            }
        }
    };
    Ok(HttpResponse::Ok().json(view))
}
