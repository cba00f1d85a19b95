//! What request handlers share ([`AppState`]): the services, the actors' addresses, this node's
//! part in the cluster. Built by `app::start`; read by `api`, `ingest`, `ws`, `metrics`, `demo`.
//! Kept out of `app` (which registers the routes) so that handlers do not import their own
//! registration.

use std::sync::Arc;

use actix::Addr;
use governor::DefaultKeyedRateLimiter;
use governor::clock::Clock;

use crate::cluster::Cluster;
use crate::domain::TenantId;
use crate::error::AppError;
use crate::ingest::delivery_log::DeliveryLog;
use crate::services::Services;
use crate::tenant::TenantSupervisor;
use crate::tenant::depths::QueueDepths;
use crate::tenant::supervisor::Registry;
use crate::ws::hub::WsHub;

/// What request handlers share.
#[derive(Clone)]
pub struct AppState {
    pub services: Arc<Services>,
    pub supervisor: Addr<TenantSupervisor>,
    pub hub: Addr<WsHub>,
    pub registry: Registry,
    /// The tenants with work and their queue depths (`GET /metrics`).
    pub queue_depths: QueueDepths,
    /// This node's part in the cluster (PostgreSQL); `None` on SQLite, which is single-node.
    pub cluster: Option<Arc<Cluster>>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub(crate) ingest_limiter: Option<Arc<DefaultKeyedRateLimiter<TenantId>>>,
    /// The delivery log's cap on rows of unauthenticated requests (SPEC §18).
    pub(crate) delivery_log: DeliveryLog,
}

impl AppState {
    /// SPEC §5: a tenant over its ingest rate gets 429 with `Retry-After`, before any write.
    pub fn check_ingest_rate(&self, tenant: TenantId) -> Result<(), AppError> {
        let Some(limiter) = &self.ingest_limiter else {
            return Ok(());
        };
        limiter
            .check_key(&tenant)
            .map_err(|not_until| AppError::RateLimited {
                retry_after: not_until.wait_time_from(limiter.clock().now()),
            })
    }
}
