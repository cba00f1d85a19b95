//! `TenantSupervisor`: the single entry point for work. It keeps the registry of live tenant
//! actors (a `DashMap`, readable without a round trip by metrics and tests), spawns an actor on
//! the first event of a tenant, and retires idle ones. Because every `Process` passes through
//! here, retiring an actor cannot lose a message: see [`TenantIdle`].
//!
//! In a cluster (PostgreSQL) the supervisor runs only the tenants this node holds a lease for
//! ([`Ownership`]): the cluster coordinator tells it what it [`Acquired`], what to [`Release`] and
//! what it lost ([`LeaseLost`]); work for a tenant held elsewhere is announced to its owner.

use std::sync::Arc;

use actix::prelude::*;
use actix::{Arbiter, ArbiterHandle};
use chrono::{DateTime, Utc};
use dashmap::DashMap;

use super::actor::{Drain, Process, Pull, Retire, TenantActor};
use crate::domain::{EventId, TenantId};
use crate::lease::Fence;
use crate::tenant::processing::Processing;

/// Queue this event on its tenant's actor (now, or once `not_before` has passed).
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct Enqueue {
    pub tenant: TenantId,
    pub event_id: EventId,
    pub not_before: Option<DateTime<Utc>>,
    /// A fraud alert: goes ahead of the tenant's queue (SPEC §17).
    pub urgent: bool,
}

/// From a tenant actor with nothing to do. The supervisor forgets it, then sends it [`Retire`];
/// anything that reached the actor in between comes back here as `Enqueue` and goes to a new one.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TenantIdle {
    pub tenant: TenantId,
    pub addr: Addr<TenantActor>,
}

/// The coordinator took this tenant's lease: run its actor, which pulls its pending events.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Acquired(pub Fence);

/// The tenant belongs elsewhere now: stop taking its work, let the attempt in flight end, then
/// answer (the coordinator gives the lease back after that).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Release(pub TenantId);

/// The lease with this fence token is gone (taken over, or this node's clock ran out): drop the
/// tenant at once. An attempt still running can neither call out (its clock check) nor write
/// (its fence). A word about an older lease than the one now held changes nothing.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LeaseLost(pub TenantId, pub i64);

/// Another node announced this event (`cobro_work`): queue it if the tenant is ours, else let it
/// be (never announce it again: that would echo between the nodes that do not own it).
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct Announced {
    pub tenant: TenantId,
    pub event_id: EventId,
}

/// Something may be pending for this tenant (a notification from another node, the backstop
/// poll): if it is ours, its actor looks in the database.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Poke(pub TenantId);

/// Shutting down: every tenant actor finishes its attempt in flight and starts no other. Answers
/// when all have; the caller bounds the wait.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DrainAll;

/// Stop every tenant actor (dropping attempts in flight, which stay `processing` in the database
/// until recovery) and then the supervisor itself.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopAll;

/// The supervisor's threads; they stop (and their actors with them) when it is dropped, so an
/// embedding that stops its actix system (the tests) leaves no thread running behind.
struct ArbiterPool(Vec<Arbiter>);

impl ArbiterPool {
    fn pick(&self, n: usize) -> ArbiterHandle {
        self.0[n % self.0.len()].handle()
    }
}

impl Drop for ArbiterPool {
    fn drop(&mut self) {
        for arbiter in &self.0 {
            arbiter.stop();
        }
    }
}

/// The live tenant actors, shared read-only with whoever wants to look.
pub type Registry = Arc<DashMap<TenantId, Addr<TenantActor>>>;

/// In a cluster: the tenants this node holds a lease for, with their fences (shared with the
/// coordinator and `GET /api/cluster`), and where to announce work for the others.
#[derive(Clone)]
pub struct Ownership {
    pub held: Arc<DashMap<TenantId, Fence>>,
    pub announcer: Arc<dyn AnnounceWork>,
}

