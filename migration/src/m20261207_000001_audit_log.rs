//! Issue 27, the audit trail of people's actions (SPEC §20): `audit_log`, one row per change a
//! person (or Cobro itself, `system`) made, appended in the same transaction as the change.
//! Append-only: nothing but retention deletes from it. Its id is a UUIDv7 like every other row's,
//! so it pages (newest first) and prunes (by the id's time) as they do; `tenant_id` has no
//! foreign key, so a tenant's trail outlives it
//! (its `tenant.delete` row above all).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Actor,
    Action,
    TenantId,
    Target,
    Changes,
    RemoteAddr,
    RequestId,
}

fn table() -> TableCreateStatement {
    Table::create()
        .table(AuditLog::Table)
        .if_not_exists()
        .col(uuid(AuditLog::Id).primary_key())
        .col(timestamp_with_time_zone(AuditLog::At))
        .col(text(AuditLog::Actor))
        .col(text(AuditLog::Action))
        .col(uuid_null(AuditLog::TenantId))
        .col(text_null(AuditLog::Target))
        .col(json_null(AuditLog::Changes))
        .col(text_null(AuditLog::RemoteAddr))
        .col(text_null(AuditLog::RequestId))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(table()).await?;
        // A tenant's trail, newest first (`GET /api/tenants/{tid}/audit`); the whole trail and
        // retention read the primary key.
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_log_tenant")
                    .table(AuditLog::Table)
                    .col(AuditLog::TenantId)
                    .col(AuditLog::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }
}
