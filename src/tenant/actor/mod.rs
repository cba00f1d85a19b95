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

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

mod pull;
mod work;

pub use pull::Pull;
use pull::{Clustered, PullState};
use work::Work;

use super::attempt::AttemptOutcome;
use super::batch::{self, BATCH, Batch, NextUp, Start};
use super::limits::Limiters;
use super::supervisor::{Enqueue, LeaseLost, TenantIdle, TenantSupervisor};
use crate::domain::{EventId, TenantId};
use crate::lease::Fence;
use crate::tenant::processing::Processing;

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
    /// The queue and everything around it; `None` while there is nothing to do (see [`Work`]).
    work: Option<Box<Work>>,
    last_active: Instant,
    /// Set once idleness was reported: new work goes back to the supervisor for a fresh actor.
    retiring: bool,
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
            work: None,
            last_active: Instant::now(),
            retiring: false,
            cluster: fence.map(|fence| {
                Box::new(Clustered {
                    fence,
                    pulls: PullState::default(),
                })
            }),
        }
    }

    /// The work state, made when work arrives.
    fn work(&mut self) -> &mut Work {
        self.work.get_or_insert_with(Box::default)
    }

    /// Queued, waiting on a timer, or in flight.
    fn knows(&self, event_id: &EventId) -> bool {
        self.work.as_ref().is_some_and(|work| work.knows(event_id))
    }

    /// In the queue or in flight (not on a timer).
    fn is_queued(&self, event_id: &EventId) -> bool {
        self.work
            .as_ref()
            .is_some_and(|work| work.queued.contains(event_id))
    }

    /// Nothing queued and nothing in flight (events on a timer may wait).
    fn nothing_in_hand(&self) -> bool {
        self.work
            .as_ref()
            .is_none_or(|work| work.queue.is_empty() && work.in_flight.is_empty())
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
                let work = self.work();
                work.queued.insert(event_id);
                work.enqueue(event_id, urgent);
            }
        }
    }

    fn push(&mut self, event_id: EventId, urgent: bool, ctx: &mut Context<Self>) {
        let work = self.work();
        if let Some(timer) = work.timers.remove(&event_id) {
            ctx.cancel_future(timer);
        }
        if work.queued.insert(event_id) {
            work.enqueue(event_id, urgent);
        }
        self.pump(ctx);
    }

    /// Starts the next batch if none is running. The only place batches start, which is what
    /// makes processing serial per tenant. Every change to the queue ends here, so the batch in
    /// flight always sees the current front.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        self.start_next(ctx);
        if let Some(work) = &self.work {
            work.show_front();
        }
        self.release_memory_when_idle();
    }

    /// Nothing left to do: give back the work state, so that a live but idle tenant costs only
    /// the actor itself.
    fn release_memory_when_idle(&mut self) {
        if self.work.as_ref().is_some_and(|work| work.is_empty()) {
            self.work = None;
        }
    }

    fn start_next(&mut self, ctx: &mut Context<Self>) {
        let Some(work) = self.work.as_deref_mut() else {
            return self.report_depth();
        };
        if let Some(waiter) = &mut work.draining {
            if work.in_flight.is_empty()
                && let Some(done) = waiter.take()
            {
                self.release_claimed_then(done, ctx);
            }
            return;
        }
        if !work.in_flight.is_empty() {
            return self.report_depth();
        }
        let starts = work.take_batch();
        if starts.is_empty() {
            if !work.queue.is_empty() {
                // Only events that were not pending any more: look at what follows them.
                return self.start_next(ctx);
            }
            return self.report_depth();
        }
        work.in_flight = starts
            .iter()
            .map(|start| match start {
                Start::Claim(id) => *id,
                Start::Claimed(event) => EventId(event.id),
            })
            .collect();
        let front = work.queue.iter().take(BATCH).copied().collect();
        let next_up: NextUp = match &work.next_up {
            Some(sender) => {
                sender.send_replace(front);
                sender.subscribe()
            }
            None => work
                .next_up
                .insert(tokio::sync::watch::Sender::new(front))
                .subscribe(),
        };
        let control = (next_up, work.stop_batch.clone());
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
        let work = self.work();
        for id in std::mem::take(&mut work.in_flight) {
            work.queued.remove(&id);
            work.urgent.remove(&id);
        }
        work.claimed
            .extend(batch.next.into_iter().map(|next| (next.id, next.event)));
        self.last_active = Instant::now();
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
            let work = self.work();
            work.queue.clear();
            work.claimed.clear();
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
        let claimed = self
            .work()
            .claimed
            .drain()
            .filter(|(_, event)| event.is_some());
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
        if let Some(old) = self.work().timers.remove(&event_id) {
            ctx.cancel_future(old);
        }
        let handle = ctx.run_later(delay, move |actor, ctx| {
            actor.work().timers.remove(&event_id);
            actor.push(event_id, false, ctx);
        });
        self.work().timers.insert(event_id, handle);
        self.report_depth();
    }

    /// Publishes this tenant's queue depth (queued, waiting on a timer, or in flight).
    fn report_depth(&self) {
        let depth = self.work.as_ref().map_or(0, |work| work.depth());
        self.processing.queue_depths.set(self.tenant, depth);
    }

    fn is_idle(&self) -> bool {
        self.work.as_ref().is_none_or(|work| work.is_empty())
            && !self.cluster.as_ref().is_some_and(|c| c.pulls.running)
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
        self.processing.queue_depths.set(self.tenant, 0);
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
            Some(at) if at > Utc::now() && !self.is_queued(&msg.event_id) => {
                self.schedule(msg.event_id, at, ctx)
            }
            _ => self.push(msg.event_id, msg.urgent, ctx),
        }
    }
}

impl Handler<Drain> for TenantActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Drain, ctx: &mut Context<Self>) -> Self::Result {
        let work = self.work();
        for (_, timer) in work.timers.drain() {
            ctx.cancel_future(timer);
        }
        work.queue.clear();
        work.stop_batch
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let (done, finished) = oneshot::channel();
        work.draining = Some(Some(done));
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
