//! Issue 13, search: the indexes that keep a tenant's filtered, newest-first pages a short index
//! walk on a million events. Time ranges are id ranges (UUIDv7), so every index ends with `id`.
//! Buyer email and order id are on payments; an event search by either goes through
//! `(tenant_id, mp_payment_id)` on events.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    TenantId,
    Id,
    Action,
    MpPaymentId,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    TenantId,
    Id,
    PayerEmail,
    ExternalReference,
    Status,
}

fn index(name: &str, table: impl IntoIden, columns: Vec<DynIden>) -> IndexCreateStatement {
    let mut create = Index::create();
    create.name(name).table(table).if_not_exists();
    for column in columns {
        create.col(column);
    }
    create.to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    use Payments as P;
    use WebhookEvents as E;
    vec![
        index(
            "ix_webhook_events_tenant_id",
            E::Table,
            vec![E::TenantId.into_iden(), E::Id.into_iden()],
        ),
        index(
            "ix_webhook_events_tenant_action",
            E::Table,
            vec![
                E::TenantId.into_iden(),
                E::Action.into_iden(),
                E::Id.into_iden(),
            ],
        ),
        index(
            "ix_webhook_events_tenant_payment",
            E::Table,
            vec![
                E::TenantId.into_iden(),
                E::MpPaymentId.into_iden(),
                E::Id.into_iden(),
            ],
        ),
        index(
            "ix_payments_tenant_id",
            P::Table,
            vec![P::TenantId.into_iden(), P::Id.into_iden()],
        ),
        index(
            "ix_payments_tenant_email",
            P::Table,
            vec![
                P::TenantId.into_iden(),
                P::PayerEmail.into_iden(),
                P::Id.into_iden(),
            ],
        ),
        index(
            "ix_payments_tenant_reference",
            P::Table,
            vec![
                P::TenantId.into_iden(),
                P::ExternalReference.into_iden(),
                P::Id.into_iden(),
            ],
        ),
        index(
            "ix_payments_tenant_status",
            P::Table,
            vec![
                P::TenantId.into_iden(),
                P::Status.into_iden(),
                P::Id.into_iden(),
            ],
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for create in indexes() {
            manager.create_index(create).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for create in indexes() {
            let name = create
                .get_index_spec()
                .get_name()
                .unwrap_or_default()
                .to_owned();
            manager
                .drop_index(Index::drop().name(name).to_owned())
                .await?;
        }
        Ok(())
    }
}