/// Tells the node that holds `tenant` that `event` waits for it (the cluster's `LISTEN/NOTIFY`
/// channel, `cluster::notify`). Never blocks; a lost announcement only delays, as the owner's
/// poll finds the event anyway.
pub trait AnnounceWork: Send + Sync {
    fn announce(&self, tenant: TenantId, event: EventId);
}

pub struct TenantSupervisor {
    processing: Arc<Processing>,
    registry: Registry,
    /// Threads the tenant actors are spread over, round robin: a busy tenant never occupies
    /// more than one, and many tenants use every core.
    arbiters: ArbiterPool,
    next_arbiter: usize,
    /// `None` on a single node (SQLite): every tenant is ours.
    ownership: Option<Ownership>,
    /// The fence token each live actor was started with (cluster only).
    actor_fences: std::collections::HashMap<TenantId, i64>,
}

impl TenantSupervisor {
    pub fn new(processing: Arc<Processing>, ownership: Option<Ownership>) -> Self {
        let threads = processing.settings.tenant_threads;
        Self {
            processing,
            registry: Registry::default(),
            arbiters: ArbiterPool((0..threads.max(1)).map(|_| Arbiter::new()).collect()),
            next_arbiter: 0,
            ownership,
            actor_fences: Default::default(),
        }
    }

    /// The fence of a tenant we hold; `Err(())` when the tenant is someone else's.
    fn fence_of(&self, tenant: TenantId) -> Result<Option<Fence>, ()> {
        match &self.ownership {
            None => Ok(None),
            Some(own) => own.held.get(&tenant).map(|f| Some(f.clone())).ok_or(()),
        }
    }

    /// Forgets a tenant's actor and hands it back (to drain or retire).
    fn forget(&mut self, tenant: TenantId) -> Option<Addr<TenantActor>> {
        self.actor_fences.remove(&tenant);
        self.registry.remove(&tenant).map(|(_, addr)| addr)
    }

    /// The live actor of `tenant` if it runs under exactly this fence token.
    fn actor_under(&self, tenant: TenantId, token: i64) -> Option<Addr<TenantActor>> {
        let actor = self
            .registry
            .get(&tenant)
            .filter(|a| a.connected())?
            .clone();
        (self.actor_fences.get(&tenant) == Some(&token)).then_some(actor)
    }

    pub fn registry(&self) -> Registry {
        self.registry.clone()
    }

    fn actor_for(
        &mut self,
        tenant: TenantId,
        fence: Option<Fence>,
        ctx: &mut Context<Self>,
    ) -> Addr<TenantActor> {
        if let Some(actor) = self.registry.get(&tenant).filter(|a| a.connected()) {
            return actor.clone();
        }
        let actor = self.spawn(tenant, fence, ctx);
        self.registry.insert(tenant, actor.clone());
        actor
    }

    fn spawn(
        &mut self,
        tenant: TenantId,
        fence: Option<Fence>,
        ctx: &mut Context<Self>,
    ) -> Addr<TenantActor> {
        tracing::debug!(%tenant, "starting tenant actor");
        let (processing, supervisor) = (self.processing.clone(), ctx.address());
        let arbiter = self.arbiters.pick(self.next_arbiter);
        self.next_arbiter = self.next_arbiter.wrapping_add(1);
        if let Some(fence) = &fence {
            self.actor_fences.insert(tenant, fence.token);
        }
        TenantActor::start_in_arbiter(&arbiter, move |_| {
            TenantActor::new(tenant, processing, supervisor, fence)
        })
    }
}

impl Actor for TenantSupervisor {
    type Context = Context<Self>;
}

impl Handler<Enqueue> for TenantSupervisor {
    type Result = ();

    fn handle(&mut self, msg: Enqueue, ctx: &mut Context<Self>) {
        let Ok(fence) = self.fence_of(msg.tenant) else {
            // Held by another node (or by none yet): its owner hears of it, or finds it by polling.
            if let Some(own) = &self.ownership {
                own.announcer.announce(msg.tenant, msg.event_id);
            }
            return;
        };
        let actor = self.actor_for(msg.tenant, fence, ctx);
        actor.do_send(Process {
            event_id: msg.event_id,
            not_before: msg.not_before,
            urgent: msg.urgent,
        });
    }
}

