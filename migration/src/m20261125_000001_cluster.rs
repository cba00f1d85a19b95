//! The cluster's tables (SPEC §13), on PostgreSQL only: SQLite stays single-node, so nothing here
//! applies to it.
//!
//! - `cluster_nodes`: membership. A node is alive while its heartbeat is fresh; the database
//!   session it heartbeats on (`backend_pid`, `backend_start`) lets a killed process be seen dead
//!   soon after PostgreSQL closes that session, and a paused or partitioned one is dead once its
//!   heartbeat is older than the lease timeout.
//! - `tenant_leases`: one owner per tenant, taken with a compare-and-set and a `fence` that grows
//!   with every take-over; every write of an attempt checks it in its own transaction.
//! - `webhook_events.seq`: arrival order across nodes, assigned by one sequence at insert, never by
//!   the clocks of different machines. A partial index serves "this tenant's pending events in
//!   arrival order".

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE IF NOT EXISTS cluster_nodes (
    node_id       TEXT PRIMARY KEY,
    address       TEXT NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    heartbeat_at  TIMESTAMPTZ NOT NULL,
    backend_pid   INTEGER NOT NULL,
    backend_start TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS tenant_leases (
    tenant_id   UUID PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    owner_node  TEXT,
    fence       BIGINT NOT NULL DEFAULT 0,
    acquired_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS ix_tenant_leases_owner ON tenant_leases (owner_node);
ALTER TABLE webhook_events ADD COLUMN IF NOT EXISTS seq BIGSERIAL;
CREATE INDEX IF NOT EXISTS ix_webhook_events_pending_seq
    ON webhook_events (tenant_id, seq) WHERE status = 'pending';
"#;

const DOWN: &str = r#"
DROP INDEX IF EXISTS ix_webhook_events_pending_seq;
ALTER TABLE webhook_events DROP COLUMN IF EXISTS seq;
DROP TABLE IF EXISTS tenant_leases;
DROP TABLE IF EXISTS cluster_nodes;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(UP).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(DOWN).await?;
        Ok(())
    }
}
