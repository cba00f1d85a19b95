//! What lets a node act for a tenant (cluster, SPEC §13): the [`Fence`] of its lease (checked by
//! the database in the same transaction as every result the node writes) and the node's
//! [`LeaseClock`] (checked before every outbound call, so a node that was paused or cut off past
//! its lease never calls the provider or GoHighLevel for a tenant that may already have moved).
//!
//! Below the processing core: the tenant actors and the writer carry fences; `cluster` makes them.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::domain::TenantId;

/// Until when this node may believe its leases, by its own monotonic clock. Renewed after each
/// heartbeat from the instant the heartbeat was *sent*, minus a margin, so it always ends before
/// any other node can see this one dead by the database's clock.
///
/// Once the clock has run out, every fence made before is void for good (its `epoch` is past),
/// even after the next heartbeat renews the clock: the tenants must be acquired again, which
/// tells whether another node took them meanwhile.
#[derive(Clone, Debug)]
pub struct LeaseClock {
    base: Instant,
    /// Milliseconds after `base`; 0 means expired.
    valid_until_ms: Arc<AtomicU64>,
    /// Grows each time the clock is renewed after running out.
    epoch: Arc<AtomicU64>,
}

impl Default for LeaseClock {
    fn default() -> Self {
        Self {
            base: Instant::now(),
            valid_until_ms: Arc::new(AtomicU64::new(0)),
            epoch: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl LeaseClock {
    /// A heartbeat sent at `sent` was answered: leases hold until `sent + lease - margin`.
    /// Answers whether a new epoch began (the clock had run out: every fence is void).
    pub fn renew(&self, sent: Instant, lease: Duration) -> bool {
        let lapsed = self.remaining().is_none();
        if lapsed {
            self.epoch.fetch_add(1, Ordering::AcqRel);
        }
        let margin = lease / 5;
        let until = sent.saturating_duration_since(self.base) + lease.saturating_sub(margin);
        let ms = u64::try_from(until.as_millis()).unwrap_or(u64::MAX);
        self.valid_until_ms.store(ms, Ordering::Release);
        lapsed
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub fn expire(&self) {
        self.valid_until_ms.store(0, Ordering::Release);
    }

    /// How long leases still hold; `None` once they may have moved.
    pub fn remaining(&self) -> Option<Duration> {
        let until = Duration::from_millis(self.valid_until_ms.load(Ordering::Acquire));
        let now = self.base.elapsed();
        (until > now).then(|| until - now)
    }
}

/// The lease has (or may have) moved to another node: nothing more may be done for the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this node no longer holds the tenant's lease")]
pub struct LeaseLost;

/// A node's right to process one tenant: the lease's fence token, and the node's clock.
#[derive(Clone, Debug)]
pub struct Fence {
    pub tenant: TenantId,
    pub token: i64,
    clock: LeaseClock,
    epoch: u64,
}

impl Fence {
    /// A fence of the clock's current epoch.
    pub fn new(tenant: TenantId, token: i64, clock: LeaseClock) -> Self {
        let epoch = clock.epoch();
        Self {
            tenant,
            token,
            clock,
            epoch,
        }
    }

    /// Whether the node may still act on this lease, and for how long.
    fn remaining(&self) -> Option<Duration> {
        (self.clock.epoch() == self.epoch)
            .then(|| self.clock.remaining())
            .flatten()
    }

    /// What the pipeline writer checks in the database: `(tenant, fence)`.
    pub fn token(&self) -> FenceToken {
        FenceToken {
            tenant: self.tenant,
            token: self.token,
        }
    }

    /// Runs an outbound call only while the lease holds, and cuts it when the lease would end.
    pub async fn guard<F: Future>(&self, call: F) -> Result<F::Output, LeaseLost> {
        let remaining = self.remaining().ok_or(LeaseLost)?;
        tokio::time::timeout(remaining, call)
            .await
            .map_err(|_| LeaseLost)
    }
}

/// The part of a [`Fence`] that travels with a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FenceToken {
    pub tenant: TenantId,
    pub token: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_clock_holds_nothing() {
        assert_eq!(LeaseClock::default().remaining(), None);
    }

    #[test]
    fn a_renewal_holds_for_the_lease_less_a_margin() {
        let clock = LeaseClock::default();
        clock.renew(Instant::now(), Duration::from_secs(10));
        let left = clock.remaining().unwrap_or_default();
        assert!(
            left > Duration::from_secs(7) && left <= Duration::from_secs(8),
            "{left:?}"
        );
        clock.expire();
        assert_eq!(clock.remaining(), None);
    }

    #[test]
    fn leases_run_out_without_heartbeats() {
        let clock = LeaseClock::default();
        clock.renew(Instant::now(), Duration::from_millis(50));
        assert!(clock.remaining().is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(clock.remaining(), None);
    }

    #[tokio::test]
    async fn guard_runs_under_a_live_lease_only() {
        let clock = LeaseClock::default();
        clock.renew(Instant::now(), Duration::from_secs(10));
        let fence = Fence::new(TenantId(uuid::Uuid::nil()), 1, clock.clone());
        assert_eq!(fence.guard(async { 1 }).await, Ok(1));
        clock.expire();
        assert_eq!(fence.guard(async { 1 }).await, Err(LeaseLost));
    }

    #[tokio::test]
    async fn a_fence_from_before_the_clock_ran_out_stays_void() {
        let clock = LeaseClock::default();
        clock.renew(Instant::now(), Duration::from_secs(10));
        let old = Fence::new(TenantId(uuid::Uuid::nil()), 1, clock.clone());
        clock.expire();
        assert!(
            clock.renew(Instant::now(), Duration::from_secs(10)),
            "a new epoch"
        );
        assert_eq!(old.guard(async { 1 }).await, Err(LeaseLost));
        let new = Fence::new(TenantId(uuid::Uuid::nil()), 2, clock.clone());
        assert_eq!(new.guard(async { 1 }).await, Ok(1));
    }
}
