//! Tenant lookups of the ack path and the pipeline, cached: a webhook names its tenant by MP
//! `user_id`, and reading the tenant row for every webhook would put a query in front of every
//! insert (and another in every processing attempt). Entries, including "no such tenant", live
//! [`TTL`]; the admin API forgets them on any tenant change, so this process is never stale and
//! another instance (or `cobro tenant add`) is at most `TTL` late. Secrets are opened here
//! (`secrets::SecretBox`), so the tenants it answers carry them as they were given.

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use entity::tenant;
use sea_orm::{DatabaseConnection, DbErr};

use super::tenants;
use crate::domain::TenantId;
use crate::secrets::SecretBox;

pub const TTL: Duration = Duration::from_secs(5);

type Found = Option<Arc<tenant::Model>>;

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
    /// Seller account (MP `user_id`) → tenant id; `None`: no tenant has that account.
    by_mp_user: DashMap<String, Entry<Option<TenantId>>>,
    /// When entries past their TTL were last dropped (milliseconds after `born`).
    swept_ms: AtomicU64,
    born: Instant,
}

impl TenantDirectory {
    pub fn new(db: DatabaseConnection, secrets: SecretBox) -> Self {
        Self {
            db,
            secrets,
            by_id: DashMap::new(),
            by_mp_user: DashMap::new(),
            swept_ms: AtomicU64::new(0),
            born: Instant::now(),
        }
    }

    /// The tenant a webhook's `user_id` names (ingest).
    pub async fn find(&self, mp_user_id: &str) -> Result<Found, DbErr> {
        match fresh(&self.by_mp_user, mp_user_id) {
            Some(None) => return Ok(None),
            Some(Some(id)) => {
                if let Some(found) = fresh(&self.by_id, &id) {
                    return Ok(found);
                }
            }
            None => {}
        }
        let found = tenants::find_by_mp_user(&self.db, mp_user_id).await?;
        let found = self.opened(found)?;
        let id = found.as_ref().map(|t| TenantId(t.id));
        remember(&self.by_mp_user, mp_user_id.to_owned(), id);
        if let Some(id) = id {
            remember(&self.by_id, id, found.clone());
        }
        self.sweep_now_and_then();
        Ok(found)
    }

    /// A tenant by id (the pipeline, once per attempt).
    pub async fn get(&self, id: TenantId) -> Result<Found, DbErr> {
        if let Some(found) = fresh(&self.by_id, &id) {
            return Ok(found);
        }
        let found = self.opened(tenants::get(&self.db, id).await?)?;
        if let Some(tenant) = &found {
            remember(&self.by_mp_user, tenant.mp_user_id.clone(), Some(id));
        }
        remember(&self.by_id, id, found.clone());
        self.sweep_now_and_then();
        Ok(found)
    }

    /// Drops the entries past their TTL, at most once a TTL: they are never answered again, and
    /// kept they would hold every tenant ever looked up.
    fn sweep_now_and_then(&self) {
        let now = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.swept_ms.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= TTL.as_millis() as u64;
        if !due
            || self
                .swept_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.by_id.retain(|_, entry| entry.fetched.elapsed() < TTL);
        self.by_mp_user
            .retain(|_, entry| entry.fetched.elapsed() < TTL);
    }

    /// The row with its secrets opened. Start-up checked that the key opens every stored one,
    /// so a failure here is a value damaged since: the attempt fails as a database error would.
    fn opened(&self, row: Option<tenant::Model>) -> Result<Found, DbErr> {
        let Some(mut row) = row else {
            return Ok(None);
        };
        let refuse = |e: crate::secrets::SecretError| DbErr::Custom(e.to_string());
        row.mp_access_token = self.secrets.open(&row.mp_access_token).map_err(refuse)?;
        row.mp_webhook_secret = self
            .secrets
            .open_optional(row.mp_webhook_secret.as_deref())
            .map_err(refuse)?;
        row.ghl_api_key = self
            .secrets
            .open_optional(row.ghl_api_key.as_deref())
            .map_err(refuse)?;
        row.mp_refresh_token = self
            .secrets
            .open_optional(row.mp_refresh_token.as_deref())
            .map_err(refuse)?;
        Ok(Some(Arc::new(row)))
    }

    /// Called after any tenant is created, changed or deleted.
    pub fn forget_all(&self) {
        self.by_mp_user.clear();
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

fn remember<K: Eq + Hash, T>(map: &DashMap<K, Entry<T>>, key: K, value: T) {
    let fetched = Instant::now();
    map.insert(key, Entry { value, fetched });
}
