//! A tenant's MercadoPago connection (SPEC §14), on its `tenant_accounts` row: the single-use OAuth `state` rows, storing what
//! a code exchange or a refresh granted (tokens sealed under `COBRO_SECRET_KEY`), marking a
//! connection broken, and finding the tokens due for refresh. `connect::Connections` decides;
//! this only reads and writes.

use chrono::{DateTime, Utc};
use entity::oauth_state::{self, Entity as OauthState};
use entity::tenant::Entity as Tenant;
use entity::tenant_account::{Column, Entity as Account};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, SqlErr, TransactionTrait,
};
use uuid::Uuid;

use super::accounts::{self, AccountRow};
use super::audit::{self, By, Entry};
use super::events::{self, NewEvent, Stored};
use crate::domain::{EventId, MpConnection, OutboundType, Provider, TenantId};

/// The provider whose connections these are: OAuth is MercadoPago's today.
const PROVIDER: Provider = Provider::MercadoPago;
use crate::secrets::SecretBox;
use crate::store::outbound::outbox::{self, Notice};

/// What a grant stores on the account, tokens still in clear (sealed here).
pub struct Granted<'a> {
    pub access_token: &'a str,
    pub refresh_token: Option<&'a str>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("MercadoPago account {0} is already connected to another tenant")]
    TakenByAnother(String),
    #[error("the tenant was deleted")]
    NoTenant,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Records an authorization started for `tenant`, with its audit row (`mp.connect_started`).
pub async fn add_state(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    (nonce, code_verifier): (&str, &str),
    tenant: TenantId,
    expires_at: DateTime<Utc>,
    by: &By,
) -> Result<(), DbErr> {
    let row = oauth_state::ActiveModel {
        nonce: Set(nonce.to_owned()),
        tenant_id: Set(tenant.0),
        code_verifier: Set(secrets.seal(code_verifier)),
        expires_at: Set(expires_at),
        created_at: Set(Utc::now()),
    };
    let txn = crate::store::db::begin_write(db).await?;
    OauthState::insert(row).exec(&txn).await?;
    let started = Entry::on_tenant("mp.connect_started", tenant, Vec::new());
    audit::append(&txn, by, started).await?;
    txn.commit().await?;
    Ok(())
}

/// Takes the authorization `nonce` names, once: the row is deleted, and of two callbacks racing
/// with one `state` only the one whose delete removed it gets it. Answers the tenant and the
/// PKCE verifier (opened), and when the state expires.
pub async fn take_state(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    nonce: &str,
) -> Result<Option<(TenantId, String, DateTime<Utc>)>, DbErr> {
    let Some(row) = OauthState::find_by_id(nonce.to_owned()).one(db).await? else {
        return Ok(None);
    };
    let deleted = OauthState::delete_by_id(nonce.to_owned()).exec(db).await?;
    if deleted.rows_affected != 1 {
        return Ok(None);
    }
    let verifier = secrets
        .open(&row.code_verifier)
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    Ok(Some((TenantId(row.tenant_id), verifier, row.expires_at)))
}

/// Deletes authorizations that expired without being used.
pub async fn forget_expired_states(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let gone = OauthState::delete_many()
        .filter(oauth_state::Column::ExpiresAt.lt(Utc::now()))
        .exec(db)
        .await?;
    Ok(gone.rows_affected)
}

