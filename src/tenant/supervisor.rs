//! `TenantSupervisor`: the single entry point for work. It keeps the registry of live tenant
//! actors (a `DashMap`, readable without a round trip by metrics and tests), spawns an actor on
//! the first event of a tenant, and retires idle ones. Because every `Process` passes through
//! here, retiring an actor cannot lose a message: see [`TenantIdle`].

use std::sync::Arc;

use actix::prelude::*;
use actix::{Arbiter, ArbiterHandle};
use chrono::{DateTime, Utc};
use dashmap::DashMap;
use uuid::Uuid;

use super::actor::{Drain, Process, Retire, TenantActor};
use crate::domain::TenantId;
use crate::services::Services;

/// Queue this event on its tenant's actor (now, or once `not_before` has passed).
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct Enqueue {
    pub tenant: TenantId,
    pub event_id: Uuid,
    pub not_before: Option<DateTime<Utc>>,
}

/// From a tenant actor with nothing to do. The supervisor forgets it, then sends it [`Retire`];
/// anything that reached the actor in between comes back here as `Enqueue` and goes to a new one.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TenantIdle {
    pub tenant: TenantId,
    pub addr: Addr<TenantActor>,
}

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

pub struct TenantSupervisor {
    services: Arc<Services>,
    registry: Registry,
    /// Threads the tenant actors are spread over, round robin: a busy tenant never occupies
    /// more than one, and many tenants use every core.
    arbiters: ArbiterPool,
    next_arbiter: usize,
}

impl TenantSupervisor {
    pub fn new(services: Arc<Services>) -> Self {
        let threads = services.config.tenant_threads;
        Self {
            services,
            registry: Registry::default(),
            arbiters: ArbiterPool((0..threads.max(1)).map(|_| Arbiter::new()).collect()),
            next_arbiter: 0,
        }
    }

    pub fn registry(&self) -> Registry {
        self.registry.clone()
    }

    fn actor_for(&mut self, tenant: TenantId, ctx: &mut Context<Self>) -> Addr<TenantActor> {
        if let Some(actor) = self.registry.get(&tenant).filter(|a| a.connected()) {
            return actor.clone();
        }
        let actor = self.spawn(tenant, ctx);
        self.registry.insert(tenant, actor.clone());
        actor
    }

    fn spawn(&mut self, tenant: TenantId, ctx: &mut Context<Self>) -> Addr<TenantActor> {
        tracing::debug!(%tenant, "starting tenant actor");
        let (services, supervisor) = (self.services.clone(), ctx.address());
        let arbiter = self.arbiters.pick(self.next_arbiter);
        self.next_arbiter = self.next_arbiter.wrapping_add(1);
        TenantActor::start_in_arbiter(&arbiter, move |_| {
            TenantActor::new(tenant, services, supervisor)
        })
    }
}

impl Actor for TenantSupervisor {
    type Context = Context<Self>;
}

impl Handler<Enqueue> for TenantSupervisor {
    type Result = ();

    fn handle(&mut self, msg: Enqueue, ctx: &mut Context<Self>) {
        let actor = self.actor_for(msg.tenant, ctx);
        actor.do_send(Process {
            event_id: msg.event_id,
            not_before: msg.not_before,
        });
    }
}

impl Handler<TenantIdle> for TenantSupervisor {
    type Result = ();

    fn handle(&mut self, msg: TenantIdle, _: &mut Context<Self>) {
        self.registry
            .remove_if(&msg.tenant, |_, addr| *addr == msg.addr);
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
