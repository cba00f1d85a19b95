//! The four tables of the first release. The unique indexes carry correctness, not speed:
//! `(tenant_id, notification_id)` makes concurrent duplicate webhooks impossible to accept twice,
//! `(tenant_id, mp_payment_id)` keeps one payment row per MP payment.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(tenants()).await?;
        manager.create_table(webhook_events()).await?;
        manager.create_table(payments()).await?;
        manager.create_table(orders()).await?;
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Orders::Table.into_iden(),
            Payments::Table.into_iden(),
            WebhookEvents::Table.into_iden(),
            Tenants::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn tenants() -> TableCreateStatement {
    Table::create()
        .table(Tenants::Table)
        .if_not_exists()
        .col(uuid(Tenants::Id).primary_key())
        .col(string(Tenants::Name))
        .col(string_uniq(Tenants::MpUserId))
        .col(text(Tenants::MpAccessToken))
        .col(text_null(Tenants::MpWebhookSecret))
        .col(boolean(Tenants::AllowUnsigned).default(false))
        .col(text_null(Tenants::GhlApiKey))
        .col(string_null(Tenants::GhlLocationId))
        .col(string_null(Tenants::GhlTag))
        .col(string_uniq(Tenants::AdminTokenHash))
        .col(timestamp_with_time_zone(Tenants::CreatedAt))
        .col(timestamp_with_time_zone(Tenants::UpdatedAt))
        .to_owned()
}

fn tenant_fk(from: impl IntoTableRef, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from, Alias::new("tenant_id"))
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn webhook_events() -> TableCreateStatement {
    Table::create()
        .table(WebhookEvents::Table)
        .if_not_exists()
        .col(uuid(WebhookEvents::Id).primary_key())
        .col(uuid(WebhookEvents::TenantId))
        .col(string(WebhookEvents::NotificationId))
        .col(string_null(WebhookEvents::RequestId))
        .col(string(WebhookEvents::WebhookType))
        .col(string(WebhookEvents::Action))
        .col(string(WebhookEvents::MpPaymentId))
        .col(uuid_null(WebhookEvents::PaymentId))
        .col(json_binary(WebhookEvents::RawPayload))
        .col(string(WebhookEvents::Status))
        .col(boolean(WebhookEvents::Processed).default(false))
        .col(integer(WebhookEvents::Attempts).default(0))
        .col(integer(WebhookEvents::MaxAttempts))
        .col(text_null(WebhookEvents::LastError))
        .col(json_binary_null(WebhookEvents::ErrorDetails))
        .col(timestamp_with_time_zone(WebhookEvents::CreatedAt))
        .col(timestamp_with_time_zone_null(WebhookEvents::ProcessedAt))
        .col(timestamp_with_time_zone_null(WebhookEvents::NextRetryAt))
        .col(big_integer_null(WebhookEvents::ProcessingMs))
        .foreign_key(&mut tenant_fk(
            WebhookEvents::Table,
            "fk_webhook_events_tenant",
        ))
        .to_owned()
}

fn payments() -> TableCreateStatement {
    Table::create()
        .table(Payments::Table)
        .if_not_exists()
        .col(uuid(Payments::Id).primary_key())
        .col(uuid(Payments::TenantId))
        .col(string(Payments::MpPaymentId))
        .col(string(Payments::Status))
        .col(string(Payments::MpStatus))
        .col(string_null(Payments::StatusDetail))
        .col(double_null(Payments::TransactionAmount))
        .col(string_null(Payments::CurrencyId))
        .col(string_null(Payments::PayerEmail))
        .col(string_null(Payments::PayerName))
        .col(string_null(Payments::PaymentMethod))
        .col(string_null(Payments::PaymentType))
        .col(string_null(Payments::ExternalReference))
        .col(uuid_null(Payments::OrderId))
        .col(string_null(Payments::DateCreated))
        .col(string_null(Payments::DateApproved))
        .col(string_null(Payments::DateLastUpdated))
        .col(string_null(Payments::GhlContactId))
        .col(timestamp_with_time_zone_null(Payments::GhlTaggedAt))
        .col(json_binary(Payments::Raw))
        .col(timestamp_with_time_zone(Payments::CreatedAt))
        .col(timestamp_with_time_zone(Payments::UpdatedAt))
        .foreign_key(&mut tenant_fk(Payments::Table, "fk_payments_tenant"))
        .to_owned()
}

fn orders() -> TableCreateStatement {
    Table::create()
        .table(Orders::Table)
        .if_not_exists()
        .col(uuid(Orders::Id).primary_key())
        .col(uuid(Orders::TenantId))
        .col(double(Orders::Amount))
        .col(string(Orders::Currency))
        .col(text(Orders::Description))
        .col(string_null(Orders::CustomerEmail))
        .col(string(Orders::Status))
        .col(string_null(Orders::MpPaymentId))
        .col(text_null(Orders::InitPoint))
        .col(timestamp_with_time_zone(Orders::CreatedAt))
        .col(timestamp_with_time_zone(Orders::UpdatedAt))
        .foreign_key(&mut tenant_fk(Orders::Table, "fk_orders_tenant"))
        .to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        Index::create()
            .name("ux_webhook_events_tenant_notification")
            .table(WebhookEvents::Table)
            .col(WebhookEvents::TenantId)
            .col(WebhookEvents::NotificationId)
            .unique()
            .if_not_exists()
            .to_owned(),
        Index::create()
            .name("ix_webhook_events_tenant_status")
            .table(WebhookEvents::Table)
            .col(WebhookEvents::TenantId)
            .col(WebhookEvents::Status)
            .col(WebhookEvents::Id)
            .if_not_exists()
            .to_owned(),
        Index::create()
            .name("ix_webhook_events_status")
            .table(WebhookEvents::Table)
            .col(WebhookEvents::Status)
            .if_not_exists()
            .to_owned(),
        Index::create()
            .name("ux_payments_tenant_mp_payment")
            .table(Payments::Table)
            .col(Payments::TenantId)
            .col(Payments::MpPaymentId)
            .unique()
            .if_not_exists()
            .to_owned(),
        Index::create()
            .name("ix_orders_tenant")
            .table(Orders::Table)
            .col(Orders::TenantId)
            .col(Orders::Id)
            .if_not_exists()
            .to_owned(),
    ]
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Name,
    MpUserId,
    MpAccessToken,
    MpWebhookSecret,
    AllowUnsigned,
    GhlApiKey,
    GhlLocationId,
    GhlTag,
    AdminTokenHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    Id,
    TenantId,
    NotificationId,
    RequestId,
    WebhookType,
    Action,
    MpPaymentId,
    PaymentId,
    RawPayload,
    Status,
    Processed,
    Attempts,
    MaxAttempts,
    LastError,
    ErrorDetails,
    CreatedAt,
    ProcessedAt,
    NextRetryAt,
    ProcessingMs,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    TenantId,
    MpPaymentId,
    Status,
    MpStatus,
    StatusDetail,
    TransactionAmount,
    CurrencyId,
    PayerEmail,
    PayerName,
    PaymentMethod,
    PaymentType,
    ExternalReference,
    OrderId,
    DateCreated,
    DateApproved,
    DateLastUpdated,
    GhlContactId,
    GhlTaggedAt,
    Raw,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    TenantId,
    Amount,
    Currency,
    Description,
    CustomerEmail,
    Status,
    MpPaymentId,
    InitPoint,
    CreatedAt,
    UpdatedAt,
}
