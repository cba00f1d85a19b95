//! The coordinator: one task per node that keeps the node's membership and leases (SPEC §13).
//! Every tick it heartbeats on its own database session, works out from the live nodes which
//! tenants are this node's (rendezvous hashing), gives back those that belong elsewhere (after
//! their attempt in flight), takes those that are free or whose owner is dead, drops those it
//! lost, and now and then polls for pending events no notification announced. It talks to the
//! supervisor only through its messages.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix::Addr;
use dashmap::{DashMap, DashSet};
use sqlx::Connection;
use sqlx::postgres::{PgConnection, PgPool};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};
use uuid::Uuid;

use super::rendezvous;
use crate::domain::TenantId;
use crate::lease::{Fence, LeaseClock};
use crate::store::cluster as store;
use crate::tenant::TenantSupervisor;
use crate::tenant::supervisor::{Acquired, LeaseLost, Poke, Release};

/// Nodes dead this long are forgotten (until then `GET /api/cluster` lists them as dead).
const FORGET_DEAD_AFTER: Duration = Duration::from_secs(3600);

pub struct Coordinator {
    pub pool: PgPool,
    pub url: String,
    pub node: Arc<str>,
    pub address: String,
    pub lease: Duration,
    pub poll: Duration,
    pub clock: LeaseClock,
    pub held: Arc<DashMap<TenantId, Fence>>,
    pub live_nodes: Arc<AtomicUsize>,
    pub supervisor: Addr<TenantSupervisor>,
    /// Tenants being handed over (waiting for their attempt in flight).
    pub releasing: Arc<DashSet<TenantId>>,
}

impl Coordinator {
    fn tick(&self) -> Duration {
        super::heartbeat_interval(self.lease)
    }

    fn liveness(&self) -> store::Liveness {
        super::liveness(self.lease)
    }

