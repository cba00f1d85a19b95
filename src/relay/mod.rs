//! The relay: sends the outbox's messages to the platform's endpoints (SPEC §21). One task per
//! node looks for the due head of every (endpoint, tenant) pair ([`messages::due_heads`]) when
//! the writer commits messages (it wakes the relay) and every poll interval (retries falling due,
//! pairs whose tenant this node took over); each pair found is sent by a task of its own
//! ([`pair`]), one message at a time in commit order, at most `concurrency` pairs at once.
//!
//! Each attempt is recorded by the writer, in its next pipeline cycle with the tenants' writes
//! (on SQLite the one writer: a transaction of the relay's own per message was a fsync each and
//! held the write lock against acknowledgements, see docs/BENCHMARKS.md).
//!
//! In a cluster a pair is sent by the node that holds its tenant's lease (SPEC §13): the send runs
//! under the lease's clock and its record under its fence, so a node that lost the tenant stops,
//! and the new owner finds the pair's messages still pending and goes on. A message sent just
//! before a lease was lost may be sent again by the new owner: receivers deduplicate by
//! `webhook-id` (at least once, never out of order within a pair).

pub mod address;
mod pair;
pub mod send;

use std::sync::Arc;
use std::time::Duration;

use dashmap::{DashMap, DashSet};
use sea_orm::DatabaseConnection;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::config::OutboundConfig;
use crate::domain::TenantId;
use crate::lease::Fence;
use crate::secrets::SecretBox;
use crate::store::outbound::{messages, outbox};
use crate::writer::Writer;
use send::Sender;

/// Heads looked at per look.
const HEADS_PER_LOOK: u64 = 512;
/// A woken relay looks at most this often (under load, one look covers many commits).
const LOOK_GAP: Duration = Duration::from_millis(5);

/// This node's name and the leases it holds (a cluster node).
pub struct ClusterSeat {
    pub node: Arc<str>,
    pub held: Arc<DashMap<TenantId, Fence>>,
}

/// An (endpoint, tenant) pair: the unit of order.
pub type Pair = (Uuid, Option<Uuid>);

/// What every pair task shares.
pub(crate) struct Shared {
    pub db: DatabaseConnection,
    /// Records each attempt in a pipeline cycle (SQLite's one writer; fenced in a cluster).
    pub writer: Writer,
    pub sender: Sender,
    pub sealer: SecretBox,
    pub config: OutboundConfig,
    /// `None` on a single node.
    pub cluster: Option<ClusterSeat>,
    /// Pairs being sent now on this node.
    pub busy: DashSet<Pair>,
}

impl Shared {
    /// The lease this node may send a tenant's messages under: `Ok(None)` on a single node,
    /// `Err` when another node holds it. Platform notices (no tenant) are sent by any node.
    pub fn fence_of(&self, tenant: Option<Uuid>) -> Result<Option<(Arc<str>, Fence)>, ()> {
        let (Some(seat), Some(tenant)) = (&self.cluster, tenant) else {
            return Ok(None);
        };
        match seat.held.get(&TenantId(tenant)) {
            Some(fence) => Ok(Some((seat.node.clone(), fence.clone()))),
            None => Err(()),
        }
    }
}

/// Starts the relay on the current runtime; it runs until the runtime ends.
pub fn start(
    db: DatabaseConnection,
    writer: Writer,
    sealer: SecretBox,
    config: OutboundConfig,
    cluster: Option<ClusterSeat>,
) -> reqwest::Result<()> {
    let shared = Arc::new(Shared {
        db,
        writer,
        sender: Sender::new(&config)?,
        sealer,
        cluster,
        busy: DashSet::new(),
        config,
    });
    tokio::spawn(run(shared));
    Ok(())
}

async fn run(shared: Arc<Shared>) {
    let permits = Arc::new(Semaphore::new(shared.config.concurrency));
    let mut looks: u64 = 0;
    loop {
        // Armed before looking, so a commit made during the look wakes the next one.
        let woken = outbox::committed();
        tokio::pin!(woken);
        woken.as_mut().enable();
        look(&shared, &permits).await;
        looks += 1;
        if looks % 64 == 1 {
            gauge_queue(&shared.db).await;
        }
        tokio::select! {
            _ = woken => tokio::time::sleep(LOOK_GAP).await,
            _ = tokio::time::sleep(shared.config.poll_interval) => {}
        }
    }
}

/// Starts a task for every due pair that is not being sent and that this node may send.
async fn look(shared: &Arc<Shared>, permits: &Arc<Semaphore>) {
    let heads = match messages::due_heads(&shared.db, chrono::Utc::now(), HEADS_PER_LOOK).await {
        Ok(heads) => heads,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the outbound messages due");
            return;
        }
    };
    for head in heads {
        let pair: Pair = (head.endpoint_id, head.tenant_id);
        if shared.busy.contains(&pair) || shared.fence_of(head.tenant_id).is_err() {
            continue;
        }
        // Every place taken: the pairs left are found again by the next look.
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            return;
        };
        shared.busy.insert(pair);
        let shared = shared.clone();
        tokio::spawn(async move {
            pair::send_pair(&shared, pair).await;
            shared.busy.remove(&pair);
            drop(permit);
        });
    }
}

async fn gauge_queue(db: &DatabaseConnection) {
    if let Ok(depth) = messages::pending_count(db).await {
        metrics::gauge!("cobro_outbound_queue_depth").set(depth as f64);
    }
}
