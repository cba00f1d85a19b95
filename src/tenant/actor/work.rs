//! What a [`TenantActor`](super::TenantActor) holds while it has work: its queue, the events it
//! knows (queued, urgent, claimed ahead, in flight, waiting on a retry timer), the batch in
//! flight's view of the queue's front, and the drain in progress. The actor keeps it boxed and
//! drops it once all of it is empty: at 10,000 live tenants every byte an idle actor keeps is
//! 10 kB, and this is most of an actor (issue 23).

use std::collections::{HashMap, HashSet, VecDeque};

use actix::SpawnHandle;
use tokio::sync::{oneshot, watch};

use super::super::batch::{BATCH, Start, StopAfterAttempt};
use crate::domain::EventId;
use entity::webhook_event;

#[derive(Default)]
pub(super) struct Work {
    pub queue: VecDeque<EventId>,
    /// Events in `queue` or in flight, so a repeated `Process` does not queue twice.
    pub queued: HashSet<EventId>,
    /// Urgent events queued (fraud alerts), kept ahead of the others.
    pub urgent: HashSet<EventId>,
    /// The events of the batch in flight (empty: none is).
    pub in_flight: Vec<EventId>,
    /// Events at the front of `queue` already claimed by the last write of the previous batch
    /// (`None`: it was not pending any more), so the next batch starts without a claim.
    pub claimed: HashMap<EventId, Option<webhook_event::Model>>,
    /// Set when the node drains: the batch in flight stops after its current attempt.
    pub stop_batch: StopAfterAttempt,
    /// The front of `queue`, shown to the batch in flight (see `batch::NextUp`).
    pub next_up: Option<watch::Sender<Vec<EventId>>>,
    pub timers: HashMap<EventId, SpawnHandle>,
    /// Set by `Drain`: no new attempt starts; the sender is told when the current one ends.
    pub draining: Option<Option<oneshot::Sender<()>>>,
}

impl Work {
    /// Queued, waiting on a timer, or in flight.
    pub fn knows(&self, event_id: &EventId) -> bool {
        self.queued.contains(event_id) || self.timers.contains_key(event_id)
    }

    /// Queued, waiting on a timer, or in flight: the tenant's queue depth.
    pub fn depth(&self) -> usize {
        self.queue.len() + self.timers.len() + self.in_flight.len()
    }

    /// Nothing queued, claimed, in flight, on a timer or draining: the actor can drop this.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
            && self.in_flight.is_empty()
            && self.timers.is_empty()
            && self.claimed.is_empty()
            && self.draining.is_none()
    }

    /// An urgent event (a fraud alert, SPEC §17) goes ahead of everything not yet started: after
    /// the claimed front (events already `processing`) and any urgent one before it; the batch
    /// in flight, at most [`BATCH`] events, finishes first.
    pub fn enqueue(&mut self, event_id: EventId, urgent: bool) {
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

    /// The next batch: the claimed events at the front of the queue, or, when the front is not
    /// claimed, the unclaimed events there (claimed together when the batch starts). Never both,
    /// so claimed events do not wait for the claim of the others.
    pub fn take_batch(&mut self) -> Vec<Start> {
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

    /// The batch in flight sees the queue's current front, at most [`BATCH`] events.
    pub fn show_front(&self) {
        let front = self.queue.iter().take(BATCH);
        if let Some(next_up) = &self.next_up
            && !next_up.borrow().iter().eq(front.clone())
        {
            next_up.send_replace(front.copied().collect());
        }
    }
}
