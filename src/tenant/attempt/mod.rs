//! One attempt on one event, its steps in the order they run (SPEC §6):
//!
//! 1. claimed, by the batch (`tenant::batch`), which decides when each step below runs;
//! 2. fetched from the tenant's provider, under its rate limit and lease, with the seller's token
//!    refreshed once when refused ([`payment`] `Steps::fetch`, [`credentials`]);
//! 3. checked: the payment is the tenant's (`payment::check_seller`);
//! 4. stored, with its order moved forward, through the writer (`Steps::store_and_tag`, or queued
//!    by the batch and answered in `Steps::payment_answered`);
//! 5. the buyer tagged in GoHighLevel once per payment ([`tagging`]);
//! 6. the result recorded: `success`, or a failed attempt with its retry ([`record`]);
//! 7. broadcast ([`publish`]).
//!
//! A notification that is not about one payment (an order, a dispute, a fraud alert, a claim)
//! runs the same steps on what it names ([`resource`], which fetches through [`fetch`]). The
//! files here import one another in one direction only (`resource` → `fetch` → `payment` →
//! `record` → `publish` → this file); none names the batch.

pub mod credentials;
pub mod fetch;
pub mod payment;
pub mod publish;
pub mod record;
pub mod resource;
pub mod tagging;

use chrono::{DateTime, Utc};
use entity::webhook_event;

use crate::domain::{PaymentSnapshot, TenantId};
use crate::ghl::GhlSettings;
use crate::lease::{Fence, FenceToken};
use crate::store::payments::StoredPayment;
use crate::tenant::failure::{self, Failure};
use crate::tenant::limits::Limiters;
use crate::tenant::processing::Processing;
use crate::writer::{PaymentUpdate, WriteError};

/// What the actor must do after an event's attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Succeeded,
    /// The event was not pending (already done, failed, or taken): nothing happened.
    Skipped,
    RetryAt(DateTime<Utc>),
    Failed,
    /// Cluster: the tenant's lease moved (or this node's clock ran out) mid-attempt; nothing more
    /// was called or written, and the new owner takes the event up again.
    LeaseLost,
}

impl AttemptOutcome {
    /// The `outcome` of the attempt's span.
    pub fn label(self) -> &'static str {
        match self {
            AttemptOutcome::Succeeded => "success",
            AttemptOutcome::Skipped => "skipped",
            AttemptOutcome::RetryAt(_) => "retry",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::LeaseLost => "lease_lost",
        }
    }
}

/// Why an attempt stopped before `success`.
pub enum Stop {
    Failed(Failure),
    LeaseLost,
}

impl From<Failure> for Stop {
    fn from(failure: Failure) -> Self {
        Stop::Failed(failure)
    }
}

impl From<WriteError> for Stop {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::Database(err) => Stop::Failed(failure::from_db(err)),
            WriteError::LeaseLost(_) => Stop::LeaseLost,
        }
    }
}

/// Runs an outbound call under the tenant's lease (cluster), or as it is (single node).
pub async fn guarded<F: std::future::Future>(
    fence: Option<&Fence>,
    call: F,
) -> Result<F::Output, Stop> {
    match fence {
        Some(fence) => fence.guard(call).await.map_err(|_| Stop::LeaseLost),
        None => Ok(call.await),
    }
}

/// Steps 2–3 done: the payment as its provider answered it and the write that stores it.
pub struct Fetched {
    pub update: PaymentUpdate,
    pub snapshot: PaymentSnapshot,
    /// The tenant's GoHighLevel settings, when this payment's buyer is to be tagged.
    pub tagging: Option<GhlSettings>,
}

/// A successful attempt, for its broadcasts.
pub struct Processed {
    pub payment: StoredPayment,
    pub snapshot: PaymentSnapshot,
    pub mapped_order_status: Option<&'static str>,
    pub event: webhook_event::Model,
}

/// What the steps of a tenant's attempts share.
pub struct Steps<'a> {
    pub svc: &'a Processing,
    pub limits: &'a Limiters,
    pub fence: Option<&'a Fence>,
    pub tenant: TenantId,
}

impl Steps<'_> {
    pub fn lease(&self) -> Option<FenceToken> {
        self.fence.map(Fence::token)
    }

    /// An outbound call under this tenant's lease.
    pub async fn guarded<F: std::future::Future>(&self, call: F) -> Result<F::Output, Stop> {
        guarded(self.fence, call).await
    }
}
