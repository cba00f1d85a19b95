//! The outbound rate limiters a tenant actor owns (`governor`, token buckets): payment-provider
//! calls per second (`mp_requests_per_second`) and GoHighLevel calls per 10 s, both per tenant.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::processing::Settings;

pub struct Limiters {
    pub provider: DefaultDirectRateLimiter,
    pub ghl: DefaultDirectRateLimiter,
}

impl Limiters {
    pub fn from_settings(config: &Settings) -> Self {
        Self {
            provider: RateLimiter::direct(Quota::per_second(config.mp_requests_per_second)),
            ghl: RateLimiter::direct(per_ten_seconds(config.ghl_requests_per_10s)),
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
