//! Issue 23, tenants hold provider accounts (SPEC §19): a seller's MercadoPago identity and
//! credentials move from the `mp_*` columns of `tenants` to a row of `tenant_accounts`, so a
//! second provider is a second row, not a second set of columns.
//!
//! - `tenant_accounts`: the tenant (cascading), the `provider` (`mercadopago`), its `account_id`
//!   (MP `user_id`; `NULL` until OAuth or a `PATCH` links one, where `tenants.mp_user_id` held
//!   `unlinked:<tenant id>`), the sealed `access_token` (`''`: none yet), `refresh_token` and
//!   `webhook_secret`, the `connection` state, `token_expires_at`, `last_error` and
//!   `connected_at`. Unique `(provider, account_id)`: one tenant per seller account, as the
//!   unique `mp_user_id` was; unique `(tenant_id, provider)`: one account per provider.
//! - `webhook_events` learns the `provider` an event came from (existing rows: `mercadopago`):
//!   processing calls the provider, with the account, that the event names.
//! - Every tenant's `mp_*` values are copied as they are (sealed values stay sealed under the
//!   same key); migrated accounts take their tenant's id as their own.
//! - `tenants` loses its `mp_*` columns. PostgreSQL drops them. SQLite cannot drop a `UNIQUE`
//!   column, so it rebuilds `tenants` the way SQLite documents ("Making Other Kinds Of Table
//!   Schema Changes"): on one connection with foreign keys off (dropping the old table would
//!   otherwise cascade into every table that names it), in one transaction checked by
//!   `PRAGMA foreign_key_check` before it commits.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{DatabaseBackend, DatabaseExecutor, sqlx};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TenantAccounts {
    Table,
    Id,
    TenantId,
    Provider,
    AccountId,
    AccessToken,
    RefreshToken,
    WebhookSecret,
    Connection,
    TokenExpiresAt,
    LastError,
    ConnectedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    Provider,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Name,
    AllowUnsigned,
    GhlApiKey,
    GhlLocationId,
    GhlTag,
    AdminTokenHash,
    CreatedAt,
    UpdatedAt,
}

/// The `mp_*` columns and the account column each one moves to.
const MOVED: [(&str, &str); 8] = [
    ("mp_user_id", "account_id"),
    ("mp_access_token", "access_token"),
    ("mp_refresh_token", "refresh_token"),
    ("mp_webhook_secret", "webhook_secret"),
    ("mp_connection", "connection"),
    ("mp_token_expires_at", "token_expires_at"),
    ("mp_last_error", "last_error"),
    ("mp_connected_at", "connected_at"),
];

const UNLINKED_PREFIX: &str = "unlinked:%";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Sqlite {
            return sqlite_up(manager).await;
        }
        let db = manager.get_connection();
        manager.create_table(accounts_table()).await?;
        for index in account_indexes() {
            manager.create_index(index).await?;
        }
        db.execute_unprepared(&copy_accounts()).await?;
        manager.alter_table(event_provider()).await?;
        let drops: Vec<String> = MOVED
            .iter()
            .map(|(column, _)| format!("DROP COLUMN {column}"))
            .collect();
        db.execute_unprepared(&format!("ALTER TABLE tenants {}", drops.join(", ")))
            .await?;
        Ok(())
    }

    /// Puts the columns back (nullable, `mp_user_id` unique through an index) and fills them from
    /// the MercadoPago accounts, then drops `tenant_accounts`. Works on both backends because it
    /// only adds columns.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (column, _) in MOVED {
            let kind = match column {
                "mp_token_expires_at" | "mp_connected_at" => "TIMESTAMP WITH TIME ZONE",
                _ => "TEXT",
            };
            db.execute_unprepared(&format!("ALTER TABLE tenants ADD COLUMN {column} {kind}"))
                .await?;
        }
        let sets: Vec<String> = MOVED
            .iter()
            .map(|(old, new)| {
                format!(
                    "{old} = (SELECT a.{new} FROM tenant_accounts a \
                     WHERE a.tenant_id = tenants.id AND a.provider = 'mercadopago')"
                )
            })
            .collect();
        db.execute_unprepared(&format!("UPDATE tenants SET {}", sets.join(", ")))
            .await?;
        db.execute_unprepared(
            "UPDATE tenants SET mp_user_id = 'unlinked:' || id WHERE mp_user_id IS NULL",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE tenants SET mp_access_token = '' WHERE mp_access_token IS NULL",
        )
        .await?;
        db.execute_unprepared("CREATE UNIQUE INDEX ux_tenants_mp_user_id ON tenants (mp_user_id)")
            .await?;
        manager
            .drop_table(Table::drop().table(TenantAccounts::Table).to_owned())
            .await?;
        let drop_provider = Table::alter()
            .table(WebhookEvents::Table)
            .drop_column(WebhookEvents::Provider)
            .to_owned();
        manager.alter_table(drop_provider).await
    }
}