/// A code exchange succeeded: the tenant's MercadoPago account is `connected` as `mp_user_id`,
/// with these tokens, recorded (`mp.connected`) in the same transaction.
pub async fn connect(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    (tenant, mp_user_id): (TenantId, &str),
    granted: Granted<'_>,
    by: &By,
) -> Result<(), ConnectError> {
    // BEGIN IMMEDIATE on SQLite: this transaction reads then writes, and a write made meanwhile
    // outside the writer's gate (the demo creates orders straight on the pool) made the upgrade
    // fail at once with "database is locked"; taking the lock first waits for it instead.
    let txn = crate::store::db::begin_write(db).await?;
    let holder = accounts::holder(&txn, PROVIDER, mp_user_id).await?;
    if holder.is_some_and(|other| other != tenant) {
        return Err(ConnectError::TakenByAnother(mp_user_id.to_owned()));
    }
    if Tenant::find_by_id(tenant.0).one(&txn).await?.is_none() {
        return Err(ConnectError::NoTenant);
    }
    let mut row = granted_row(secrets, &granted);
    row.account_id = Set(Some(mp_user_id.to_owned()));
    row.connected_at = Set(Some(Utc::now()));
    let taken = |e: DbErr| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            ConnectError::TakenByAnother(mp_user_id.to_owned())
        }
        _ => ConnectError::Db(e),
    };
    let updated = Account::update_many()
        .set(row.clone())
        .filter(accounts::of(tenant, PROVIDER))
        .exec(&txn)
        .await
        .map_err(taken)?;
    if updated.rows_affected == 0 {
        // A tenant without a MercadoPago account yet (none today; a later provider's tenants).
        let now = Utc::now();
        row.id = Set(super::new_id());
        row.tenant_id = Set(tenant.0);
        row.provider = Set(PROVIDER.key().to_owned());
        row.webhook_secret = Set(None);
        row.created_at = Set(now);
        Account::insert(row).exec(&txn).await.map_err(taken)?;
    }
    tell_platform(&txn, tenant, MpConnection::Connected, None).await?;
    let changes = vec!["mp_user_id", "mp_access_token", "mp_refresh_token"];
    audit::append(&txn, by, Entry::on_tenant("mp.connected", tenant, changes)).await?;
    txn.commit().await?;
    outbox::wake();
    Ok(())
}

/// A refresh succeeded: stores the new tokens if the refresh token is still `previous` (as
/// stored, sealed), so a refresh that lost a race never overwrites the winner's rotated token.
/// Answers whether it stored them; a stored refresh is recorded (`mp.token_refreshed`, by
/// `system`) in the same transaction.
pub async fn save_refreshed(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    tenant: TenantId,
    previous: &str,
    granted: Granted<'_>,
) -> Result<bool, DbErr> {
    let txn = crate::store::db::begin_write(db).await?;
    let updated = Account::update_many()
        .set(granted_row(secrets, &granted))
        .filter(accounts::of(tenant, PROVIDER))
        .filter(Column::RefreshToken.eq(previous))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(false);
    }
    let changes = vec!["mp_access_token", "mp_refresh_token"];
    let refreshed = Entry::on_tenant("mp.token_refreshed", tenant, changes);
    audit::append(&txn, &By::system(), refreshed).await?;
    txn.commit().await?;
    Ok(true)
}

