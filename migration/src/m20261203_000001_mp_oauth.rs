//! SPEC §14, sellers connecting through MercadoPago OAuth:
//!
//! - `tenants` learns how its token came (`mp_connection`: `manual`, `connected`,
//!   `disconnected`, `refresh_failed`; existing tenants are `manual`), the refresh token and the
//!   access token's expiry that OAuth gives, and the last connection error a person should act on.
//!   `mp_access_token` stays `NOT NULL`: a tenant created without a token holds `''` there
//!   (changing the column would mean rebuilding `tenants` on SQLite, which the other tables
//!   cascade from); `store::tenants` reads `''` as "no token".
//! - `oauth_states`: one row per authorization started: the single-use `state` (its nonce), the
//!   tenant, the PKCE verifier (sealed like other secrets) and when it expires. The callback
//!   deletes the row it uses, so a replayed `state` finds nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    MpConnection,
    MpRefreshToken,
    MpTokenExpiresAt,
    MpLastError,
}

#[derive(DeriveIden)]
enum OauthStates {
    Table,
    Nonce,
    TenantId,
    CodeVerifier,
    ExpiresAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        let columns = [
            string(Tenants::MpConnection).default("manual").to_owned(),
            text_null(Tenants::MpRefreshToken),
            timestamp_with_time_zone_null(Tenants::MpTokenExpiresAt),
            text_null(Tenants::MpLastError),
        ];
        for mut column in columns {
            let alter = Table::alter()
                .table(Tenants::Table)
                .add_column(&mut column)
                .to_owned();
            manager.alter_table(alter).await?;
        }
        let states = Table::create()
            .table(OauthStates::Table)
            .if_not_exists()
            .col(string(OauthStates::Nonce).primary_key())
            .col(uuid(OauthStates::TenantId))
            .col(text(OauthStates::CodeVerifier))
            .col(timestamp_with_time_zone(OauthStates::ExpiresAt))
            .col(timestamp_with_time_zone(OauthStates::CreatedAt))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_oauth_states_tenant")
                    .from(OauthStates::Table, OauthStates::TenantId)
                    .to(Tenants::Table, Tenants::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned();
        manager.create_table(states).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OauthStates::Table).to_owned())
            .await?;
        for column in [
            Tenants::MpLastError,
            Tenants::MpTokenExpiresAt,
            Tenants::MpRefreshToken,
            Tenants::MpConnection,
        ] {
            let alter = Table::alter()
                .table(Tenants::Table)
                .drop_column(column)
                .to_owned();
            manager.alter_table(alter).await?;
        }
        Ok(())
    }
}