fn accounts_table() -> TableCreateStatement {
    Table::create()
        .table(TenantAccounts::Table)
        .col(uuid(TenantAccounts::Id).primary_key())
        .col(uuid(TenantAccounts::TenantId))
        .col(string(TenantAccounts::Provider))
        .col(string_null(TenantAccounts::AccountId))
        .col(text(TenantAccounts::AccessToken))
        .col(text_null(TenantAccounts::RefreshToken))
        .col(text_null(TenantAccounts::WebhookSecret))
        .col(string(TenantAccounts::Connection).default("manual"))
        .col(timestamp_with_time_zone_null(
            TenantAccounts::TokenExpiresAt,
        ))
        .col(text_null(TenantAccounts::LastError))
        .col(timestamp_with_time_zone_null(TenantAccounts::ConnectedAt))
        .col(timestamp_with_time_zone(TenantAccounts::CreatedAt))
        .col(timestamp_with_time_zone(TenantAccounts::UpdatedAt))
        .foreign_key(
            ForeignKey::create()
                .name("fk_tenant_accounts_tenant")
                .from(TenantAccounts::Table, TenantAccounts::TenantId)
                .to(Tenants::Table, Tenants::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn event_provider() -> TableAlterStatement {
    Table::alter()
        .table(WebhookEvents::Table)
        .add_column(string(WebhookEvents::Provider).default("mercadopago"))
        .to_owned()
}

fn account_indexes() -> [IndexCreateStatement; 2] {
    [
        Index::create()
            .name("ux_tenant_accounts_account")
            .table(TenantAccounts::Table)
            .col(TenantAccounts::Provider)
            .col(TenantAccounts::AccountId)
            .unique()
            .to_owned(),
        Index::create()
            .name("ux_tenant_accounts_tenant")
            .table(TenantAccounts::Table)
            .col(TenantAccounts::TenantId)
            .col(TenantAccounts::Provider)
            .unique()
            .to_owned(),
    ]
}

/// One MercadoPago account per tenant, from its `mp_*` columns as stored.
fn copy_accounts() -> String {
    format!(
        "INSERT INTO tenant_accounts (id, tenant_id, provider, account_id, access_token, \
         refresh_token, webhook_secret, connection, token_expires_at, last_error, connected_at, \
         created_at, updated_at) \
         SELECT id, id, 'mercadopago', \
         CASE WHEN mp_user_id LIKE '{UNLINKED_PREFIX}' THEN NULL ELSE mp_user_id END, \
         mp_access_token, mp_refresh_token, mp_webhook_secret, mp_connection, \
         mp_token_expires_at, mp_last_error, mp_connected_at, created_at, updated_at \
         FROM tenants"
    )
}

/// `tenants` as it is after this migration, created under `name`.
fn tenants_without_mp(name: &str) -> TableCreateStatement {
    Table::create()
        .table(Alias::new(name))
        .col(uuid(Tenants::Id).primary_key())
        .col(string(Tenants::Name))
        .col(boolean(Tenants::AllowUnsigned).default(false))
        .col(text_null(Tenants::GhlApiKey))
        .col(string_null(Tenants::GhlLocationId))
        .col(string_null(Tenants::GhlTag))
        .col(string_uniq(Tenants::AdminTokenHash))
        .col(timestamp_with_time_zone(Tenants::CreatedAt))
        .col(timestamp_with_time_zone(Tenants::UpdatedAt))
        .to_owned()
}

/// The whole migration on one SQLite connection, in one transaction, foreign keys off.
async fn sqlite_up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let DatabaseExecutor::Connection(db) = manager.get_connection() else {
        return Err(DbErr::Migration(
            "tenant_accounts: SQLite must migrate outside a transaction (foreign keys are \
             switched off for the rebuild of tenants)"
                .into(),
        ));
    };
    let mut conn = db
        .get_sqlite_connection_pool()
        .acquire()
        .await
        .map_err(sql_err)?;
    run(&mut conn, "PRAGMA foreign_keys = OFF").await?;
    let rebuilt = sqlite_rebuild(&mut conn).await;
    let restored = run(&mut conn, "PRAGMA foreign_keys = ON").await;
    if rebuilt.is_err() || restored.is_err() {
        // Never hand the pool back a connection that may still have foreign keys off.
        conn.detach();
    }
    rebuilt.and(restored)
}

async fn sqlite_rebuild(conn: &mut sqlx::SqliteConnection) -> Result<(), DbErr> {
    let kept = "id, name, allow_unsigned, ghl_api_key, ghl_location_id, ghl_tag, \
                admin_token_hash, created_at, updated_at";
    let mut statements = vec![
        "BEGIN IMMEDIATE".to_owned(),
        accounts_table().to_string(SqliteQueryBuilder),
    ];
    statements.extend(account_indexes().map(|index| index.to_string(SqliteQueryBuilder)));
    statements.push(copy_accounts());
    statements.push(event_provider().to_string(SqliteQueryBuilder));
    statements.push(tenants_without_mp("tenants_new").to_string(SqliteQueryBuilder));
    statements.push(format!(
        "INSERT INTO tenants_new ({kept}) SELECT {kept} FROM tenants"
    ));
    statements.push("DROP TABLE tenants".to_owned());
    statements.push("ALTER TABLE tenants_new RENAME TO tenants".to_owned());
    for statement in &statements {
        if let Err(e) = run(conn, statement).await {
            let _ = run(conn, "ROLLBACK").await;
            return Err(e);
        }
    }
    let broken: Vec<sqlx::sqlite::SqliteRow> = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(sql_err)?;
    if !broken.is_empty() {
        let _ = run(conn, "ROLLBACK").await;
        return Err(DbErr::Migration(format!(
            "tenant_accounts: rebuilding tenants would break {} foreign keys; nothing changed",
            broken.len()
        )));
    }
    run(conn, "COMMIT").await
}

async fn run(conn: &mut sqlx::SqliteConnection, statement: &str) -> Result<(), DbErr> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut *conn)
        .await
        .map_err(sql_err)?;
    Ok(())
}

fn sql_err(e: sqlx::Error) -> DbErr {
    DbErr::Migration(format!("tenant_accounts: {e}"))
}
