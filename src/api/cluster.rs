//! `GET /api/cluster` (super admin, SPEC §13): the nodes, their heartbeats, how many tenants each
//! owns, and which node answered. On SQLite the "cluster" is this one node.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::access::SuperAdmin;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::cluster::NodeRow;
use crate::store::tenants;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/cluster").route(web::get().to(cluster)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterOut {
    /// `cluster` (PostgreSQL) or `single` (SQLite).
    pub mode: String,
    /// The node that answered this request.
    pub node_id: String,
    pub live_nodes: usize,
    pub lease_timeout_ms: u64,
    pub nodes: Vec<NodeOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NodeOut {
    pub node_id: String,
    pub address: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub alive: bool,
    pub tenants_owned: i64,
}

impl From<NodeRow> for NodeOut {
    fn from(n: NodeRow) -> Self {
        Self {
            node_id: n.node_id,
            address: n.address,
            started_at: n.started_at,
            heartbeat_at: n.heartbeat_at,
            alive: n.alive,
            tenants_owned: n.tenants_owned,
        }
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[utoipa::path(get, path = "/api/cluster", tag = "cluster", security(("bearer" = [])),
    responses((status = 200, description = "the nodes, their heartbeats and how many tenants each owns", body = ClusterOut)))]
pub(crate) async fn cluster(
    _: SuperAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let config = &state.services.config;
    let view = match &state.cluster {
        Some(cluster) => {
            let nodes = cluster
                .nodes()
                .await
                .map_err(|e| AppError::Internal(format!("cluster nodes: {e}")))?;
            ClusterOut {
                mode: "cluster".into(),
                node_id: cluster.node.to_string(),
                live_nodes: nodes.iter().filter(|n| n.alive).count(),
                lease_timeout_ms: millis(cluster.lease_timeout()),
                nodes: nodes.into_iter().map(NodeOut::from).collect(),
            }
        }
        None => {
            let owned = tenants::count(&state.services.db).await?;
            ClusterOut {
                mode: "single".into(),
                node_id: config.node_id.clone(),
                live_nodes: 1,
                lease_timeout_ms: millis(config.cluster_lease_timeout),
                nodes: vec![NodeOut {
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
