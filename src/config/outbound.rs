//! The outbound events' settings (SPEC §21): the retry schedule of a message, the timeout of an
//! attempt, when a failing endpoint is disabled, whether private addresses may be called, and how
//! many (endpoint, tenant) pairs are sent at once. Read with the rest (`COBRO_OUTBOUND_*`).

use std::time::Duration;

use serde::Deserialize;

use super::checks::{positive_millis, schedule_of};
use super::values::{ConfigError, ScheduleInput};
use crate::domain::RetrySchedule;

#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// Delays before each retry of a message (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
    pub retry_schedule: RetrySchedule,
    /// One attempt's timeout (15 s).
    pub timeout: Duration,
    /// An endpoint failing this long is disabled (5 days).
    pub disable_after: Duration,
    /// `COBRO_OUTBOUND_ALLOW_PRIVATE`: `http://` and private, loopback and link-local addresses
    /// may be called (tests, private networks). Off: `https://` to public addresses only.
    pub allow_private: bool,
    /// (endpoint, tenant) pairs sent at the same time, each one message at a time.
    pub concurrency: usize,
    /// How often the relay looks for due messages without being woken (retries, other nodes').
    pub poll_interval: Duration,
    /// Delivered messages older than this many days are deleted (0: kept forever).
    pub retention_days: u64,
}

#[derive(Deserialize)]
pub(super) struct RawOutbound {
    outbound_retry_schedule: ScheduleInput,
    outbound_timeout_ms: u64,
    outbound_disable_after_secs: u64,
    outbound_allow_private: bool,
    outbound_concurrency: usize,
    outbound_poll_interval_ms: u64,
    outbound_retention_days: u64,
}

impl RawOutbound {
    pub(super) fn validate(self) -> Result<OutboundConfig, ConfigError> {
        Ok(OutboundConfig {
            retry_schedule: schedule_of("outbound_retry_schedule", self.outbound_retry_schedule)?,
            timeout: positive_millis("outbound_timeout_ms", self.outbound_timeout_ms)?,
            disable_after: Duration::from_secs(self.outbound_disable_after_secs.max(1)),
            allow_private: self.outbound_allow_private,
            concurrency: self.outbound_concurrency.max(1),
            poll_interval: positive_millis(
                "outbound_poll_interval_ms",
                self.outbound_poll_interval_ms,
            )?,
            retention_days: self.outbound_retention_days,
        })
    }
}
