//! Cluster only: how a tenant actor fills its queue by *pulling* its tenant's pending events from
//! the database in arrival order (`seq`), whoever accepted them, and the [`Pull`] message the
//! supervisor sends it (after a take-over, and when another node announced work).

use std::time::Instant;

use actix::prelude::*;
use chrono::{DateTime, Utc};

use super::TenantActor;
use crate::domain::EventId;
use crate::lease::Fence;
use crate::store::cluster::PendingEvent;
use crate::tenant::supervisor::Poke;

/// Most pending events one pull reads; a full page is followed by another pull.
const PULL_PAGE: i64 = 1000;

/// Cluster: read this tenant's pending events from the database into the queue. `from_start`
/// reads from the oldest one when the queue is empty (events committed out of `seq` order, timers
/// to set after a take-over); otherwise a pull continues after the newest event seen.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Pull {
    pub from_start: bool,
}

/// What only a cluster actor holds: its lease and its pulls.
pub(super) struct Clustered {
    pub(super) fence: Fence,
    pub(super) pulls: PullState,
}

/// Where the pulls of a cluster actor stand.
#[derive(Default)]
pub(super) struct PullState {
    /// The highest `seq` queued so far.
    cursor: i64,
    pub(super) running: bool,
    /// Another pull was asked for while one ran.
    again: bool,
    /// Events named by a `Process` since the running pull started (a person's retry can be
    /// older than `cursor`). Taken only after a pull that *started* after they were named, so
    /// everything committed before them (an earlier webhook accepted by another node) is queued
    /// first.
    pub(super) named: Vec<(EventId, Option<DateTime<Utc>>)>,
    /// Those the running pull answers for.
    named_before_pull: Vec<(EventId, Option<DateTime<Utc>>)>,
}

impl TenantActor {
    pub(super) fn pull(&mut self, from_start: bool, ctx: &mut Context<Self>) {
        let Some(reads) = self.processing.pending_reads.clone() else {
            return; // SQLite: a single node, nothing to pull
        };
        let nothing_in_hand = self.nothing_in_hand();
        let draining = self
            .work
            .as_ref()
            .is_some_and(|work| work.draining.is_some());
        let stopping = self.retiring || draining;
        // The field itself, not `self.pulls()`: `self.tenant` is read while `pulls` is held.
        let Some(pulls) = self.cluster.as_deref_mut().map(|c| &mut c.pulls) else {
            return;
        };
        if stopping {
            return;
        }
        if pulls.running {
            pulls.again = true;
            return;
        }
        if from_start && nothing_in_hand {
            pulls.cursor = 0;
        }
        pulls.running = true;
        pulls.named_before_pull = std::mem::take(&mut pulls.named);
        let read = reads.after(self.tenant, pulls.cursor, PULL_PAGE);
        ctx.spawn(read.into_actor(self).map(|read, actor, ctx| {
            let Some(pulls) = actor.pulls() else { return };
            pulls.running = false;
            match read {
                Ok(events) => actor.pulled(events, ctx),
                Err(err) => {
                    // Named events wait for the next pull (the poll asks for one).
                    let named = std::mem::take(&mut pulls.named_before_pull);
                    pulls.named.splice(0..0, named);
                    tracing::warn!(tenant = %actor.tenant, error = %err, "could not read pending events; the poll will retry");
                }
            }
        }));
    }

    fn pulls(&mut self) -> Option<&mut PullState> {
        self.cluster.as_deref_mut().map(|c| &mut c.pulls)
    }

    fn pulled(&mut self, events: Vec<PendingEvent>, ctx: &mut Context<Self>) {
        let full = events.len() as i64 >= PULL_PAGE;
        let named = match self.pulls() {
            Some(pulls) => {
                let newest = events.iter().map(|e| e.seq).max().unwrap_or(pulls.cursor);
                pulls.cursor = pulls.cursor.max(newest);
                std::mem::take(&mut pulls.named_before_pull)
            }
            None => Vec::new(),
        };
        for event in events {
            self.take(event.id, event.next_retry_at, event.urgent, ctx);
        }
        for (event_id, not_before) in named {
            self.take(event_id, not_before, false, ctx);
        }
        self.pump(ctx);
        // A `Process` that arrived while this pull ran set `again`: its event needs a new pull.
        let again = self.pulls().is_some_and(|p| std::mem::take(&mut p.again));
        if full || again {
            self.pull(false, ctx);
        }
    }
}

impl Handler<Pull> for TenantActor {
    type Result = ();

    fn handle(&mut self, msg: Pull, ctx: &mut Context<Self>) {
        if self.retiring {
            // As with `Process`: our successor gets it.
            self.supervisor.do_send(Poke(self.tenant));
            return;
        }
        self.last_active = Instant::now();
        self.pull(msg.from_start, ctx);
    }
}
