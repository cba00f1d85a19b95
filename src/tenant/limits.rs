//! The outbound rate limiters a tenant actor owns (`governor`, token buckets): payment-provider
//! calls per second (`mp_requests_per_second`), one bucket per provider since each provider
//! counts its own limits per seller account (Stripe per connected account), and GoHighLevel
//! calls per 10 s, all per tenant.

use std::num::NonZeroU32;
use std::sync::OnceLock;
use std::time::Duration;

use governor::clock::MonotonicClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use super::processing::Settings;
use crate::domain::Provider;

/// A limiter on the standard library's monotonic clock: 40 bytes against the default's 72 (its
/// `quanta` clock carries a calibration), for every live tenant (issue 23). Reading the clock
/// costs a few nanoseconds more, once per outbound call.
pub type Limiter =
    RateLimiter<NotKeyed, InMemoryState, MonotonicClock, NoOpMiddleware<std::time::Instant>>;

pub struct Limiters {
    mercadopago: Limiter,
    /// Made on the tenant's first Stripe call: most tenants never make one, and each live actor
    /// counts (issue 23).
    stripe: OnceLock<Box<Limiter>>,
    provider_quota: Quota,
    pub ghl: Limiter,
}

impl Limiters {
    pub fn from_settings(config: &Settings) -> Self {
        let provider_quota = Quota::per_second(config.mp_requests_per_second);
        Self {
            mercadopago: limiter(provider_quota),
            stripe: OnceLock::new(),
            provider_quota,
            ghl: limiter(per_ten_seconds(config.ghl_requests_per_10s)),
        }
    }

    /// The bucket of the tenant's calls to `provider`.
    pub fn provider(&self, provider: Provider) -> &Limiter {
        match provider {
            Provider::MercadoPago => &self.mercadopago,
            Provider::Stripe => self
                .stripe
                .get_or_init(|| Box::new(limiter(self.provider_quota))),
        }
    }
}

fn limiter(quota: Quota) -> Limiter {
    RateLimiter::direct_with_clock(quota, MonotonicClock)
}

/// `n` per 10 s with a burst of `n`: the shape of GoHighLevel's documented limit.
fn per_ten_seconds(n: NonZeroU32) -> Quota {
    let period = Duration::from_secs(10) / n.get();
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(n))
        .allow_burst(n)
}
