//! What crosses between nodes, over PostgreSQL's `LISTEN/NOTIFY` (no other server):
//!
//! - `cobro_work`: "tenant:event" ids of work accepted on a node that does not own the tenant;
//!   the owner's actor then pulls the tenant's pending events. Ids only; the database holds the
//!   rest. A lost notification only delays: the coordinator's poll finds the event anyway.
//! - `cobro_status`: every `webhookEventUpdated` / `paymentStatusUpdated`, for the WebSocket
//!   clients of the other nodes ([`ClusterPublisher`], behind the `StatusPublisher` door).
//! - `cobro_nodes`: a node joined or left; the coordinators rebalance at once.
//!
//! Senders batch what waits into one `pg_notify` (payloads stay under PostgreSQL's 8,000 bytes).
//! [`listen`] receives all three and hands them to the supervisor, the local hub, the coordinator.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix::Addr;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::domain::{EventId, TenantId};
use crate::publish::{StatusPublisher, StatusUpdate};
use crate::store::cluster as store;
use crate::tenant::TenantSupervisor;
use crate::tenant::supervisor::{AnnounceWork, Announced};

pub const WORK: &str = "cobro_work";
pub const STATUS: &str = "cobro_status";
pub const NODES: &str = "cobro_nodes";

/// Keeps a payload under PostgreSQL's limit of 8,000 bytes.
const MAX_PAYLOAD: usize = 7_000;

/// Announces work for tenants owned elsewhere. Cheap to clone; never blocks.
#[derive(Clone)]
pub struct WorkAnnouncer {
    queue: mpsc::UnboundedSender<String>,
}

impl WorkAnnouncer {
    /// Starts the sending task; must run inside a tokio runtime.
    pub fn start(pool: PgPool) -> Self {
        let (queue, items) = mpsc::unbounded_channel();
        tokio::spawn(send_batches(pool, WORK, ',', items));
        Self { queue }
    }
}

impl AnnounceWork for WorkAnnouncer {
    fn announce(&self, tenant: TenantId, event: EventId) {
        let _ = self.queue.send(format!("{tenant}:{event}"));
    }
}

/// Forwards status updates to the other nodes' WebSocket clients (only while there are others).
pub struct ClusterPublisher {
    node: Arc<str>,
    live_nodes: Arc<AtomicUsize>,
    queue: mpsc::UnboundedSender<String>,
}

/// One update on `cobro_status`.
#[derive(Serialize, Deserialize)]
struct Relayed {
    from: String,
    tenant: TenantId,
    event: String,
    data: Value,
}

impl ClusterPublisher {
    pub fn start(pool: PgPool, node: Arc<str>, live_nodes: Arc<AtomicUsize>) -> Self {
        let (queue, items) = mpsc::unbounded_channel();
        tokio::spawn(send_batches(pool, STATUS, '\n', items));
        Self {
            node,
            live_nodes,
            queue,
        }
    }
}

impl StatusPublisher for ClusterPublisher {
    fn publish(&self, tenant: TenantId, update: StatusUpdate) {
        if self.live_nodes.load(Ordering::Relaxed) < 2 {
            return;
        }
        let relayed = Relayed {
            from: self.node.to_string(),
            tenant,
            event: update.name().to_owned(),
            data: update.data(),
        };
        match serde_json::to_string(&relayed) {
            Ok(line) if line.len() <= MAX_PAYLOAD => {
                let _ = self.queue.send(line);
            }
            Ok(_) => tracing::warn!(%tenant, "status update too large to relay to other nodes"),
            Err(err) => tracing::warn!(error = %err, "status update not relayed"),
        }
    }
}

/// Joins whatever is waiting with `separator` into payloads under the limit, one `pg_notify` each.
async fn send_batches(
    pool: PgPool,
    channel: &'static str,
    separator: char,
    mut items: mpsc::UnboundedReceiver<String>,
) {
    while let Some(first) = items.recv().await {
        let mut payload = first;
        let mut carry = None;
        while let Ok(next) = items.try_recv() {
            if payload.len() + next.len() + 1 > MAX_PAYLOAD {
                carry = Some(next);
                break;
            }
            payload.push(separator);
            payload.push_str(&next);
        }
        send(&pool, channel, &payload).await;
        if let Some(next) = carry {
            send(&pool, channel, &next).await;
        }
    }
}

async fn send(pool: &PgPool, channel: &str, payload: &str) {
    if let Err(err) = store::notify(pool, channel, payload).await {
        // The poll (work) finds it anyway; a dashboard of another node misses one live update.
        tracing::warn!(channel, error = %err, "notification not sent");
    }
}

/// Where received notifications go.
pub struct Receivers {
    pub node: Arc<str>,
    pub supervisor: Addr<TenantSupervisor>,
    /// This node's WebSocket hub (only: what comes from elsewhere is not relayed again).
    pub hub: Arc<dyn StatusPublisher>,
    pub coordinator: mpsc::Sender<()>,
}

/// Listens on the three channels until the process ends. sqlx reconnects by itself; what was
/// sent while it did is lost, which the poll covers.
pub async fn listen(url: String, to: Receivers) {
    loop {
        let mut listener = match PgListener::connect(&url).await {
            Ok(listener) => {
                crate::store::db::connection_opened("cluster");
                listener
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for cluster notifications; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(err) = listener.listen_all([WORK, STATUS, NODES]).await {
            tracing::warn!(error = %err, "LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        loop {
            match listener.recv().await {
                Ok(note) => dispatch(&to, note.channel(), note.payload()),
                Err(err) => {
                    tracing::warn!(error = %err, "cluster notifications interrupted; reconnecting");
                    let _ = to.coordinator.try_send(());
                    break;
                }
            }
        }
    }
}

fn dispatch(to: &Receivers, channel: &str, payload: &str) {
    match channel {
        WORK => payload
            .split(',')
            .filter_map(parse_work)
            .for_each(|(tenant, event_id)| to.supervisor.do_send(Announced { tenant, event_id })),
        STATUS => payload.lines().for_each(|line| relay_locally(to, line)),
        NODES => {
            let _ = to.coordinator.try_send(());
        }
        _ => {}
    }
}

fn parse_work(item: &str) -> Option<(TenantId, EventId)> {
    let (tenant, event) = item.split_once(':')?;
    Some((
        TenantId(Uuid::parse_str(tenant).ok()?),
        EventId(Uuid::parse_str(event).ok()?),
    ))
}

fn relay_locally(to: &Receivers, line: &str) {
    let Ok(relayed) = serde_json::from_str::<Relayed>(line) else {
        tracing::warn!("unreadable status notification ignored");
        return;
    };
    if *relayed.from == *to.node {
        return;
    }
    match StatusUpdate::from_wire(&relayed.event, relayed.data) {
        Some(update) => to.hub.publish(relayed.tenant, update),
        None => tracing::warn!(event = %relayed.event, "unknown status notification ignored"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_items_are_tenant_and_event_ids() {
        let (t, e) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(
            parse_work(&format!("{t}:{e}")),
            Some((TenantId(t), EventId(e)))
        );
        assert_eq!(parse_work("garbage"), None);
        assert_eq!(parse_work(&format!("{t}:nope")), None);
    }
}
