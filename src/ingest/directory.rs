//! The tenant lookup of the ack path, cached: a webhook names its tenant by MP `user_id`, and
//! reading the tenant row for every webhook would put a query in front of every insert. Entries
//! (including "no such tenant") live [`TTL`]; the admin API forgets them on any tenant change, so
//! this process is never stale and another instance (or `cobro tenant add`) is at most `TTL` late.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use entity::tenant;
use sea_orm::{DatabaseConnection, DbErr};

use crate::store::tenants;

pub const TTL: Duration = Duration::from_secs(5);

struct Entry {
    tenant: Option<Arc<tenant::Model>>,
    fetched: Instant,
}

pub struct TenantDirectory {
    db: DatabaseConnection,
    entries: DashMap<String, Entry>,
}

impl TenantDirectory {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            entries: DashMap::new(),
        }
    }

    pub async fn find(&self, mp_user_id: &str) -> Result<Option<Arc<tenant::Model>>, DbErr> {
        if let Some(entry) = self.entries.get(mp_user_id)
            && entry.fetched.elapsed() < TTL
        {
            return Ok(entry.tenant.clone());
        }
        let tenant = tenants::find_by_mp_user(&self.db, mp_user_id)
            .await?
            .map(Arc::new);
        self.entries.insert(
            mp_user_id.to_owned(),
            Entry {
                tenant: tenant.clone(),
                fetched: Instant::now(),
            },
        );
        Ok(tenant)
    }

    /// Called after any tenant is created, changed or deleted.
    pub fn forget_all(&self) {
        self.entries.clear();
    }
}
