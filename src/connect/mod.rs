//! Sellers connecting their MercadoPago account through OAuth (SPEC §14): an authorization
//! started for a tenant (`start`), finished by the callback (`finish`), tokens refreshed before
//! they expire (`refresh_job`) and once when MercadoPago refuses one (`refresh`), and the
//! `mp-connect` notices that say the seller revoked or granted the application (`apply_notice`).
//!
//! The HTTP edge (`api::connect`) and the pipeline (`tenant::pipeline`) call in here; the calls to
//! MercadoPago go through `provider::Providers`, the rows through `store::connections`. One
//! tenant's refreshes never overlap in a process (a lock per tenant), and across a cluster only
//! the node that owns the tenant refreshes it, with a compare-and-set on the refresh token as the
//! last guard.

pub mod refresh_job;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use dashmap::DashMap;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::Mutex;

use crate::config::{Config, MpOAuth};
use crate::domain::{MpConnection, RECONNECT, TenantId};
use crate::provider::Providers;
use crate::provider::{GrantError, Provider};
use crate::store::accounts;
use crate::store::audit::{Actor, By, Origin};
use crate::store::connections::{self, ConnectError, Granted};
use crate::store::directory::TenantDirectory;
use crate::store::events::{NewEvent, Stored};
use crate::store::gate::WriteGate;

/// How long an authorization link works (SPEC §14).
pub const STATE_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// The path MercadoPago sends the seller back to.
pub const CALLBACK_PATH: &str = "/oauth/mp/callback";

/// Why a connection could not be started or finished; each text is what the seller's page says.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error(
        "MercadoPago OAuth is not configured on this server: set COBRO_MP_CLIENT_ID and COBRO_MP_CLIENT_SECRET"
    )]
    NotConfigured,
    #[error("{0}")]
    State(#[from] state::StateError),
    #[error("this link was already used; start the connection again")]
    Replayed,
    #[error("{0}; start the connection again")]
    Refused(String),
    #[error("MercadoPago could not be reached ({0}); try again in a few minutes")]
    Unavailable(String),
    #[error("MercadoPago answered without the seller's user_id; try again")]
    NoAccount,
    #[error(
        "this MercadoPago account ({0}) is already connected to another tenant; disconnect it there first"
    )]
    TakenByAnother(String),
    #[error("the tenant no longer exists")]
    NoTenant,
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

/// What sellers' connections need, and nothing else: built once by `Services`, shared by the
/// admin API, the pipeline's refresh-once and the refresh job.
pub struct Connector {
    pub db: DatabaseConnection,
    /// Taken around the writes made here on SQLite (the writer's cycles take it too).
    pub gate: WriteGate,
    /// Forgotten after every change to a tenant's connection.
    pub directory: Arc<TenantDirectory>,
    pub providers: Providers,
    pub config: Arc<Config>,
    /// The per-tenant refresh locks.
    refreshing: DashMap<TenantId, Arc<Mutex<()>>>,
}

impl Connector {
    pub fn new(
        db: DatabaseConnection,
        gate: WriteGate,
        directory: Arc<TenantDirectory>,
        providers: Providers,
        config: Arc<Config>,
    ) -> Self {
        Self {
            db,
            gate,
            directory,
            providers,
            config,
            refreshing: DashMap::new(),
        }
    }

    fn lock_for(&self, tenant: TenantId) -> Arc<Mutex<()>> {
        self.refreshing.entry(tenant).or_default().clone()
    }
}

pub fn redirect_uri(svc: &Connector) -> String {
    let base = svc.config.public_url.as_str().trim_end_matches('/');
    format!("{base}{CALLBACK_PATH}")
}

/// The platform's application and the key its `state`s are signed with.
fn application(svc: &Connector) -> Result<(&MpOAuth, [u8; 32]), ConnectionError> {
    let oauth = svc
        .config
        .mp_oauth
        .as_ref()
        .ok_or(ConnectionError::NotConfigured)?;
    Ok((oauth, state::signing_key(oauth.client_secret.expose())))
}

/// Starts an authorization for `tenant`: answers the page to send the seller to.
pub async fn start(svc: &Connector, tenant: TenantId, by: &By) -> Result<String, ConnectionError> {
    let (oauth, key) = application(svc)?;
    let expires_at = Utc::now() + chrono::Duration::from_std(STATE_LIFETIME).unwrap_or_default();
    let issued = state::issue(&key, tenant, expires_at);
    let (db, secrets) = (&svc.db, &svc.config.secrets);
    let secret_pair = (issued.nonce.as_str(), issued.code_verifier.as_str());
    connections::add_state(db, secrets, secret_pair, tenant, expires_at, by).await?;
    Ok(svc.providers.authorization_url(
        oauth,
        &redirect_uri(svc),
        &issued.state,
        &issued.code_challenge,
    ))
}

