//! Tenant lookups of the ack path and the pipeline, cached: a webhook names its tenant by MP
//! `user_id`, and reading the tenant row for every webhook would put a query in front of every
//! insert (and another in every processing attempt). Entries, including "no such tenant", live
//! [`TTL`]; the admin API forgets them on any tenant change, so this process is never stale and
//! another instance (or `cobro tenant add`) is at most `TTL` late. Secrets are opened here
//! (`secrets::SecretBox`), so the tenants it answers carry them as they were given.

use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use entity::tenant;
use sea_orm::{DatabaseConnection, DbErr};

use super::tenants;
use crate::domain::TenantId;
use crate::secrets::SecretBox;

pub const TTL: Duration = Duration::from_secs(5);

type Found = Option<Arc<tenant::Model>>;

struct Entry {
    tenant: Found,
    fetched: Instant,
}

pub struct TenantDirectory {
    db: DatabaseConnection,
    secrets: SecretBox,
    by_mp_user: DashMap<String, Entry>,
    by_id: DashMap<TenantId, Entry>,
}

impl TenantDirectory {
    pub fn new(db: DatabaseConnection, secrets: SecretBox) -> Self {
        Self {
            db,
            secrets,
            by_mp_user: DashMap::new(),
            by_id: DashMap::new(),
        }
    }

    /// The tenant a webhook's `user_id` names (ingest).
    pub async fn find(&self, mp_user_id: &str) -> Result<Found, DbErr> {
        if let Some(found) = fresh(&self.by_mp_user, mp_user_id) {
            return Ok(found);
        }
        let found = tenants::find_by_mp_user(&self.db, mp_user_id).await?;
        let found = self.opened(found)?;
        remember(&self.by_mp_user, mp_user_id.to_owned(), &found);
        Ok(found)
    }

    /// A tenant by id (the pipeline, once per attempt).
    pub async fn get(&self, id: TenantId) -> Result<Found, DbErr> {
        if let Some(found) = fresh(&self.by_id, &id) {
            return Ok(found);
        }
        let found = self.opened(tenants::get(&self.db, id).await?)?;
        remember(&self.by_id, id, &found);
        Ok(found)
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

fn fresh<K, Q>(map: &DashMap<K, Entry>, key: &Q) -> Option<Found>
where
    K: Eq + Hash + std::borrow::Borrow<Q>,
    Q: Eq + Hash + ?Sized,
{
    map.get(key)
        .filter(|e| e.fetched.elapsed() < TTL)
        .map(|e| e.tenant.clone())
}

fn remember<K: Eq + Hash>(map: &DashMap<K, Entry>, key: K, found: &Found) {
    map.insert(
        key,
        Entry {
            tenant: found.clone(),
            fetched: Instant::now(),
        },
    );
}
