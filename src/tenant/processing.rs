//! What processing needs from the rest of Cobro, and nothing more: the handles the tenant
//! actors and their batches use (reads, the writer, the providers and GoHighLevel, sellers'
//! token refresh, status broadcasts) and the few settings that shape them. Built once by
//! `app::start` from the process's `Processing`; the supervisor hands it to every actor.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::connect::Connector;
use crate::domain::RetrySchedule;
use crate::ghl::GhlClient;
use crate::provider::Providers;
use crate::publish::StatusPublisher;
use crate::store::directory::TenantDirectory;
use crate::store::pending_reads::PendingReads;
use crate::tenant::depths::QueueDepths;
use crate::writer::Writer;

pub struct Processing {
    /// Reads only (an order's last processed version); every write goes through `writer`.
    pub db: DatabaseConnection,
    pub writer: Writer,
    /// The tenant (and its secrets) at the start of each attempt.
    pub directory: Arc<TenantDirectory>,
    pub providers: Providers,
    pub ghl: GhlClient,
    /// A seller's token refreshed once when the provider refuses it.
    pub connector: Arc<Connector>,
    pub publisher: Arc<dyn StatusPublisher>,
    /// Where the actors publish their queue depth for `GET /metrics`.
    pub queue_depths: QueueDepths,
    /// PostgreSQL: the actors' pulls, read together (`None` on SQLite, which never pulls).
    pub pending_reads: Option<PendingReads>,
    pub settings: Settings,
}

/// The configuration processing reads.
#[derive(Clone, Debug)]
pub struct Settings {
    pub retry_schedule: RetrySchedule,
    /// How long to wait after a GoHighLevel 429 without `Retry-After`.
    pub ghl_429_backoff: Duration,
    /// An actor with nothing to do for this long retires.
    pub tenant_idle: Duration,
    /// Threads the actors are spread over.
    pub tenant_threads: usize,
    pub mp_requests_per_second: NonZeroU32,
    pub ghl_requests_per_10s: NonZeroU32,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            retry_schedule: config.retry_schedule.clone(),
            ghl_429_backoff: config.ghl_429_backoff,
            tenant_idle: config.tenant_idle,
            tenant_threads: config.tenant_threads,
            mp_requests_per_second: config.mp_requests_per_second,
            ghl_requests_per_10s: config.ghl_requests_per_10s,
        }
    }
}
