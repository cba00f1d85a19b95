//! Every query and mutation on the entities. Handlers, ingest and the tenant pipeline call these
//! functions instead of building queries themselves; tenant data is always reached through a
//! [`TenantId`](crate::domain::TenantId).

pub mod accounts;
pub mod attempts;
pub mod audit;
pub mod cluster;
pub mod connections;
pub mod db;
pub mod deliveries;
pub mod directory;
pub mod events;
pub mod gate;
pub mod ids;
pub mod many;
pub mod orders;
pub mod outbound;
pub mod owned_sqlite;
pub mod page;
pub mod payments;
pub mod pending_reads;
pub mod prune;
pub mod resources;
pub mod retries;
pub mod run;
pub mod search;
pub mod stats;
pub mod tenant_secrets;
pub mod tenants;

pub use page::{Page, PageQuery};

/// A fresh time-ordered id: ordering by id is ordering by creation.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