/// The callback: checks the `state` (signature, expiry, single use), exchanges the code and
/// stores what MercadoPago granted. Nothing is written unless all of it succeeds (the used
/// `state` is gone either way: a link works once).
///
/// The audit trail names the seller's tenant as its actor: the seller, on MercadoPago's page,
/// authorized it; `origin` is the callback request's.
pub async fn finish(
    svc: &Connector,
    code: &str,
    state_text: &str,
    origin: Origin,
) -> Result<(TenantId, String), ConnectionError> {
    let (oauth, key) = application(svc)?;
    let (tenant, nonce) = state::verify(&key, state_text, Utc::now())?;
    let taken = connections::take_state(&svc.db, &svc.config.secrets, &nonce).await?;
    let Some((stored_tenant, verifier, _)) = taken.filter(|(t, _, _)| *t == tenant) else {
        return Err(ConnectionError::Replayed);
    };
    let redirect = redirect_uri(svc);
    let grant = svc
        .providers
        .exchange_code(oauth, code, &verifier, &redirect)
        .await
        .map_err(|e| match e {
            GrantError::Refused(why) => ConnectionError::Refused(why),
            GrantError::Unavailable(why) => ConnectionError::Unavailable(why),
        })?;
    let mp_user_id = grant
        .seller_account_id
        .clone()
        .ok_or(ConnectionError::NoAccount)?;
    let granted = granted(&grant);
    // SQLite: a transaction that reads, then writes, fails with SQLITE_BUSY_SNAPSHOT if the
    // writer commits in between (its busy timeout does not retry that). Write transactions
    // outside the writer take its gate, as retention does, so none commits meanwhile.
    let _turn = svc.gate.enter().await;
    let by = By {
        actor: Actor::Tenant(stored_tenant),
        origin,
    };
    let account = (stored_tenant, mp_user_id.as_str());
    connections::connect(&svc.db, &svc.config.secrets, account, granted, &by)
        .await
        .map_err(|e| match e {
            ConnectError::TakenByAnother(id) => ConnectionError::TakenByAnother(id),
            ConnectError::NoTenant => ConnectionError::NoTenant,
            ConnectError::Db(err) => ConnectionError::Db(err),
        })?;
    svc.directory.forget_all();
    metrics::counter!("cobro_mp_connections_total", "outcome" => "connected").increment(1);
    tracing::info!(tenant = %stored_tenant, mp_user = %mp_user_id, "seller connected through OAuth");
    Ok((stored_tenant, mp_user_id))
}

fn granted(grant: &crate::provider::Grant) -> Granted<'_> {
    Granted {
        access_token: &grant.access_token,
        refresh_token: grant.refresh_token.as_deref(),
        expires_at: grant
            .expires_in
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| Utc::now() + d),
    }
}

/// Why a refresh gave no token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// The tenant is not connected through OAuth (manual, disconnected, refresh already failed).
    #[error("the tenant has no OAuth connection to refresh")]
    NotConnected,
    /// MercadoPago refused: the tenant is now `refresh_failed`, a person must reconnect.
    #[error("{0}")]
    Refused(String),
    /// MercadoPago could not be reached: the token is left as it is, to be refreshed later.
    #[error("{0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Db(String),
}

impl From<DbErr> for RefreshError {
    fn from(err: DbErr) -> Self {
        RefreshError::Db(err.to_string())
    }
}

/// Why a refresh is asked for.
#[derive(Debug, Clone, Copy)]
pub enum Reason<'a> {
    /// The token expires soon (the background job).
    Expiring,
    /// MercadoPago refused this access token (a 401 while processing).
    Refused { stale_access_token: &'a str },
}

