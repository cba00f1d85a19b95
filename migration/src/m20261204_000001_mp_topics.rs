//! Issue 22, every MercadoPago notification a platform meets (SPEC §17):
//!
//! - `webhook_events` learns what a notification is about: `resource_type` (`payment`, `order`,
//!   `chargeback`, `fraud_alert`, `claim`, `connection`; existing rows are payments or
//!   connections), `resource_id` (the provider's id of it, as text: `ORD01…`, a chargeback case)
//!   and `resource_version` (an order notification's `data.version`, which decides whether a
//!   later notification is stale). Searched by `(tenant_id, resource_type, resource_id, id)`,
//!   a partial index that leaves payments out (they are found by `mp_payment_id`).
//!   An accepted event is also its delivery's row in the delivery log (SPEC §18): it keeps the
//!   request's `remote_addr`, `body_bytes` and `ack_ms` (one insert per webhook, not two).
//! - `payments` keeps the exact decimal amounts of the Orders API (`amount_decimal`, `refunded_amount`:
//!   text, never rounded through a float), whether MercadoPago flagged the sale as fraud
//!   (`fraud_alert`), and the dispute and claim MercadoPago opened on it (`dispute`, `claim`: the
//!   fields a seller acts on, as JSON).
//! - `orders` learns `fraud_alert`; `payments` also when a person acknowledged it
//!   (`fraud_acknowledged_at`: the dashboard's red banner stays until then).
//! - `tenants` learns when the seller last connected through OAuth (`mp_connected_at`): an
//!   `application.deauthorized` notice older than that changes nothing (SPEC §17).
//! - `deliveries` (SPEC §18): every request to a webhook path, whatever its answer, with the body
//!   only for authenticated deliveries of a known tenant. Read newest first per tenant
//!   (`tenant_id, id`) and by event (`event_id`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    ResourceType,
    ResourceId,
    ResourceVersion,
    RemoteAddr,
    BodyBytes,
    AckMs,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    AmountDecimal,
    RefundedAmount,
    FraudAlert,
    FraudAcknowledgedAt,
    Dispute,
    Claim,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    FraudAlert,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    MpConnectedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    ReceivedAt,
    Provider,
    TenantId,
    Outcome,
    Reason,
    HttpStatus,
    WebhookType,
    Action,
    ResourceId,
    RequestId,
    RemoteAddr,
    BodyBytes,
    AckMs,
    EventId,
    Body,
}

async fn add_columns(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    columns: Vec<ColumnDef>,
) -> Result<(), DbErr> {
    let table = table.into_iden();
    // SQLite takes one column per ALTER TABLE.
    for mut column in columns {
        let alter = Table::alter()
            .table(table.clone())
            .add_column(&mut column)
            .to_owned();
        manager.alter_table(alter).await?;
    }
    Ok(())
}

async fn create_deliveries(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let table = Table::create()
        .table(Deliveries::Table)
        .if_not_exists()
        .col(uuid(Deliveries::Id).primary_key())
        .col(timestamp_with_time_zone(Deliveries::ReceivedAt))
        .col(string(Deliveries::Provider))
        .col(uuid_null(Deliveries::TenantId))
        .col(string(Deliveries::Outcome))
        .col(text_null(Deliveries::Reason))
        .col(integer(Deliveries::HttpStatus))
        .col(string_null(Deliveries::WebhookType))
        .col(string_null(Deliveries::Action))
        .col(text_null(Deliveries::ResourceId))
        .col(string_null(Deliveries::RequestId))
        .col(string_null(Deliveries::RemoteAddr))
        .col(big_integer(Deliveries::BodyBytes))
        .col(big_integer(Deliveries::AckMs))
        .col(uuid_null(Deliveries::EventId))
        .col(json_null(Deliveries::Body))
        .to_owned();
    manager.create_table(table).await?;
    for (name, columns) in [
        (
            "ix_deliveries_tenant",
            vec![Deliveries::TenantId, Deliveries::Id],
        ),
        ("ix_deliveries_event", vec![Deliveries::EventId]),
    ] {
        let mut index = Index::create();
        index.name(name).table(Deliveries::Table).if_not_exists();
        for column in columns {
            index.col(column);
        }
        manager.create_index(index.to_owned()).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            WebhookEvents::Table,
            vec![
                string(WebhookEvents::ResourceType)
                    .default("payment")
                    .to_owned(),
                text_null(WebhookEvents::ResourceId),
                big_integer_null(WebhookEvents::ResourceVersion),
                string_null(WebhookEvents::RemoteAddr),
                big_integer_null(WebhookEvents::BodyBytes),
                big_integer_null(WebhookEvents::AckMs),
            ],
        )
        .await?;
        add_columns(
            manager,
            Payments::Table,
            vec![
                text_null(Payments::AmountDecimal),
                text_null(Payments::RefundedAmount),
                boolean(Payments::FraudAlert).default(false).to_owned(),
                timestamp_with_time_zone_null(Payments::FraudAcknowledgedAt),
                json_null(Payments::Dispute),
                json_null(Payments::Claim),
            ],
        )
        .await?;
        add_columns(
            manager,
            Orders::Table,
            vec![boolean(Orders::FraudAlert).default(false).to_owned()],
        )
        .await?;
        add_columns(
            manager,
            Tenants::Table,
            vec![timestamp_with_time_zone_null(Tenants::MpConnectedAt)],
        )
        .await?;
        create_deliveries(manager).await?;
        // Connection notices stored before this migration are not payments.
        let connections = Query::update()
            .table(WebhookEvents::Table)
            .value(WebhookEvents::ResourceType, "connection")
            .and_where(Expr::col(Alias::new("webhook_type")).eq("mp-connect"))
            .to_owned();
        manager.exec_stmt(connections).await?;
        // Partial: payment events (nearly all of them) are found by `mp_payment_id`, and an
        // entry per payment webhook in one more index cost the ingest's insert measurably.
        // Queries on another kind say `resource_type <> 'payment'` so SQLite may use it.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS ix_events_tenant_resource ON webhook_events \
                 (tenant_id, resource_type, resource_id, id) WHERE resource_type <> 'payment'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Deliveries::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_events_tenant_resource")
                    .table(WebhookEvents::Table)
                    .to_owned(),
            )
            .await?;
        let drops: [(DynIden, Vec<DynIden>); 4] = [
            (
                WebhookEvents::Table.into_iden(),
                vec![
                    WebhookEvents::ResourceType.into_iden(),
                    WebhookEvents::ResourceId.into_iden(),
                    WebhookEvents::ResourceVersion.into_iden(),
                    WebhookEvents::RemoteAddr.into_iden(),
                    WebhookEvents::BodyBytes.into_iden(),
                    WebhookEvents::AckMs.into_iden(),
                ],
            ),
            (
                Payments::Table.into_iden(),
                vec![
                    Payments::AmountDecimal.into_iden(),
                    Payments::RefundedAmount.into_iden(),
                    Payments::FraudAlert.into_iden(),
                    Payments::FraudAcknowledgedAt.into_iden(),
                    Payments::Dispute.into_iden(),
                    Payments::Claim.into_iden(),
                ],
            ),
            (
                Tenants::Table.into_iden(),
                vec![Tenants::MpConnectedAt.into_iden()],
            ),
            (
                Orders::Table.into_iden(),
                vec![Orders::FraudAlert.into_iden()],
            ),
        ];
        for (table, columns) in drops {
            for column in columns {
                let alter = Table::alter()
                    .table(table.clone())
                    .drop_column(column)
                    .to_owned();
                manager.alter_table(alter).await?;
            }
        }
        Ok(())
    }
}
