//! Dated schema migrations. `cobro migrate` and every start-up call `Migrator::up`, so a fresh
//! SQLite file or PostgreSQL database is ready without a separate step.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_tables;
mod m20261125_000001_cluster;
mod m20261203_000001_mp_oauth;
mod m20261203_000002_event_attempts;
mod m20261203_000003_search_indexes;
mod m20261204_000001_mp_topics;
mod m20261204_000002_tenant_accounts;
mod m20261205_000001_payment_provider;
mod m20261206_000001_outbound;
mod m20261207_000001_audit_log;
mod m20261207_000002_event_trace_context;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_tables::Migration),
            Box::new(m20261125_000001_cluster::Migration),
            Box::new(m20261203_000001_mp_oauth::Migration),
            Box::new(m20261203_000002_event_attempts::Migration),
            Box::new(m20261203_000003_search_indexes::Migration),
            Box::new(m20261204_000001_mp_topics::Migration),
            Box::new(m20261204_000002_tenant_accounts::Migration),
            Box::new(m20261205_000001_payment_provider::Migration),
            Box::new(m20261206_000001_outbound::Migration),
            Box::new(m20261207_000001_audit_log::Migration),
            Box::new(m20261207_000002_event_trace_context::Migration),
        ]
    }
}
