//! Issue 24, Stripe (SPEC §19): payments are keyed by (tenant, provider, provider payment id).
//! `payments` learns the `provider` that described each payment (existing rows: `mercadopago`),
//! and the unique `(tenant_id, mp_payment_id)` becomes `(tenant_id, provider, mp_payment_id)`:
//! the write path's upsert names that key. Both backends add a column with a default and swap an
//! index, so no table is rebuilt.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Payments {
    Table,
    TenantId,
    Provider,
    MpPaymentId,
}

const OLD_KEY: &str = "ux_payments_tenant_mp_payment";
const NEW_KEY: &str = "ux_payments_tenant_provider_payment";

fn key(name: &str, with_provider: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index
        .name(name)
        .table(Payments::Table)
        .col(Payments::TenantId);
    if with_provider {
        index.col(Payments::Provider);
    }
    index.col(Payments::MpPaymentId).unique().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let add = Table::alter()
            .table(Payments::Table)
            .add_column(
                ColumnDef::new(Payments::Provider)
                    .text()
                    .not_null()
                    .default("mercadopago"),
            )
            .to_owned();
        manager.alter_table(add).await?;
        manager.create_index(key(NEW_KEY, true)).await?;
        let drop = Index::drop()
            .name(OLD_KEY)
            .table(Payments::Table)
            .to_owned();
        manager.drop_index(drop).await
    }

    /// Only possible while no two providers share a payment id within a tenant.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(key(OLD_KEY, false)).await?;
        let drop = Index::drop()
            .name(NEW_KEY)
            .table(Payments::Table)
            .to_owned();
        manager.drop_index(drop).await?;
        let remove = Table::alter()
            .table(Payments::Table)
            .drop_column(Payments::Provider)
            .to_owned();
        manager.alter_table(remove).await
    }
}
