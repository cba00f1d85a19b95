//! The outbound rate limiters a tenant actor owns (`governor`, token buckets): payment-provider
//! calls per second (`mp_requests_per_second`) and GoHighLevel calls per 10 s, both per tenant.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::MonotonicClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use super::processing::Settings;

/// A limiter on the standard library's monotonic clock: 40 bytes against the default's 72 (its
/// `quanta` clock carries a calibration), for every live tenant (issue 23). Reading the clock
/// costs a few nanoseconds more, once per outbound call.
pub type Limiter =
    RateLimiter<NotKeyed, InMemoryState, MonotonicClock, NoOpMiddleware<std::time::Instant>>;

pub struct Limiters {
    pub provider: Limiter,
    pub ghl: Limiter,
}

impl Limiters {
    pub fn from_settings(config: &Settings) -> Self {
        let limiter = |quota| RateLimiter::direct_with_clock(quota, MonotonicClock);
        Self {
            provider: limiter(Quota::per_second(config.mp_requests_per_second)),
            ghl: limiter(per_ten_seconds(config.ghl_requests_per_10s)),
        }
    }
}

/// `n` per 10 s with a burst of `n`: the shape of GoHighLevel's documented limit.
fn per_ten_seconds(n: NonZeroU32) -> Quota {
    let period = Duration::from_secs(10) / n.get();
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(n))
        .allow_burst(n)
}
