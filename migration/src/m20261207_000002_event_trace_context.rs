//! Issue 27, traces (SPEC §20): `webhook_events.trace_context` holds the W3C `traceparent` of the
//! span that ingested the event, so every attempt, on any node, continues that trace. Empty when
//! trace export is off. A nullable column: no table is rebuilt, no row rewritten.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    TraceContext,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let add = Table::alter()
            .table(WebhookEvents::Table)
            .add_column(ColumnDef::new(WebhookEvents::TraceContext).text().null())
            .to_owned();
        manager.alter_table(add).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let drop = Table::alter()
            .table(WebhookEvents::Table)
            .drop_column(WebhookEvents::TraceContext)
            .to_owned();
        manager.alter_table(drop).await
    }
}