impl Handler<Acquired> for TenantSupervisor {
    type Result = ();

    fn handle(&mut self, Acquired(fence): Acquired, ctx: &mut Context<Self>) {
        let tenant = fence.tenant;
        if let Some(own) = &self.ownership {
            own.held.insert(tenant, fence.clone());
        }
        // An actor already started under this lease (work for the tenant can reach us between
        // the coordinator's take and this message) keeps its attempt in flight: stopping it would
        // leave that event `processing` under a lease we hold. One of an older lease must not run
        // on with its old fence.
        let actor = match self.actor_under(tenant, fence.token) {
            Some(actor) => actor,
            None => {
                if let Some(old) = self.forget(tenant) {
                    old.do_send(Retire);
                }
                self.actor_for(tenant, Some(fence), ctx)
            }
        };
        actor.do_send(Pull { from_start: true });
    }
}

impl Handler<Announced> for TenantSupervisor {
    type Result = ();

    fn handle(&mut self, msg: Announced, ctx: &mut Context<Self>) {
        if let Ok(fence) = self.fence_of(msg.tenant) {
            // The actor pulls it, and learns from the row whether it is urgent.
            self.actor_for(msg.tenant, fence, ctx).do_send(Process {
                event_id: msg.event_id,
                not_before: None,
                urgent: false,
            });
        }
    }
}

impl Handler<Poke> for TenantSupervisor {
    type Result = ();

    fn handle(&mut self, Poke(tenant): Poke, ctx: &mut Context<Self>) {
        if let Ok(fence) = self.fence_of(tenant) {
            self.actor_for(tenant, fence, ctx)
                .do_send(Pull { from_start: true });
        }
    }
}

impl Handler<Release> for TenantSupervisor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, Release(tenant): Release, _: &mut Context<Self>) -> Self::Result {
        if let Some(own) = &self.ownership {
            own.held.remove(&tenant);
        }
        let actor = self.forget(tenant);
        Box::pin(async move {
            if let Some(actor) = actor {
                let _ = actor.send(Drain).await;
                actor.do_send(Retire);
            }
        })
    }
}

impl Handler<LeaseLost> for TenantSupervisor {
    type Result = ();

    fn handle(&mut self, LeaseLost(tenant, token): LeaseLost, _: &mut Context<Self>) {
        if let Some(own) = &self.ownership {
            own.held.remove_if(&tenant, |_, fence| fence.token == token);
        }
        if self.actor_fences.get(&tenant) == Some(&token)
            && let Some(actor) = self.forget(tenant)
        {
            actor.do_send(Retire);
        }
    }
}

impl Handler<TenantIdle> for TenantSupervisor {
    type Result = ();

    fn handle(&mut self, msg: TenantIdle, _: &mut Context<Self>) {
        if self
            .registry
            .remove_if(&msg.tenant, |_, addr| *addr == msg.addr)
            .is_some()
        {
            self.actor_fences.remove(&msg.tenant);
        }
        msg.addr.do_send(Retire);
    }
}

impl Handler<StopAll> for TenantSupervisor {
    type Result = ();

    fn handle(&mut self, _: StopAll, ctx: &mut Context<Self>) {
        for actor in self.registry.iter() {
            actor.value().do_send(Retire);
        }
        self.registry.clear();
        ctx.stop();
    }
}

impl Handler<DrainAll> for TenantSupervisor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: DrainAll, _: &mut Context<Self>) -> Self::Result {
        let actors: Vec<Addr<TenantActor>> =
            self.registry.iter().map(|a| a.value().clone()).collect();
        Box::pin(async move {
            futures_util::future::join_all(actors.iter().map(|a| a.send(Drain))).await;
        })
    }
}
