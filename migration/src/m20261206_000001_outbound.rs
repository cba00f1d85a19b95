//! Issue 25, signed outbound events (SPEC §21). Three tables:
//!
//! - `outbound_endpoints`: where the platform's backend listens, a tenant's (`tenant_id`) or
//!   platform-wide (`tenant_id` null); its `whsec_` secret sealed like every tenant secret
//!   (SPEC §16), the previous one while a rotation overlaps, the event types it wants (null: all).
//! - `outbound_messages`: the outbox. One row per (change, endpoint), inserted in the same
//!   transaction as the change; `seq` is the order of commits (one tenant's changes commit one
//!   after another), which each (endpoint, tenant) pair is sent in. `message_id` is the change's
//!   (the `webhook-id`, the same for every endpoint and every retry).
//! - `outbound_attempts`: every delivery attempt, deleted with its message.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboundEndpoints {
    Table,
    Id,
    TenantId,
    Url,
    Description,
    Events,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    Disabled,
    DisabledReason,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OutboundMessages {
    Table,
    Seq,
    MessageId,
    EndpointId,
    TenantId,
    EventType,
    Body,
    Status,
    Attempts,
    MaxAttempts,
    NextAttemptAt,
    CreatedAt,
    DeliveredAt,
    LastError,
}

#[derive(DeriveIden)]
enum OutboundAttempts {
    Table,
    Id,
    MessageSeq,
    EndpointId,
    AttemptedAt,
    DurationMs,
    Outcome,
    HttpStatus,
    Response,
    Node,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

fn endpoints() -> TableCreateStatement {
    Table::create()
        .table(OutboundEndpoints::Table)
        .if_not_exists()
        .col(uuid(OutboundEndpoints::Id).primary_key())
        .col(uuid_null(OutboundEndpoints::TenantId))
        .col(text(OutboundEndpoints::Url))
        .col(text_null(OutboundEndpoints::Description))
        .col(text_null(OutboundEndpoints::Events))
        .col(text(OutboundEndpoints::Secret))
        .col(text_null(OutboundEndpoints::PreviousSecret))
        .col(timestamp_with_time_zone_null(
            OutboundEndpoints::PreviousSecretUntil,
        ))
        .col(boolean(OutboundEndpoints::Disabled).default(false))
        .col(text_null(OutboundEndpoints::DisabledReason))
        .col(timestamp_with_time_zone_null(
            OutboundEndpoints::FailingSince,
        ))
        .col(timestamp_with_time_zone(OutboundEndpoints::CreatedAt))
        .col(timestamp_with_time_zone(OutboundEndpoints::UpdatedAt))
        .foreign_key(
            ForeignKey::create()
                .name("fk_outbound_endpoints_tenant")
                .from(OutboundEndpoints::Table, OutboundEndpoints::TenantId)
                .to(Tenants::Table, Tenants::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn messages() -> TableCreateStatement {
    Table::create()
        .table(OutboundMessages::Table)
        .if_not_exists()
        .col(big_pk_auto(OutboundMessages::Seq))
        .col(uuid(OutboundMessages::MessageId))
        .col(uuid(OutboundMessages::EndpointId))
        .col(uuid_null(OutboundMessages::TenantId))
        .col(string(OutboundMessages::EventType))
        .col(text(OutboundMessages::Body))
        .col(string(OutboundMessages::Status))
        .col(integer(OutboundMessages::Attempts).default(0))
        .col(integer_null(OutboundMessages::MaxAttempts))
        .col(timestamp_with_time_zone(OutboundMessages::NextAttemptAt))
        .col(timestamp_with_time_zone(OutboundMessages::CreatedAt))
        .col(timestamp_with_time_zone_null(OutboundMessages::DeliveredAt))
        .col(text_null(OutboundMessages::LastError))
        .foreign_key(
            ForeignKey::create()
                .name("fk_outbound_messages_endpoint")
                .from(OutboundMessages::Table, OutboundMessages::EndpointId)
                .to(OutboundEndpoints::Table, OutboundEndpoints::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn attempts() -> TableCreateStatement {
    Table::create()
        .table(OutboundAttempts::Table)
        .if_not_exists()
        .col(uuid(OutboundAttempts::Id).primary_key())
        .col(big_integer(OutboundAttempts::MessageSeq))
        .col(uuid(OutboundAttempts::EndpointId))
        .col(timestamp_with_time_zone(OutboundAttempts::AttemptedAt))
        .col(big_integer(OutboundAttempts::DurationMs))
        .col(string(OutboundAttempts::Outcome))
        .col(integer_null(OutboundAttempts::HttpStatus))
        .col(text_null(OutboundAttempts::Response))
        .col(string_null(OutboundAttempts::Node))
        .foreign_key(
            ForeignKey::create()
                .name("fk_outbound_attempts_message")
                .from(OutboundAttempts::Table, OutboundAttempts::MessageSeq)
                .to(OutboundMessages::Table, OutboundMessages::Seq)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn index(
    name: &str,
    table: impl IntoIden,
    cols: Vec<DynIden>,
    unique: bool,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table).if_not_exists();
    for col in cols {
        index.col(col);
    }
    if unique {
        index.unique();
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(endpoints()).await?;
        manager.create_table(messages()).await?;
        manager.create_table(attempts()).await?;
        let indexes = [
            // The head of each (endpoint, tenant) pair, and a pair's next messages.
            index(
                "ix_outbound_messages_pair",
                OutboundMessages::Table,
                vec![
                    OutboundMessages::Status.into_iden(),
                    OutboundMessages::EndpointId.into_iden(),
                    OutboundMessages::TenantId.into_iden(),
                    OutboundMessages::Seq.into_iden(),
                ],
                false,
            ),
            // An endpoint's messages, newest first (the API and the dashboard).
            index(
                "ix_outbound_messages_endpoint",
                OutboundMessages::Table,
                vec![
                    OutboundMessages::EndpointId.into_iden(),
                    OutboundMessages::Seq.into_iden(),
                ],
                false,
            ),
            index(
                "ux_outbound_messages_endpoint_message",
                OutboundMessages::Table,
                vec![
                    OutboundMessages::EndpointId.into_iden(),
                    OutboundMessages::MessageId.into_iden(),
                ],
                true,
            ),
            index(
                "ix_outbound_attempts_message",
                OutboundAttempts::Table,
                vec![
                    OutboundAttempts::MessageSeq.into_iden(),
                    OutboundAttempts::AttemptedAt.into_iden(),
                ],
                false,
            ),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            OutboundAttempts::Table.into_iden(),
            OutboundMessages::Table.into_iden(),
            OutboundEndpoints::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
