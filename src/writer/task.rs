//! The writer's tasks: each takes a cycle from the queues the [`Writer`] handle fills (new
//! webhooks, pipeline writes), commits it through `cycle`, and starts over until the queues close.
//! Owns how a cycle is gathered: one kind per cycle, taking turns, caps per kind, and the short
//! wait for the tenants the previous pipeline cycle answered (group commit).
//!
//! Why one kind per cycle: a webhook is answered only after its cycle commits, so a webhook in a
//! cycle that also carries dozens of processing writes waits for all of them. Under load that was
//! most of an acknowledgement's time, and with a client's connections each waiting for its answer
//! it capped the acknowledgement rate (issue 9, overload). A cycle of webhooks alone is short and
//! commits with the durable `synchronous`; a cycle of processing writes alone may commit relaxed
//! (no fsync on SQLite). When both kinds wait, webhooks go first and processing keeps a share
//! of the writer's time (`share`), so neither can stop the other. With several tasks
//! (PostgreSQL), `lanes` caps how many process at once while webhooks come in.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, mpsc};

use super::cycle::{self, Path};
use super::lanes::Lanes;
use super::messages::{Connections, Cycle, Fenced, Ingest};
use super::share::Share;
use crate::store::gate::WriteGate;

/// Most new events one cycle takes (SQLite allows 32,766 bound values; an event has 19).
const MAX_EVENTS: usize = 512;
/// Most pipeline writes one cycle takes.
const MAX_WRITES: usize = 512;
/// Most pipeline writes a cycle takes while webhooks are coming in (a webhook cycle ran within
/// `lanes::INGEST_ACTIVE`). A webhook arriving waits for the pipeline cycle under way: under load a
/// short one, so acknowledgements stay fast; without webhooks (a drain) pipeline cycles take up
/// to [`MAX_WRITES`].
const MAX_WRITES_WHILE_INGESTING: usize = 32;
/// Longest a pipeline cycle waits for the writes of the tenants the previous one answered.
const LINGER: Duration = Duration::from_millis(2);

/// What the writer's handles fill and its tasks empty.
pub(super) struct Queues {
    pub ingest: mpsc::Receiver<Ingest>,
    pub pipeline: mpsc::UnboundedReceiver<Fenced>,
    /// A webhook that arrived while a pipeline cycle was being gathered: it ended the wait and
    /// goes first into the next webhook cycle.
    pub early: Option<Ingest>,
}

impl Queues {
    pub fn new(ingest: mpsc::Receiver<Ingest>, pipeline: mpsc::UnboundedReceiver<Fenced>) -> Self {
        Self {
            ingest,
            pipeline,
            early: None,
        }
    }
}