fn granted_row(secrets: &SecretBox, granted: &Granted<'_>) -> AccountRow {
    AccountRow {
        access_token: Set(secrets.seal(granted.access_token)),
        refresh_token: Set(granted.refresh_token.map(|t| secrets.seal(t))),
        token_expires_at: Set(granted.expires_at),
        connection: Set(MpConnection::Connected.as_str().to_owned()),
        last_error: Set(None),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
}

/// The connection broke (`disconnected`, `refresh_failed`) or came back without new tokens
/// (`connected` by an `application.authorized` notification); `why` is what a person reads.
/// The platform is told (`connection.updated`, SPEC §21) and the change recorded in the audit
/// trail (`mp.disconnected` or `mp.connected`, by `system`: Cobro applying what MercadoPago said,
/// the seller's revocation or a refused refresh; the target is the new state) in the same
/// transaction.
pub async fn mark(
    db: &impl TransactionTrait<Transaction = DatabaseTransaction>,
    tenant: TenantId,
    connection: MpConnection,
    why: Option<String>,
) -> Result<(), DbErr> {
    let row = AccountRow {
        connection: Set(connection.as_str().to_owned()),
        last_error: Set(why.clone()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    let txn = db.begin().await?;
    let before = accounts::row(&txn, tenant, PROVIDER).await?;
    Account::update_many()
        .set(row)
        .filter(accounts::of(tenant, PROVIDER))
        .exec(&txn)
        .await?;
    // Only a change of state is news: a second refusal to refresh is not.
    let changed = before.is_some_and(|a| a.connection != connection.as_str());
    if changed {
        tell_platform(&txn, tenant, connection, why).await?;
        let action = match connection {
            MpConnection::Connected => "mp.connected",
            _ => "mp.disconnected",
        };
        let entry = Entry {
            action,
            tenant_id: Some(tenant),
            target: Some(connection.as_str().to_owned()),
            changes: vec!["mp_connection"],
        };
        audit::append(&txn, &By::system(), entry).await?;
    }
    txn.commit().await?;
    if changed {
        outbox::wake();
    }
    Ok(())
}

/// `connection.updated`: the seller's MercadoPago connection is now `connection`.
async fn tell_platform(
    txn: &DatabaseTransaction,
    tenant: TenantId,
    connection: MpConnection,
    why: Option<String>,
) -> Result<(), DbErr> {
    let data = serde_json::json!({
        "provider": PROVIDER.key(),
        "connection": connection.as_str(),
        "last_error": why,
    });
    let notice = Notice::of_tenant(tenant, OutboundType::ConnectionUpdated, data);
    outbox::enqueue(txn, &[notice]).await.map(drop)
}

/// An `mp-connect` notice (SPEC §14), in one transaction: the event is stored already handled
/// (`success`: there is nothing to fetch) and the tenant's connection marked. A duplicate changes
/// nothing, so a notice MercadoPago sends again is not applied twice.
pub async fn record_notice(
    db: &DatabaseConnection,
    event: &NewEvent,
    connection: MpConnection,
    why: Option<String>,
) -> Result<Stored, DbErr> {
    let txn = db.begin().await?;
    let stored = events::insert_batch(&txn, std::slice::from_ref(event)).await?;
    let stored = stored
        .first()
        .copied()
        .unwrap_or(Stored::Duplicate(EventId(Uuid::nil())));
    let Stored::Accepted(id) = stored else {
        return Ok(stored);
    };
    events::mark_handled(&txn, id).await?;
    let account = accounts::row(&txn, event.tenant_id, PROVIDER).await?;
    let connected_at = account.and_then(|a| a.connected_at);
    if stale_revocation(connection, event, connected_at) {
        let note = "older than the seller's last connection: nothing changed";
        events::note_success(&txn, id, note).await?;
        txn.commit().await?;
        return Ok(Stored::Accepted(id));
    }
    mark(&txn, event.tenant_id, connection, why).await?;
    txn.commit().await?;
    Ok(Stored::Accepted(id))
}

/// SPEC §17: an `application.deauthorized` created (`date_created`) before the seller's last
/// connection is a late delivery of an old revocation; the connection made since stands. A
/// notice without a readable date is applied, as before.
fn stale_revocation(
    connection: MpConnection,
    event: &NewEvent,
    connected_at: Option<DateTime<Utc>>,
) -> bool {
    let created = event
        .raw_payload
        .get("date_created")
        .and_then(|d| d.as_str())
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok());
    match (connection, created, connected_at) {
        (MpConnection::Disconnected, Some(created), Some(connected)) => created < connected,
        _ => false,
    }
}

/// Connected tenants whose token expires before `before`.
pub async fn due_for_refresh(
    db: &DatabaseConnection,
    before: DateTime<Utc>,
) -> Result<Vec<TenantId>, DbErr> {
    let ids: Vec<Uuid> = Account::find()
        .select_only()
        .column(Column::TenantId)
        .filter(Column::Provider.eq(PROVIDER.key()))
        .filter(Column::Connection.eq(MpConnection::Connected.as_str()))
        .filter(Column::TokenExpiresAt.lt(before))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(TenantId).collect())
}

/// How many tokens expire before `before` (a metric: refreshes that keep failing show here).
pub async fn expiring(db: &DatabaseConnection, before: DateTime<Utc>) -> Result<u64, DbErr> {
    Account::find()
        .filter(Column::Provider.eq(PROVIDER.key()))
        .filter(Column::TokenExpiresAt.lt(before))
        .filter(Column::Connection.ne(MpConnection::Manual.as_str()))
        .count(db)
        .await
}
