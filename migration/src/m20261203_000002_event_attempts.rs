//! Issue 13, attempt history: `event_attempts` keeps every processing attempt of an event (not
//! only the last error), written with the attempt's result and deleted with its event
//! (`ON DELETE CASCADE`, so retention prunes it without a statement of its own).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EventAttempts {
    Table,
    Id,
    EventId,
    TenantId,
    Attempt,
    Node,
    StartedAt,
    DurationMs,
    Outcome,
    MpStatus,
    GhlStatus,
    Error,
    Details,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(EventAttempts::Table)
            .if_not_exists()
            .col(uuid(EventAttempts::Id).primary_key())
            .col(uuid(EventAttempts::EventId))
            .col(uuid(EventAttempts::TenantId))
            .col(integer(EventAttempts::Attempt))
            .col(string_null(EventAttempts::Node))
            .col(timestamp_with_time_zone(EventAttempts::StartedAt))
            .col(big_integer(EventAttempts::DurationMs))
            .col(string(EventAttempts::Outcome))
            .col(integer_null(EventAttempts::MpStatus))
            .col(integer_null(EventAttempts::GhlStatus))
            .col(text_null(EventAttempts::Error))
            .col(json_null(EventAttempts::Details))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_event_attempts_event")
                    .from(EventAttempts::Table, EventAttempts::EventId)
                    .to(WebhookEvents::Table, WebhookEvents::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned();
        manager.create_table(table).await?;
        let by_event = Index::create()
            .name("ix_event_attempts_event")
            .table(EventAttempts::Table)
            .col(EventAttempts::EventId)
            .col(EventAttempts::Attempt)
            .if_not_exists()
            .to_owned();
        manager.create_index(by_event).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EventAttempts::Table).to_owned())
            .await
    }
}
