//! `TenantActor`: one per tenant, spawned by the supervisor. It owns the tenant's FIFO queue and
//! runs one batch of it at a time (`batch::run_batch`, which processes its events in order;
//! the next batch starts only when the current one has answered), keeps a timer per event
//! waiting for a retry, and owns the tenant's outbound rate limiters.
//! After `tenant_idle` with nothing to do it asks the supervisor to retire it; everything it
//! knew is in the database.
//!
//! In a cluster the actor holds its tenant's [`Fence`] and fills its queue by *pulling* the
//! tenant's pending events from the database in arrival order (`seq`), whoever accepted them:
//! a `Process` there only says "look", so an event accepted on another node a moment earlier is
//! never overtaken by one accepted here (`pull`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

mod pull;

pub use pull::Pull;
use pull::{Clustered, PullState};

use super::attempt::AttemptOutcome;
use super::batch::{self, BATCH, Batch, NextUp, Start, StopAfterAttempt};
use super::limits::Limiters;
use super::supervisor::{Enqueue, LeaseLost, TenantIdle, TenantSupervisor};
use crate::domain::{EventId, TenantId};
use crate::lease::Fence;
use crate::tenant::processing::Processing;
use entity::webhook_event;

/// How often an actor checks whether it has been idle long enough to retire.
const IDLE_CHECK_MAX: Duration = Duration::from_secs(5);

/// Process this event now, or once `not_before` has passed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Process {
    pub event_id: EventId,
    pub not_before: Option<DateTime<Utc>>,
    /// Goes to the front of the queue (a fraud alert).
    pub urgent: bool,
}

/// Shutting down: start no new attempt, drop the queue and timers (their events are `pending` in
/// the database and resume at the next start), give back the events claimed but not attempted
/// (the rest of the batch in flight, the next ones claimed with it), answer once the attempt in
/// flight has ended.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

/// The supervisor has forgotten this actor; stop. Sent only after [`TenantIdle`].
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retire;

pub struct TenantActor {
    tenant: TenantId,
    processing: Arc<Processing>,
    supervisor: Addr<TenantSupervisor>,
    limits: Arc<Limiters>,
    queue: VecDeque<EventId>,
    /// Events in `queue` or in flight, so a repeated `Process` does not queue twice.
    queued: HashSet<EventId>,
    /// The events of the batch in flight (empty: none is).
    in_flight: Vec<EventId>,
    /// Events at the front of `queue` already claimed by the last write of the previous batch
    /// (`None`: it was not pending any more), so the next batch starts without a claim.
    claimed: HashMap<EventId, Option<webhook_event::Model>>,
    /// Set when the node drains: the batch in flight stops after its current attempt.
    stop_batch: StopAfterAttempt,
    /// The front of `queue`, shown to the batch in flight (see [`NextUp`]); made when a batch
    /// starts and dropped once the actor is idle, as are the collections' allocations: at
    /// 10,000 live tenants every byte an idle actor keeps is 10 kB (issue 23).
    next_up: Option<tokio::sync::watch::Sender<Vec<EventId>>>,
    timers: HashMap<EventId, SpawnHandle>,
    last_active: Instant,
    /// Set once idleness was reported: new work goes back to the supervisor for a fresh actor.
    retiring: bool,
    /// Urgent events queued (fraud alerts), kept ahead of the others.
    urgent: HashSet<EventId>,
    /// Set by [`Drain`]: no new attempt starts; the sender is told when the current one ends.
    draining: Option<Option<oneshot::Sender<()>>>,
    /// Cluster only: this node's lease on the tenant and where its pulls stand; its presence
    /// means the queue is pulled. Boxed: on one node every actor would carry it empty.
    cluster: Option<Box<Clustered>>,
}

impl TenantActor {
    pub fn new(
        tenant: TenantId,
        processing: Arc<Processing>,
        supervisor: Addr<TenantSupervisor>,
        fence: Option<Fence>,
    ) -> Self {
        let limits = Arc::new(Limiters::from_settings(&processing.settings));
        Self {
            tenant,
            processing,
            supervisor,
            limits,
            queue: VecDeque::new(),
            queued: HashSet::new(),
            urgent: HashSet::new(),
            in_flight: Vec::new(),
            claimed: HashMap::new(),
            stop_batch: StopAfterAttempt::default(),
            next_up: None,
            timers: HashMap::new(),
            last_active: Instant::now(),
            retiring: false,
            draining: None,
            cluster: fence.map(|fence| {
                Box::new(Clustered {
                    fence,
                    pulls: PullState::default(),
                })
            }),
        }
    }

    /// Queued, waiting on a timer, or in flight.
    fn knows(&self, event_id: &EventId) -> bool {
        self.queued.contains(event_id) || self.timers.contains_key(event_id)
    }

    /// Takes an event into the queue now or on a timer, unless it is already known.
    fn take(
        &mut self,
        event_id: EventId,
        not_before: Option<DateTime<Utc>>,
        urgent: bool,
        ctx: &mut Context<Self>,
    ) {
        if self.knows(&event_id) {
            return;
        }
        match not_before {
            Some(at) if at > Utc::now() => self.schedule(event_id, at, ctx),
            _ => {
                self.queued.insert(event_id);
                self.enqueue(event_id, urgent);
            }
        }
    }

