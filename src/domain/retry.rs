//! The retry policy (SPEC §6) in one place, pure: which HTTP answers are worth another attempt,
//! how long to wait before it (the schedule, or a longer `Retry-After`), and when attempts run
//! out. `tenant::failure` classifies with it, the pipeline schedules with it, the config builds
//! its schedule; nothing here does I/O or reads the clock. It sits in `domain` (the bottom layer)
//! so that `config` can hold a schedule without importing `tenant`.

use std::time::Duration;

/// Delays before each retry; `len() + 1` is the number of attempts an event gets.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule(Vec<Duration>);

impl RetrySchedule {
    /// `None` for an empty schedule: an event always gets at least one retry's worth of delays.
    pub fn new(delays: Vec<Duration>) -> Option<Self> {
        (!delays.is_empty()).then_some(Self(delays))
    }

    pub fn delays(&self) -> &[Duration] {
        &self.0
    }

    /// Attempts a new event (or a manual retry) gets: one, then one per delay.
    pub fn attempts(&self) -> i32 {
        i32::try_from(self.0.len()).unwrap_or(i32::MAX - 1) + 1
    }

    /// How long to wait before the next attempt of an event that has made `attempts` of its
    /// `max_attempts`, after a failure that asked for `retry_after` (a 429's or 503's header).
    /// `None` when the failure is permanent or no attempt is left.
    ///
    /// The delay is counted from the end of the schedule: with `remaining` attempts left the
    /// next one waits `delays[len - remaining]`. A manual retry raises `max_attempts` by a whole
    /// schedule, so it starts the schedule again however many attempts were made before.
    pub fn next_delay(
        &self,
        attempts: i32,
        max_attempts: i32,
        permanent: bool,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let remaining = max_attempts.saturating_sub(attempts);
        if permanent || remaining <= 0 {
            return None;
        }
        let remaining = usize::try_from(remaining).unwrap_or(usize::MAX);
        let index = self.0.len().saturating_sub(remaining);
        let scheduled = self.0.get(index).copied().unwrap_or_default();
        // The server's own wait wins when it is longer; never shorter than the schedule.
        Some(retry_after.map_or(scheduled, |asked| asked.max(scheduled)))
    }
}

/// Is an HTTP answer of an upstream service worth another attempt? Timeouts (408), rate limits
/// (429) and server errors (5xx) are; other 4xx are the request's fault and final, except a 404
/// when the service may simply not know the resource yet (`not_found_is_transient`: MercadoPago
/// answers 404 for a payment it has just notified).
pub fn status_is_transient(status: u16, not_found_is_transient: bool) -> bool {
    match status {
        404 => not_found_is_transient,
        408 | 429 | 500..=599 => true,
        _ => false,
    }
}

/// A 429 from a service that documents no `Retry-After` (GoHighLevel) waits at least `minimum`.
pub fn at_least(retry_after: Option<Duration>, minimum: Duration) -> Duration {
    retry_after.unwrap_or_default().max(minimum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn schedule() -> RetrySchedule {
        RetrySchedule::new(vec![secs(60), secs(300), secs(900)]).expect("not empty")
    }

    #[test]
    fn an_empty_schedule_is_refused() {
        assert_eq!(RetrySchedule::new(vec![]), None);
    }

    #[test]
    fn a_new_event_gets_one_attempt_per_delay_plus_one() {
        assert_eq!(schedule().attempts(), 4);
    }

    #[test]
    fn transient_failures_walk_the_schedule_then_stop() {
        let s = schedule();
        let max = s.attempts();
        assert_eq!(s.next_delay(1, max, false, None), Some(secs(60)));
        assert_eq!(s.next_delay(2, max, false, None), Some(secs(300)));
        assert_eq!(s.next_delay(3, max, false, None), Some(secs(900)));
        assert_eq!(s.next_delay(4, max, false, None), None);
        assert_eq!(s.next_delay(9, max, false, None), None);
    }

    #[test]
    fn a_manual_retry_starts_the_schedule_again() {
        let s = schedule();
        // Four attempts made and failed; a person's retry raises max_attempts by a schedule.
        let max = 4 + s.attempts();
        assert_eq!(s.next_delay(5, max, false, None), Some(secs(60)));
        assert_eq!(s.next_delay(8, max, false, None), None);
    }

    #[test]
    fn permanent_failures_are_never_retried() {
        assert_eq!(schedule().next_delay(1, 4, true, None), None);
    }

    #[test]
    fn retry_after_wins_only_when_longer() {
        let s = schedule();
        assert_eq!(
            s.next_delay(1, 4, false, Some(secs(3600))),
            Some(secs(3600))
        );
        assert_eq!(s.next_delay(1, 4, false, Some(secs(5))), Some(secs(60)));
    }

    #[test]
    fn statuses_split_as_the_spec_says() {
        for transient in [408, 429, 500, 502, 503, 599] {
            assert!(status_is_transient(transient, false), "{transient}");
        }
        for permanent in [400, 401, 403, 409, 422] {
            assert!(!status_is_transient(permanent, true), "{permanent}");
        }
        assert!(status_is_transient(404, true));
        assert!(!status_is_transient(404, false));
    }

    #[test]
    fn a_429_without_a_long_enough_retry_after_waits_the_minimum() {
        assert_eq!(at_least(None, secs(10)), secs(10));
        assert_eq!(at_least(Some(secs(2)), secs(10)), secs(10));
        assert_eq!(at_least(Some(secs(30)), secs(10)), secs(30));
    }
}