/// Refreshes the tenant's token; answers the access token to use now. One tenant's refreshes
/// run one at a time, and one that finds the work already done (the token it was asked to
/// replace is gone, or it no longer expires soon) answers the current token without asking
/// MercadoPago again.
pub async fn refresh(
    svc: &Connector,
    tenant: TenantId,
    reason: Reason<'_>,
) -> Result<String, RefreshError> {
    let Some(oauth) = svc.config.mp_oauth.as_ref() else {
        return Err(RefreshError::NotConnected);
    };
    let lock = svc.lock_for(tenant);
    let _one_at_a_time = lock.lock().await;
    let row = accounts::row(&svc.db, tenant, Provider::MercadoPago)
        .await?
        .ok_or(RefreshError::NotConnected)?;
    let stored_refresh = match (MpConnection::parse(&row.connection), &row.refresh_token) {
        (MpConnection::Connected, Some(token)) => token.clone(),
        _ => return Err(RefreshError::NotConnected),
    };
    let secrets = &svc.config.secrets;
    let open = |sealed: &str| {
        secrets
            .open(sealed)
            .map_err(|e| RefreshError::Db(e.to_string()))
    };
    let current_access = open(&row.access_token)?;
    if already_done(svc, &row, &current_access, reason) {
        return Ok(current_access);
    }
    let answer = svc
        .providers
        .refresh_grant(oauth, &open(&stored_refresh)?)
        .await;
    let grant = match answer {
        Ok(grant) => grant,
        Err(GrantError::Refused(why)) => return Err(refused(svc, tenant, why).await),
        Err(GrantError::Unavailable(why)) => {
            metrics::counter!("cobro_mp_token_refreshes_total", "outcome" => "unavailable")
                .increment(1);
            tracing::warn!(%tenant, reason = %why, "token refresh could not reach MercadoPago");
            return Err(RefreshError::Unavailable(why));
        }
    };
    let mut granted = granted(&grant);
    let kept_refresh = open(&stored_refresh)?;
    // MP rotates the refresh token; an answer without one keeps the old.
    granted.refresh_token = granted.refresh_token.or(Some(kept_refresh.as_str()));
    let saved =
        connections::save_refreshed(&svc.db, secrets, tenant, &stored_refresh, granted).await?;
    svc.directory.forget_all();
    if !saved {
        // Another node refreshed between our read and our write: its token is the one to use.
        let row = accounts::row(&svc.db, tenant, Provider::MercadoPago)
            .await?
            .ok_or(RefreshError::NotConnected)?;
        return open(&row.access_token);
    }
    metrics::counter!("cobro_mp_token_refreshes_total", "outcome" => "refreshed").increment(1);
    tracing::info!(%tenant, "MercadoPago token refreshed");
    Ok(grant.access_token)
}

/// Whether the refresh asked for was made while this caller waited for the lock.
fn already_done(
    svc: &Connector,
    row: &entity::tenant_account::Model,
    current_access: &str,
    reason: Reason<'_>,
) -> bool {
    match reason {
        Reason::Refused { stale_access_token } => current_access != stale_access_token,
        Reason::Expiring => {
            let window =
                chrono::Duration::from_std(svc.config.mp_token_refresh_before).unwrap_or_default();
            row.token_expires_at
                .is_some_and(|expires| expires > Utc::now() + window)
        }
    }
}

async fn refused(svc: &Connector, tenant: TenantId, why: String) -> RefreshError {
    metrics::counter!("cobro_mp_token_refreshes_total", "outcome" => "refused").increment(1);
    let message = format!("MercadoPago refused to refresh the seller's token ({why}): {RECONNECT}");
    tracing::warn!(%tenant, reason = %why, "token refresh refused; the tenant must reconnect");
    let marked = connections::mark(
        &svc.db,
        tenant,
        MpConnection::RefreshFailed,
        Some(message.clone()),
    )
    .await;
    svc.directory.forget_all();
    match marked {
        Ok(()) => RefreshError::Refused(message),
        Err(err) => RefreshError::Db(err.to_string()),
    }
}

/// An `mp-connect` notice: the seller revoked (`authorized: false`) or granted the application.
/// Stored as a handled event and applied to the tenant in one transaction.
pub async fn record_notice(
    svc: &Connector,
    event: &NewEvent,
    authorized: bool,
) -> Result<Stored, DbErr> {
    let (connection, why) = match authorized {
        true => (MpConnection::Connected, None),
        false => (
            MpConnection::Disconnected,
            Some(format!(
                "the seller disconnected the application in MercadoPago: {RECONNECT}"
            )),
        ),
    };
    let stored = {
        let _turn = svc.gate.enter().await;
        connections::record_notice(&svc.db, event, connection, why).await?
    };
    svc.directory.forget_all();
    if matches!(stored, Stored::Accepted(_)) {
        metrics::counter!("cobro_mp_connections_total", "outcome" => connection.as_str())
            .increment(1);
        tracing::info!(tenant = %event.tenant_id, state = connection.as_str(), "mp-connect notice applied");
    }
    Ok(stored)
}