    fn push(&mut self, event_id: EventId, urgent: bool, ctx: &mut Context<Self>) {
        if let Some(timer) = self.timers.remove(&event_id) {
            ctx.cancel_future(timer);
        }
        if self.queued.insert(event_id) {
            self.enqueue(event_id, urgent);
        }
        self.pump(ctx);
    }

    /// An urgent event (a fraud alert, SPEC §17) goes ahead of everything not yet started: after
    /// the claimed front (events already `processing`) and any urgent one before it; the batch
    /// in flight, at most [`BATCH`] events, finishes first.
    fn enqueue(&mut self, event_id: EventId, urgent: bool) {
        if !urgent {
            return self.queue.push_back(event_id);
        }
        let ahead = self
            .queue
            .iter()
            .take_while(|id| self.claimed.contains_key(id) || self.urgent.contains(id))
            .count();
        self.urgent.insert(event_id);
        self.queue.insert(ahead, event_id);
    }

    /// Starts the next batch if none is running. The only place batches start, which is what
    /// makes processing serial per tenant. Every change to the queue ends here, so the batch in
    /// flight always sees the current front.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        self.start_next(ctx);
        let front = self.queue.iter().take(BATCH);
        if let Some(next_up) = &self.next_up
            && !next_up.borrow().iter().eq(front.clone())
        {
            next_up.send_replace(front.copied().collect());
        }
        self.release_memory_when_idle();
    }

    /// Nothing queued and nothing in flight: give back what the busy actor grew (a channel, the
    /// collections' allocations), so that a live but idle tenant costs only the actor itself.
    fn release_memory_when_idle(&mut self) {
        if !self.in_flight.is_empty() || !self.queue.is_empty() || self.draining.is_some() {
            return;
        }
        self.next_up = None;
        self.queue.shrink_to_fit();
        self.in_flight.shrink_to_fit();
        self.queued.shrink_to_fit();
        self.urgent.shrink_to_fit();
        self.claimed.shrink_to_fit();
        self.timers.shrink_to_fit();
    }

    /// The next batch: the claimed events at the front of the queue, or, when the front is not
    /// claimed, the unclaimed events there (claimed together when the batch starts). Never both,
    /// so claimed events do not wait for the claim of the others.
    fn take_batch(&mut self) -> Vec<Start> {
        let mut batch = Vec::new();
        let claimed_front = self
            .queue
            .front()
            .is_some_and(|id| self.claimed.contains_key(id));
        while batch.len() < BATCH {
            let Some(&id) = self.queue.front() else { break };
            if self.claimed.contains_key(&id) != claimed_front {
                break;
            }
            self.queue.pop_front();
            match self.claimed.remove(&id) {
                Some(Some(event)) => batch.push(Start::Claimed(Box::new(event))),
                // Not pending any more (done or failed meanwhile): nothing to process.
                Some(None) => {
                    self.queued.remove(&id);
                }
                None => batch.push(Start::Claim(id)),
            }
        }
        batch
    }

    fn start_next(&mut self, ctx: &mut Context<Self>) {
        if let Some(waiter) = &mut self.draining {
            if self.in_flight.is_empty()
                && let Some(done) = waiter.take()
            {
                self.release_claimed_then(done, ctx);
            }
            return;
        }
        if !self.in_flight.is_empty() {
            return self.report_depth();
        }
        let starts = self.take_batch();
        if starts.is_empty() {
            if !self.queue.is_empty() {
                // Only events that were not pending any more: look at what follows them.
                return self.start_next(ctx);
            }
            return self.report_depth();
        }
        self.in_flight = starts
            .iter()
            .map(|start| match start {
                Start::Claim(id) => *id,
                Start::Claimed(event) => EventId(event.id),
            })
            .collect();
        let front = self.queue.iter().take(BATCH).copied().collect();
        let next_up: NextUp = match &self.next_up {
            Some(sender) => {
                sender.send_replace(front);
                sender.subscribe()
            }
            None => self
                .next_up
                .insert(tokio::sync::watch::Sender::new(front))
                .subscribe(),
        };
        let control = (next_up, self.stop_batch.clone());
        self.last_active = Instant::now();
        let (processing, limits, tenant) =
            (self.processing.clone(), self.limits.clone(), self.tenant);
        let fence = self.cluster.as_ref().map(|c| c.fence.clone());
        let batch = async move {
            let fence = fence.as_ref();
            batch::run_batch(&processing, &limits, tenant, starts, control, fence).await
        };
        ctx.spawn(batch.into_actor(self).map(|batch, actor, ctx| {
            actor.batch_done(batch, ctx);
            actor.pump(ctx);
        }));
        self.report_depth();
    }

    fn batch_done(&mut self, batch: Batch, ctx: &mut Context<Self>) {
        for id in self.in_flight.drain(..) {
            self.queued.remove(&id);
            self.urgent.remove(&id);
        }
        self.last_active = Instant::now();
        self.claimed
            .extend(batch.next.into_iter().map(|next| (next.id, next.event)));
        let mut lease_lost = false;
        for (event_id, outcome) in batch.outcomes {
            match outcome {
                AttemptOutcome::RetryAt(at) => self.schedule(event_id, at, ctx),
                AttemptOutcome::LeaseLost => lease_lost = true,
                _ => {}
            }
        }
        if lease_lost {
            tracing::warn!(tenant = %self.tenant, "lease lost during an attempt; dropping the tenant");
            self.queue.clear();
            self.claimed.clear();
            if let Some(cluster) = &self.cluster {
                let token = cluster.fence.token;
                self.supervisor.do_send(LeaseLost(self.tenant, token));
            }
        }
    }

    /// Draining: the events claimed with the last batch will not be processed now, so they go
    /// back to `pending` (their attempt uncounted) before the drain is answered.
    fn release_claimed_then(&mut self, done: oneshot::Sender<()>, ctx: &mut Context<Self>) {
        let lease = self.cluster.as_ref().map(|c| c.fence.token());
        let claimed = self.claimed.drain().filter(|(_, event)| event.is_some());
        let ids = claimed.map(|(id, _)| id).collect();
        let released = batch::give_back(&self.processing.writer, lease, ids);
        let release = async move {
            released.await;
            let _ = done.send(());
        };
        ctx.spawn(release.into_actor(self));
    }

    fn schedule(&mut self, event_id: EventId, at: DateTime<Utc>, ctx: &mut Context<Self>) {
        let delay = (at - Utc::now()).to_std().unwrap_or_default();
        if let Some(old) = self.timers.remove(&event_id) {
            ctx.cancel_future(old);
        }
        let handle = ctx.run_later(delay, move |actor, ctx| {
            actor.timers.remove(&event_id);
            actor.push(event_id, false, ctx);
        });
        self.timers.insert(event_id, handle);
        self.report_depth();
    }

    /// Publishes this tenant's queue depth (queued, waiting on a timer, or in flight).
    fn report_depth(&self) {
        let depth = self.queue.len() + self.timers.len() + self.in_flight.len();
        metrics::gauge!("cobro_tenant_queue_depth", "tenant" => self.tenant.to_string())
            .set(depth as f64);
    }

    fn is_idle(&self) -> bool {
        self.in_flight.is_empty()
            && !self.cluster.as_ref().is_some_and(|c| c.pulls.running)
            && self.queue.is_empty()
            && self.timers.is_empty()
            && self.last_active.elapsed() >= self.processing.settings.tenant_idle
    }

    fn check_idle(&mut self, ctx: &mut Context<Self>) {
        if !self.retiring && self.is_idle() {
            self.retiring = true;
            tracing::debug!(tenant = %self.tenant, "tenant actor idle; retiring");
            self.supervisor.do_send(TenantIdle {
                tenant: self.tenant,
                addr: ctx.address(),
            });
        }
    }
}