    pub async fn run(self, mut wake: mpsc::Receiver<()>, mut stop: watch::Receiver<bool>) {
        let mut session: Option<PgConnection> = None;
        let (mut last_poll, mut last_forget) = (Instant::now(), Instant::now());
        while !*stop.borrow() {
            self.beat(&mut session).await;
            if self.clock.remaining().is_some() {
                if let Err(err) = self.rebalance().await {
                    warn!(error = %err, "cluster rebalance failed; next tick retries");
                }
                if last_poll.elapsed() >= self.poll {
                    last_poll = Instant::now();
                    self.poll_pending().await;
                }
                if last_forget.elapsed() >= FORGET_DEAD_AFTER / 60 {
                    last_forget = Instant::now();
                    let _ = store::forget_dead_nodes(&self.pool, FORGET_DEAD_AFTER).await;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.tick()) => {}
                _ = wake.recv() => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Heartbeats on the node's own session (registering first when there is none). A node
    /// whose clock ran out drops every tenant before anything else happens.
    async fn beat(&self, session: &mut Option<PgConnection>) {
        if self.clock.remaining().is_none() {
            self.drop_all("the lease clock ran out (database unreachable, or the node was paused)");
        }
        let sent = Instant::now();
        match self.heartbeat(session).await {
            Ok(()) => {
                if self.clock.renew(sent, self.lease) {
                    self.drop_all("a new lease epoch began");
                }
            }
            Err(err) => {
                // The others may see this node dead as soon as its session is gone (after the
                // crash grace): stop calling out at once; the tenants are re-taken later.
                warn!(error = %err, "cluster heartbeat failed; holding nothing until it works again");
                self.clock.expire();
                *session = None;
            }
        }
    }

    async fn heartbeat(&self, session: &mut Option<PgConnection>) -> Result<(), sqlx::Error> {
        if session.is_none() {
            let mut fresh = PgConnection::connect(&self.url).await?;
            crate::store::db::connection_opened("cluster");
            store::register(&mut fresh, &self.node, &self.address).await?;
            info!(node = %self.node, address = %self.address, "joined the cluster");
            store::notify(&self.pool, super::notify::NODES, &self.node).await?;
            *session = Some(fresh);
        }
        let Some(conn) = session.as_mut() else {
            return Ok(());
        };
        if !store::heartbeat(conn, &self.node).await? {
            warn!(node = %self.node, "this node's row was taken or removed; registering again");
            store::register(conn, &self.node, &self.address).await?;
        }
        Ok(())
    }

    fn drop_all(&self, reason: &str) {
        let tenants: Vec<(TenantId, i64)> = self
            .held
            .iter()
            .map(|e| (*e.key(), e.value().token))
            .collect();
        if tenants.is_empty() {
            return;
        }
        warn!(tenants = tenants.len(), reason, "dropping every tenant");
        for (tenant, token) in tenants {
            info!(%tenant, reason, "ownership: lost");
            self.held.remove(&tenant);
            self.supervisor.do_send(LeaseLost(tenant, token));
        }
    }

    async fn rebalance(&self) -> Result<(), sqlx::Error> {
        let mut live = store::live_nodes(&self.pool, self.liveness()).await?;
        if !live.iter().any(|n| **n == *self.node) {
            live.push(self.node.to_string());
        }
        self.live_nodes.store(live.len(), Ordering::Relaxed);
        metrics::gauge!("cobro_cluster_nodes_alive").set(live.len() as f64);
        let tenants = store::tenant_ids(&self.pool).await?;
        let in_db: HashMap<Uuid, i64> = store::leases_of(&self.pool, &self.node)
            .await?
            .into_iter()
            .collect();
        self.drop_lost(&in_db);
        let desired: HashSet<Uuid> = tenants
            .into_iter()
            .filter(|t| rendezvous::owner(&live, *t) == Some(&*self.node))
            .collect();
        self.release_others(&desired, &in_db).await?;
        self.acquire_mine(&desired).await?;
        metrics::gauge!("cobro_cluster_tenants_owned").set(self.held.len() as f64);
        Ok(())
    }

    /// Tenants held here whose lease the database no longer gives this node (with this fence).
    fn drop_lost(&self, in_db: &HashMap<Uuid, i64>) {
        let lost: Vec<(TenantId, i64)> = self
            .held
            .iter()
            .filter(|e| in_db.get(&e.key().0) != Some(&e.value().token))
            .map(|e| (*e.key(), e.value().token))
            .collect();
        for (tenant, token) in lost {
            warn!(%tenant, "ownership: lost (the lease is held elsewhere now)");
            self.held.remove(&tenant);
            self.supervisor.do_send(LeaseLost(tenant, token));
        }
    }

    /// Hands over what belongs elsewhere: the actor drains first, then the lease is given back.
    async fn release_others(
        &self,
        desired: &HashSet<Uuid>,
        in_db: &HashMap<Uuid, i64>,
    ) -> Result<(), sqlx::Error> {
        for (&tenant, &fence) in in_db {
            let id = TenantId(tenant);
            if desired.contains(&tenant) || self.releasing.contains(&id) {
                continue;
            }
            if !self.held.contains_key(&id) {
                // Ours in the database only (e.g. an earlier life of this node id): just free it.
                store::release(&self.pool, &self.node, tenant, fence).await?;
                continue;
            }
            self.releasing.insert(id);
            let (pool, node, supervisor, releasing) = (
                self.pool.clone(),
                self.node.clone(),
                self.supervisor.clone(),
                self.releasing.clone(),
            );
            tokio::spawn(async move {
                let _ = supervisor.send(Release(id)).await;
                match store::release(&pool, &node, tenant, fence).await {
                    Ok(true) => {
                        info!(tenant = %id, reason = "rebalance", "ownership: released");
                        let _ = store::notify(&pool, super::notify::NODES, &node).await;
                    }
                    Ok(false) => {}
                    Err(err) => warn!(tenant = %id, error = %err, "could not release a lease"),
                }
                releasing.remove(&id);
            });
        }
        Ok(())
    }

    async fn acquire_mine(&self, desired: &HashSet<Uuid>) -> Result<(), sqlx::Error> {
        let wanted: Vec<Uuid> = desired
            .iter()
            .filter(|t| !self.held.contains_key(&TenantId(**t)))
            .filter(|t| !self.releasing.contains(&TenantId(**t)))
            .copied()
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        for taken in store::acquire(&self.pool, &self.node, &wanted, self.liveness()).await? {
            let reason = match taken.previous_owner.as_deref() {
                None => "free (new tenant, or released by its owner)".to_owned(),
                Some(owner) if owner == &*self.node => "ours again after a lapse".to_owned(),
                Some(owner) => format!("owner {owner} is dead"),
            };
            let tenant = TenantId(taken.tenant);
            info!(%tenant, fence = taken.fence, %reason, "ownership: acquired");
            let fence = Fence::new(tenant, taken.fence, self.clock.clone());
            self.held.insert(tenant, fence.clone());
            self.supervisor.do_send(Acquired(fence));
        }
        Ok(())
    }

    /// The backstop of notifications: tenants of ours with events due now get a look.
    async fn poll_pending(&self) {
        let ours: Vec<Uuid> = self.held.iter().map(|e| e.key().0).collect();
        if ours.is_empty() {
            return;
        }
        match store::tenants_with_due_events(&self.pool, &ours).await {
            Ok(due) => due
                .into_iter()
                .for_each(|t| self.supervisor.do_send(Poke(TenantId(t)))),
            Err(err) => warn!(error = %err, "poll for pending events failed"),
        }
    }
}
