//! The writer's tasks: each takes a cycle from the queues the [`Writer`] handle fills (new
//! webhooks, pipeline writes), commits it through `cycle`, and starts over until the queues close.
//! Owns how a cycle is gathered: caps per kind, and the short wait for the tenants the previous
//! cycle answered (group commit).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, mpsc};

use super::cycle::{self, Path};
use super::{Connections, Fenced, Ingest};
use crate::store::gate::WriteGate;

/// Most new events one cycle takes (SQLite allows 32,766 bound values; an event has 19).
const MAX_EVENTS: usize = 512;
/// Most pipeline writes one cycle takes.
const MAX_WRITES: usize = 512;
/// Longest a cycle waits for the writes of the tenants the previous cycle answered.
const LINGER: Duration = Duration::from_millis(2);

/// What the writer's handles fill and its tasks empty.
pub(super) struct Queues {
    pub ingest: mpsc::Receiver<Ingest>,
    pub pipeline: mpsc::UnboundedReceiver<Fenced>,
}

/// One writer task: cycle after cycle until the queues close.
pub(super) async fn run(
    connections: Connections,
    gate: WriteGate,
    node: Option<Arc<str>>,
    queues: Arc<Mutex<Queues>>,
    redone: Arc<AtomicU64>,
) {
    let mut durability = cycle::Durability::new(connections.relaxed.clone());
    let mut answered = 0;
    while let Some(cycle) = next_cycle(&queues, answered).await {
        answered = cycle.writes.len();
        let _turn = gate.enter().await;
        let started = Instant::now();
        let path = cycle::commit(&connections, &mut durability, node.as_deref(), cycle).await;
        metrics::histogram!("cobro_write_cycle_seconds").record(started.elapsed().as_secs_f64());
        if path == Path::Redone {
            redone.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("cobro_write_cycles_redone_total").increment(1);
        }
    }
}

/// What one cycle commits.
#[derive(Default)]
pub(super) struct Cycle {
    pub events: Vec<Ingest>,
    pub writes: Vec<Fenced>,
}

/// Waits for the first write of either kind, then takes whatever else is waiting, up to the cap
/// of each kind. `None` once the writer's handles are all gone.
///
/// Group commit, as PostgreSQL's `commit_delay`: the tenants answered by the previous cycle send
/// their next write one MercadoPago call later. A cycle started at once would hold none of them,
/// so each tenant would get into every other cycle only; when fewer writes wait than the previous
/// cycle answered (`expected`), the cycle waits up to [`LINGER`] for them. Nothing waits longer
/// than that for it, and a cycle whose writes are all there starts at once.
async fn next_cycle(queues: &Mutex<Queues>, expected: usize) -> Option<Cycle> {
    let mut guard = queues.lock().await;
    let queues = &mut *guard;
    let mut cycle = Cycle::default();
    tokio::select! {
        event = queues.ingest.recv() => cycle.events.push(event?),
        write = queues.pipeline.recv() => cycle.writes.push(write?),
    }
    take_waiting(&mut queues.pipeline, &mut cycle.writes);
    let deadline = tokio::time::Instant::now() + LINGER;
    while cycle.writes.len() < expected.min(MAX_WRITES) {
        match tokio::time::timeout_at(deadline, queues.pipeline.recv()).await {
            Ok(Some(write)) => cycle.writes.push(write),
            Ok(None) | Err(_) => break,
        }
        take_waiting(&mut queues.pipeline, &mut cycle.writes);
    }
    while cycle.events.len() < MAX_EVENTS {
        match queues.ingest.try_recv() {
            Ok(event) => cycle.events.push(event),
            Err(_) => break,
        }
    }
    metrics::histogram!("cobro_write_cycle_events").record(cycle.events.len() as f64);
    metrics::histogram!("cobro_write_cycle_writes").record(cycle.writes.len() as f64);
    Some(cycle)
}

/// Moves the pipeline writes already waiting into the cycle, up to its cap.
fn take_waiting(queue: &mut mpsc::UnboundedReceiver<Fenced>, writes: &mut Vec<Fenced>) {
    while writes.len() < MAX_WRITES {
        match queue.try_recv() {
            Ok(write) => writes.push(write),
            Err(_) => break,
        }
    }
}