/// One writer task: cycle after cycle until the queues close.
pub(super) async fn run(
    connections: Connections,
    gate: WriteGate,
    node: Option<Arc<str>>,
    queues: Arc<Mutex<Queues>>,
    lanes: Arc<Lanes>,
    redone: Arc<AtomicU64>,
) {
    let mut durability = cycle::Durability::new(connections.relaxed.clone());
    let mut turns = Turns::default();
    while let Some(cycle) = next_cycle(&queues, &turns, &lanes).await {
        let kind = cycle.kind();
        let writes = cycle.writes.len();
        let _turn = gate.enter().await;
        let started = Instant::now();
        let path = cycle::commit(&connections, &mut durability, node.as_deref(), cycle).await;
        let took = started.elapsed();
        if kind == Kind::Pipeline {
            lanes.pipeline_ended();
        }
        turns.record(kind, took, writes);
        metrics::histogram!("cobro_write_cycle_seconds", "kind" => kind.label())
            .record(took.as_secs_f64());
        if path == Path::Redone {
            redone.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("cobro_write_cycles_redone_total").increment(1);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Webhooks,
    Pipeline,
}

impl Kind {
    /// The `kind` label of the cycle's metrics.
    fn label(self) -> &'static str {
        match self {
            Kind::Webhooks => "webhooks",
            Kind::Pipeline => "pipeline",
        }
    }
}

impl Cycle {
    fn kind(&self) -> Kind {
        match self.events.is_empty() {
            true => Kind::Pipeline,
            false => Kind::Webhooks,
        }
    }
}

/// A task's memory between cycles.
#[derive(Default)]
struct Turns {
    share: Share,
    /// How many pipeline writes the last pipeline cycle answered.
    answered: usize,
}

impl Turns {
    fn record(&mut self, kind: Kind, took: Duration, writes: usize) {
        match kind {
            Kind::Webhooks => self.share.webhooks_took(took),
            Kind::Pipeline => {
                self.share.pipeline_took(took);
                self.answered = writes;
            }
        }
    }
}

/// Most writes the next pipeline cycle may take: few while webhooks are coming in.
fn pipeline_cap(lanes: &Lanes) -> usize {
    match lanes.ingesting_until() {
        Some(_) => MAX_WRITES_WHILE_INGESTING,
        None => MAX_WRITES,
    }
}

enum First {
    Webhook(Ingest),
    Write(Fenced),
}

/// Waits for the first write of either kind (when both wait, the kind whose turn it is, see
/// [`Share`]; pipeline writes only while a lane is free, see [`Lanes`]), then takes whatever
/// else of that kind is waiting, up to its cap. `None` once the writer's handles are all gone.
async fn next_cycle(queues: &Mutex<Queues>, turns: &Turns, lanes: &Lanes) -> Option<Cycle> {
    let mut guard = queues.lock().await;
    let queues = &mut *guard;
    let mut cycle = Cycle::default();
    match first(queues, turns.share.pipeline_first(), lanes).await? {
        First::Webhook(event) => {
            lanes.webhooks_seen();
            cycle.events.push(event);
            take_waiting(&mut cycle.events, MAX_EVENTS, || {
                queues.ingest.try_recv().ok()
            });
            metrics::histogram!("cobro_write_cycle_events").record(cycle.events.len() as f64);
        }
        First::Write(write) => {
            lanes.pipeline_started();
            cycle.writes.push(write);
            gather_writes(
                queues,
                &mut cycle.writes,
                turns.answered,
                pipeline_cap(lanes),
            )
            .await;
            metrics::histogram!("cobro_write_cycle_writes").record(cycle.writes.len() as f64);
        }
    }
    Some(cycle)
}

/// The first write of the next cycle: what is already waiting, the kind whose turn it is first;
/// otherwise whichever comes first. While every pipeline lane is taken, webhooks only, until a
/// lane frees or webhooks stop coming.
async fn first(queues: &mut Queues, pipeline_first: bool, lanes: &Lanes) -> Option<First> {
    if let Some(event) = queues.early.take() {
        return Some(First::Webhook(event));
    }
    while !lanes.pipeline_open() {
        let until = lanes
            .ingesting_until()
            .unwrap_or_else(tokio::time::Instant::now);
        tokio::select! {
            event = queues.ingest.recv() => return event.map(First::Webhook),
            () = lanes.freed() => {}
            () = tokio::time::sleep_until(until) => {}
        }
    }
    let waiting = match pipeline_first {
        true => queues.pipeline.try_recv().ok().map(First::Write),
        false => queues.ingest.try_recv().ok().map(First::Webhook),
    };
    if waiting.is_some() {
        return waiting;
    }
    tokio::select! {
        event = queues.ingest.recv() => event.map(First::Webhook),
        write = queues.pipeline.recv() => write.map(First::Write),
    }
}

/// The pipeline writes already waiting, and, as PostgreSQL's `commit_delay`, a moment for the rest.
///
/// Group commit: the tenants answered by the previous pipeline cycle send their next write one
/// provider call later. A cycle started at once would hold none of them, so each tenant would
/// get into every other cycle only; when fewer writes wait than the previous cycle answered
/// (`expected`), the cycle waits up to [`LINGER`] for them. A webhook arriving ends the wait (it
/// is kept for the next cycle): acknowledgements do not wait for processing to gather.
async fn gather_writes(queues: &mut Queues, writes: &mut Vec<Fenced>, expected: usize, cap: usize) {
    take_waiting(writes, cap, || queues.pipeline.try_recv().ok());
    let deadline = tokio::time::Instant::now() + LINGER;
    while writes.len() < expected.min(cap) && queues.early.is_none() {
        tokio::select! {
            write = tokio::time::timeout_at(deadline, queues.pipeline.recv()) => match write {
                Ok(Some(write)) => writes.push(write),
                Ok(None) | Err(_) => break,
            },
            Some(event) = queues.ingest.recv() => queues.early = Some(event),
        }
        take_waiting(writes, cap, || queues.pipeline.try_recv().ok());
    }
}

/// Moves what `next` finds waiting into `into`, until it finds nothing or `into` holds `cap`.
fn take_waiting<T>(into: &mut Vec<T>, cap: usize, mut next: impl FnMut() -> Option<T>) {
    while into.len() < cap {
        match next() {
            Some(item) => into.push(item),
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tokio::sync::oneshot;
    use uuid::Uuid;

    use super::*;
    use crate::domain::TenantId;
    use crate::store::events::{EventResource, NewEvent};
    use crate::writer::lanes::INGEST_ACTIVE;
    use crate::writer::{Reply, Write};

    fn queues() -> (
        mpsc::Sender<Ingest>,
        mpsc::UnboundedSender<Fenced>,
        Mutex<Queues>,
    ) {
        let (ingest, ingest_queue) = mpsc::channel(1024);
        let (pipeline, pipeline_queue) = mpsc::unbounded_channel();
        (
            ingest,
            pipeline,
            Mutex::new(Queues::new(ingest_queue, pipeline_queue)),
        )
    }

    fn webhook(n: usize) -> Ingest {
        let (reply, _) = oneshot::channel();
        let event = NewEvent {
            tenant_id: TenantId(Uuid::nil()),
            provider: crate::domain::Provider::MercadoPago,
            received: None,
            resource: EventResource::payment(n.to_string()),
            notification_id: format!("n{n}"),
            request_id: None,
            webhook_type: "payment".into(),
            action: "payment.updated".into(),
            mp_payment_id: n.to_string(),
            raw_payload: json!({}),
            max_attempts: 5,
            trace_context: None,
        };
        Ingest::Webhook { event, reply }
    }

    fn write() -> Fenced {
        let (to, _) = oneshot::channel();
        Fenced {
            lease: None,
            write: Write::Release(crate::domain::EventId(Uuid::now_v7())),
            then_claim: Vec::new(),
            reply: Reply::Done(to),
        }
    }

    fn sizes(cycle: &Cycle) -> (usize, usize) {
        (cycle.events.len(), cycle.writes.len())
    }

    /// Gathers the next cycle, records it as having taken `took_ms`, answers (webhooks, writes).
    async fn cycle_taking(
        queues: &Mutex<Queues>,
        turns: &mut Turns,
        lanes: &Lanes,
        took_ms: u64,
    ) -> (usize, usize) {
        let cycle = next_cycle(queues, turns, lanes).await.expect("a cycle");
        if cycle.kind() == Kind::Pipeline {
            lanes.pipeline_ended();
        }
        turns.record(
            cycle.kind(),
            Duration::from_millis(took_ms),
            cycle.writes.len(),
        );
        sizes(&cycle)
    }

    /// A webhook never shares its cycle with processing writes, goes before them when both wait,
    /// and processing cycles are short while webhooks keep coming. (Paused time: the clock moves
    /// only when the test moves it or waits for a timer.)
    #[tokio::test(start_paused = true)]
    async fn webhooks_go_first_in_cycles_of_their_own() {
        let (ingest, pipeline, queues) = queues();
        for _ in 0..400 {
            assert!(pipeline.send(write()).is_ok(), "queued");
        }
        for n in 0..3 {
            assert!(ingest.send(webhook(n)).await.is_ok(), "queued");
        }
        let mut turns = Turns::default();
        let lanes = Lanes::new(1);
        let short = (0, MAX_WRITES_WHILE_INGESTING);
        let first = cycle_taking(&queues, &mut turns, &lanes, 3).await;
        assert_eq!(first, (3, 0), "the webhooks first, alone");
        assert!(ingest.send(webhook(3)).await.is_ok(), "queued");
        let second = cycle_taking(&queues, &mut turns, &lanes, 3).await;
        assert_eq!(second, short, "then a short pipeline cycle");
        let third = cycle_taking(&queues, &mut turns, &lanes, 1).await;
        assert_eq!(
            third,
            (1, 0),
            "processing has had its share: webhooks again"
        );
        let fourth = cycle_taking(&queues, &mut turns, &lanes, 1).await;
        assert_eq!(fourth, short, "no webhook waits: processing goes");
        let fifth = cycle_taking(&queues, &mut turns, &lanes, 1).await;
        assert_eq!(fifth, short, "still ingesting");
        tokio::time::advance(INGEST_ACTIVE).await;
        let rest = 400 - 3 * MAX_WRITES_WHILE_INGESTING;
        let sixth = cycle_taking(&queues, &mut turns, &lanes, 1).await;
        assert_eq!(
            sixth,
            (0, rest),
            "no webhook for a while: up to MAX_WRITES at once"
        );
    }

    /// A pipeline cycle waiting for the writes its tenants are expected to send stops waiting
    /// when a webhook comes, and that webhook goes into the next cycle. (Paused time: the clock
    /// moves only to the next timer, so "before the wait was over" is exact.)
    #[tokio::test(start_paused = true)]
    async fn a_webhook_ends_the_group_commit_wait() {
        let (ingest, pipeline, queues) = queues();
        assert!(pipeline.send(write()).is_ok(), "queued");
        let turns = Turns {
            answered: 100,
            ..Turns::default()
        };
        let lanes = Lanes::new(1);
        let sender = tokio::spawn(async move {
            tokio::time::sleep(LINGER / 2).await;
            assert!(ingest.send(webhook(0)).await.is_ok(), "queued");
            ingest
        });
        let started = tokio::time::Instant::now();
        let cycle = next_cycle(&queues, &turns, &lanes).await.expect("a cycle");
        assert_eq!(sizes(&cycle), (0, 1));
        assert_eq!(
            started.elapsed(),
            LINGER / 2,
            "the wait ended with the webhook"
        );
        let _ingest = sender.await.expect("sender");
        let cycle = next_cycle(&queues, &turns, &lanes).await.expect("a cycle");
        assert_eq!(sizes(&cycle), (1, 0), "the webhook that ended the wait");
    }
}
