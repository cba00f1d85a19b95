//! Several nodes on one PostgreSQL behaving as one system (SPEC §13), with the database as the
//! only coordinator. Each node registers and heartbeats ([`coordinator`]); tenants are spread over
//! the live nodes by rendezvous hashing ([`rendezvous`]) and held by leases with fences
//! (`crate::lease`) that every result write checks; work and status updates cross between nodes by
//! `LISTEN/NOTIFY` ([`notify`]), with polling as the backstop; the actors' pulls of their
//! tenants' pending events are read together (`store::pending_reads`).
//!
//! `app::start` builds a [`Cluster`] on PostgreSQL (a single PostgreSQL node is a cluster of one)
//! and none on SQLite, which stays single-node ([`SqliteLock`]).

pub mod coordinator;
pub mod notify;
pub mod rendezvous;
mod sqlite_lock;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix::Addr;
use dashmap::{DashMap, DashSet};
use sea_orm::DatabaseConnection;
use sqlx::postgres::PgPool;
use tokio::sync::{Mutex, mpsc, watch};
use tokio::task::JoinHandle;

use crate::lease::{Fence, LeaseClock};
pub use sqlite_lock::{SqliteLock, SqliteLockError};

use crate::config::Config;
use crate::domain::TenantId;
use crate::publish::StatusPublisher;
use crate::store::cluster::{self as store, NodeRow};
use crate::tenant::TenantSupervisor;
use crate::tenant::supervisor::Ownership;
use coordinator::Coordinator;
use notify::{ClusterPublisher, Receivers, WorkAnnouncer};

/// How often a node heartbeats (and rebalances): a quarter of the lease, at most a second.
pub fn heartbeat_interval(lease: Duration) -> Duration {
    (lease / 4).min(Duration::from_secs(1))
}

/// A node is dead once its heartbeat is older than the lease, or once its session is gone and
/// its heartbeat is older than two heartbeat intervals: by then a live node whose session broke
/// has failed a heartbeat and stopped calling out.
pub fn liveness(lease: Duration) -> store::Liveness {
    store::Liveness {
        lease,
        crash_grace: heartbeat_interval(lease) * 2,
    }
}

/// This node's part in the cluster.
pub struct Cluster {
    pub node: Arc<str>,
    pub held: Arc<DashMap<TenantId, Fence>>,
    live_nodes: Arc<AtomicUsize>,
    pool: PgPool,
    url: String,
    address: String,
    lease: Duration,
    poll: Duration,
    clock: LeaseClock,
    announcer: WorkAnnouncer,
    stop: watch::Sender<bool>,
    coordinator: Mutex<Option<JoinHandle<()>>>,
    listener: Mutex<Option<JoinHandle<()>>>,
}

impl Cluster {
    /// Prepares the node (nothing runs yet). Must run inside a tokio runtime.
    pub fn new(config: &Config, db: &DatabaseConnection) -> Self {
        let pool = db.get_postgres_connection_pool().clone();
        let (stop, _) = watch::channel(false);
        Self {
            node: Arc::from(config.node_id.as_str()),
            held: Arc::default(),
            live_nodes: Arc::new(AtomicUsize::new(1)),
            announcer: WorkAnnouncer::start(pool.clone()),
            pool,
            url: config.database_url.clone(),
            address: config.public_url.to_string(),
            lease: config.cluster_lease_timeout,
            poll: config.cluster_poll_interval,
            clock: LeaseClock::default(),
            stop,
            coordinator: Mutex::new(None),
            listener: Mutex::new(None),
        }
    }

    /// What the supervisor needs to run only this node's tenants.
    pub fn ownership(&self) -> Ownership {
        Ownership {
            held: self.held.clone(),
            announcer: Arc::new(self.announcer.clone()),
        }
    }

    /// The publisher that relays status updates to the other nodes.
    pub fn publisher(&self) -> Arc<dyn StatusPublisher> {
        Arc::new(ClusterPublisher::start(
            self.pool.clone(),
            self.node.clone(),
            self.live_nodes.clone(),
        ))
    }

    /// Starts the coordinator and the listener. `hub` is this node's WebSocket hub alone.
    pub async fn start(&self, supervisor: Addr<TenantSupervisor>, hub: Arc<dyn StatusPublisher>) {
        let (wake, woken) = mpsc::channel(1);
        let listener = tokio::spawn(notify::listen(
            self.url.clone(),
            Receivers {
                node: self.node.clone(),
                supervisor: supervisor.clone(),
                hub,
                coordinator: wake,
            },
        ));
        let coordinator = Coordinator {
            pool: self.pool.clone(),
            url: self.url.clone(),
            node: self.node.clone(),
            address: self.address.clone(),
            lease: self.lease,
            poll: self.poll,
            clock: self.clock.clone(),
            held: self.held.clone(),
            live_nodes: self.live_nodes.clone(),
            supervisor,
            releasing: Arc::new(DashSet::new()),
        };
        let task = tokio::spawn(coordinator.run(woken, self.stop.subscribe()));
        *self.coordinator.lock().await = Some(task);
        *self.listener.lock().await = Some(listener);
    }

    /// Stops taking part at once, as a crash would: nothing is given back, the heartbeat session
    /// closes, and the other nodes (or the next start) take the tenants over. For embeddings that
    /// stop a node without ending the process (the tests' restarts).
    pub async fn halt(&self) {
        for task in [&self.coordinator, &self.listener] {
            if let Some(task) = task.lock().await.take() {
                task.abort();
                let _ = task.await;
            }
        }
        self.held.clear();
    }

    /// SIGTERM, after the attempts in flight finished: stop coordinating, give every lease back
    /// and leave, so the other nodes take the tenants at once.
    pub async fn leave(&self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.coordinator.lock().await.take() {
            let _ = task.await;
        }
        self.held.clear();
        match store::leave(&self.pool, &self.node).await {
            Ok(released) => {
                tracing::info!(node = %self.node, released, reason = "shutdown", "left the cluster")
            }
            Err(err) => {
                tracing::warn!(error = %err, "could not leave the cluster cleanly; the others take over when the lease times out")
            }
        }
    }

    /// Every registered node (`GET /api/cluster`).
    pub async fn nodes(&self) -> Result<Vec<NodeRow>, sqlx::Error> {
        store::nodes(&self.pool, liveness(self.lease)).await
    }

    pub fn live_nodes(&self) -> usize {
        self.live_nodes.load(Ordering::Relaxed)
    }

    pub fn lease_timeout(&self) -> Duration {
        self.lease
    }
}
