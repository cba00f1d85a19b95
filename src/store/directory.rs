//! Tenant lookups of the ack path and the pipeline, cached: a webhook names its tenant by the
//! seller's provider account (MP `user_id`), and reading the tenant for every webhook would put
//! queries in front of every insert (and more in every processing attempt). Entries, including
//! "no such tenant", live [`TTL`]; the admin API forgets them on any tenant change, so this
//! process is never stale and another instance (or `cobro tenant add`) is at most `TTL` late.
//! Secrets are opened here (`secrets::SecretBox`), so the [`Tenant`]s it answers carry them as
//! they were given.

use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use sea_orm::{DatabaseConnection, DbErr};

use super::accounts::{self, StoredTenant};
use crate::domain::{Account, GhlSettings, MpConnection, Provider, Tenant, TenantId};
use crate::secrets::{SecretBox, SecretError};

pub const TTL: Duration = Duration::from_secs(5);
/// How often expired entries are dropped: an entry outlives its TTL by at most this.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

type Found = Option<Arc<Tenant>>;

struct Entry<T> {
    value: T,
    fetched: Instant,
}

/// One copy of each tenant, found by id or by seller account: with 10,000 live tenants, a copy
/// per map was 2 KB a tenant held twice (issue 23, `bench/run.sh tenants`).
pub struct TenantDirectory {
    db: DatabaseConnection,
    secrets: SecretBox,
    /// Tenants with their secrets opened; `None`: no such tenant.
    by_id: DashMap<TenantId, Entry<Found>>,
    /// Seller account (provider, account id) → tenant id; `None`: no tenant has that account.
    by_account: DashMap<(Provider, String), Entry<Option<TenantId>>>,
}

impl TenantDirectory {
    pub fn new(db: DatabaseConnection, secrets: SecretBox) -> Self {
        Self {
            db,
            secrets,
            by_id: DashMap::new(),
            by_account: DashMap::new(),
        }
    }

    /// The tenant whose account at `provider` a webhook names (ingest).
    pub async fn find(&self, provider: Provider, account_id: &str) -> Result<Found, DbErr> {
        let key = (provider, account_id.to_owned());
        match fresh(&self.by_account, &key) {
            Some(None) => return Ok(None),
            Some(Some(id)) => {
                if let Some(found) = fresh(&self.by_id, &id) {
                    return Ok(found);
                }
            }
            None => {}
        }
        let found = match accounts::holder(&self.db, provider, account_id).await? {
            Some(id) => self.opened(accounts::get(&self.db, id).await?)?,
            None => None,
        };
        let id = found.as_ref().map(|t| t.id);
        remember(&self.by_account, key, id);
        if let Some(id) = id {
            remember(&self.by_id, id, found.clone());
        }
        Ok(found)
    }

    /// A tenant by id (the pipeline, once per attempt).
    pub async fn get(&self, id: TenantId) -> Result<Found, DbErr> {
        if let Some(found) = fresh(&self.by_id, &id) {
            return Ok(found);
        }
        let found = self.opened(accounts::get(&self.db, id).await?)?;
        for account in found.iter().flat_map(|t| &t.accounts) {
            if let Some(account_id) = &account.account_id {
                remember(
                    &self.by_account,
                    (account.provider, account_id.clone()),
                    Some(id),
                );
            }
        }
        remember(&self.by_id, id, found.clone());
        Ok(found)
    }

    /// Drops the entries past their TTL every [`SWEEP_EVERY`], in a task that ends with the
    /// directory. Driven by a clock rather than by lookups: after a burst over 10,000 tenants the
    /// lookups stop, and the expired entries (each tenant with its secrets opened) would stay
    /// until the next burst.
    pub fn sweep_in_background(directory: &Arc<Self>) {
        let directory = Arc::downgrade(directory);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(SWEEP_EVERY);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(directory) = directory.upgrade() else {
                    return;
                };
                directory.sweep();
            }
        });
    }

    /// Drops the entries past their TTL (they are never answered again) and gives back the room
    /// they took: a map keeps its largest size otherwise.
    fn sweep(&self) {
        sweep(&self.by_id);
        sweep(&self.by_account);
    }

    /// The tenant with its secrets opened. Start-up checked that the key opens every stored one,
    /// so a failure here is a value damaged since: the attempt fails as a database error would.
    fn opened(&self, stored: Option<StoredTenant>) -> Result<Found, DbErr> {
        let Some(stored) = stored else {
            return Ok(None);
        };
        opened(&self.secrets, stored)
            .map(|tenant| Some(Arc::new(tenant)))
            .map_err(|e| DbErr::Custom(e.to_string()))
    }

    /// Called after any tenant is created, changed or deleted.
    pub fn forget_all(&self) {
        self.by_account.clear();
        self.by_id.clear();
    }
}

fn fresh<K, Q, T: Clone>(map: &DashMap<K, Entry<T>>, key: &Q) -> Option<T>
where
    K: Eq + Hash + std::borrow::Borrow<Q>,
    Q: Eq + Hash + ?Sized,
{
    map.get(key)
        .filter(|e| e.fetched.elapsed() < TTL)
        .map(|e| e.value.clone())
}

/// Shrinks only a map mostly empty (after a burst): under a steady load the map keeps its room
/// rather than being rehashed every second under its lookups' feet.
fn sweep<K: Eq + Hash, T>(map: &DashMap<K, Entry<T>>) {
    map.retain(|_, entry| entry.fetched.elapsed() < TTL);
    if map.len() < map.capacity() / 4 {
        map.shrink_to_fit();
    }
}

fn remember<K: Eq + Hash, T>(map: &DashMap<K, Entry<T>>, key: K, value: T) {
    let fetched = Instant::now();
    map.insert(key, Entry { value, fetched });
}

/// The core's [`Tenant`] from its rows, secrets opened.
fn opened(secrets: &SecretBox, stored: StoredTenant) -> Result<Tenant, SecretError> {
    let StoredTenant { tenant, accounts } = stored;
    let ghl = match (tenant.ghl_api_key, tenant.ghl_location_id, tenant.ghl_tag) {
        (Some(key), Some(location_id), Some(tag)) => Some(GhlSettings {
            api_key: secrets.open(&key)?,
            location_id,
            tag,
        }),
        _ => None,
    };
    let accounts = accounts
        .into_iter()
        .filter_map(|row| Some((accounts::known(&row)?, row)))
        .map(|(provider, row)| {
            Ok(Account {
                provider,
                account_id: row.account_id,
                access_token: secrets.open(&row.access_token)?,
                refresh_token: secrets.open_optional(row.refresh_token.as_deref())?,
                webhook_secret: secrets.open_optional(row.webhook_secret.as_deref())?,
                connection: MpConnection::parse(&row.connection),
                token_expires_at: row.token_expires_at,
                last_error: row.last_error,
                connected_at: row.connected_at,
            })
        })
        .collect::<Result<_, SecretError>>()?;
    Ok(Tenant {
        id: TenantId(tenant.id),
        name: tenant.name,
        allow_unsigned: tenant.allow_unsigned,
        ghl,
        accounts,
    })
}