impl Actor for TenantActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let every = (self.processing.settings.tenant_idle / 4)
            .clamp(Duration::from_millis(50), IDLE_CHECK_MAX);
        ctx.run_interval(every, Self::check_idle);
        metrics::gauge!("cobro_tenant_actors").increment(1.0);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        metrics::gauge!("cobro_tenant_actors").decrement(1.0);
        metrics::gauge!("cobro_tenant_queue_depth", "tenant" => self.tenant.to_string()).set(0.0);
    }
}

impl Handler<Process> for TenantActor {
    type Result = ();

    fn handle(&mut self, msg: Process, ctx: &mut Context<Self>) {
        if self.retiring {
            // Reached us after we reported idle: the supervisor gives it to our successor.
            self.supervisor.do_send(Enqueue {
                tenant: self.tenant,
                event_id: msg.event_id,
                not_before: msg.not_before,
                urgent: msg.urgent,
            });
            return;
        }
        self.last_active = Instant::now();
        if let Some(cluster) = self.cluster.as_deref_mut() {
            cluster.pulls.named.push((msg.event_id, msg.not_before));
            return self.pull(false, ctx);
        }
        match msg.not_before {
            Some(at) if at > Utc::now() && !self.queued.contains(&msg.event_id) => {
                self.schedule(msg.event_id, at, ctx)
            }
            _ => self.push(msg.event_id, msg.urgent, ctx),
        }
    }
}

impl Handler<Drain> for TenantActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Drain, ctx: &mut Context<Self>) -> Self::Result {
        for (_, timer) in self.timers.drain() {
            ctx.cancel_future(timer);
        }
        self.queue.clear();
        self.stop_batch
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let (done, finished) = oneshot::channel();
        self.draining = Some(Some(done));
        self.pump(ctx);
        Box::pin(async move {
            let _ = finished.await;
        })
    }
}

impl Handler<Retire> for TenantActor {
    type Result = ();

    fn handle(&mut self, _: Retire, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
