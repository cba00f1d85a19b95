//! How many of the writer's tasks may commit pipeline cycles at once while webhooks are coming
//! in (issue 26): all but one while webhooks are stored within [`ACK_TARGET`] on average, one
//! when they are not (and for [`HOLD`] after), every task once webhooks stop. Shared by the
//! tasks (`task` asks and records) and fed by `Writer::store`.
//!
//! Why: on PostgreSQL four tasks commit in parallel, each choosing its next cycle alone. Under
//! overload they were all in long pipeline cycles (60 ms, 100 writes) when a webhook came, and
//! processing (its provider calls, reads and writes) took the machine: acknowledgements fell to
//! the processing rate, seconds late. One lane kept for webhooks bounds their wait in the writer;
//! one lane for processing while acknowledgements are late slows processing down (each tenant
//! waits for its write before its next call) and hands the CPU back to them. Measured in
//! docs/BENCHMARKS.md ("PostgreSQL with TLS, acknowledgements first"). SQLite's single task is
//! never held back (one lane is always allowed), so nothing changes there.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// How long after a webhook cycle was gathered more webhooks are expected.
pub(super) const INGEST_ACTIVE: Duration = Duration::from_millis(20);
/// Webhooks stored slower than this on average: processing steps back to one lane.
const ACK_TARGET: Duration = Duration::from_millis(20);
/// How long processing keeps to one lane after webhooks were slow: lanes handed back at once
/// let processing take the machine again before the acknowledgements have recovered.
const HOLD: Duration = Duration::from_millis(500);

pub(super) struct Lanes {
    /// Pipeline cycles allowed at once while ingesting: the tasks but one, at least one.
    limit: usize,
    in_flight: AtomicUsize,
    /// How long storing a webhook took lately (a moving average, µs): from the handler handing
    /// it over to its answer.
    ack_micros: AtomicU64,
    /// Until when processing keeps to one lane: [`HOLD`] after the average was last too slow.
    slow_until: Mutex<Option<Instant>>,
    /// When a webhook was last handed to the writer or gathered into a cycle.
    last_webhooks: Mutex<Option<Instant>>,
    /// A pipeline cycle ended: a task waiting for a lane may look again.
    freed: Notify,
}

impl Lanes {
    pub fn new(tasks: usize) -> Self {
        Self {
            limit: tasks.saturating_sub(1).max(1),
            ack_micros: AtomicU64::new(0),
            slow_until: Mutex::new(None),
            in_flight: AtomicUsize::new(0),
            last_webhooks: Mutex::new(None),
            freed: Notify::new(),
        }
    }

    /// Runs `store` (handing a webhook to the writer and waiting for its answer) and records it:
    /// webhooks count as coming in from the moment one is handed over, and how long it took
    /// feeds the average. On arrival, not only when a cycle gathers them: under overload every
    /// task could be in a long pipeline cycle for more than [`INGEST_ACTIVE`] while webhooks
    /// queued, which read as "no webhooks" and opened every lane and long cycles to processing
    /// (docs/BENCHMARKS.md, "Acknowledgements first on PostgreSQL").
    pub async fn webhook<T>(&self, store: impl Future<Output = T>) -> T {
        let started = Instant::now();
        self.webhooks_seen();
        let stored = store.await;
        self.webhook_stored(started.elapsed());
        stored
    }

    /// A webhook was handed over or gathered into a cycle.
    pub fn webhooks_seen(&self) {
        if let Ok(mut last) = self.last_webhooks.lock() {
            *last = Some(Instant::now());
        }
    }

    /// Until when webhooks count as coming in (`None`: they do not).
    pub fn ingesting_until(&self) -> Option<Instant> {
        let last = self.last_webhooks.lock().ok().and_then(|last| *last)?;
        let until = last + INGEST_ACTIVE;
        (until > Instant::now()).then_some(until)
    }

    /// Storing a webhook took `took`.
    fn webhook_stored(&self, took: Duration) {
        let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let average = self.ack_micros.load(Ordering::Relaxed);
        // An exponential moving average over ~64 webhooks; a lost update between two stores
        // racing is one sample less, which the next ones make up for.
        let next = average - average / 64 + sample / 64;
        self.ack_micros.store(next, Ordering::Relaxed);
        if Duration::from_micros(next) >= ACK_TARGET
            && let Ok(mut slow) = self.slow_until.lock()
        {
            *slow = Some(Instant::now() + HOLD);
        }
    }

    /// Pipeline cycles allowed at once now: while webhooks come in, all lanes but one as long as
    /// they are stored within [`ACK_TARGET`], one when they are not; every task once they stop.
    fn allowed(&self) -> usize {
        if self.ingesting_until().is_none() {
            return usize::MAX;
        }
        let slow = self.slow_until.lock().ok().and_then(|until| *until);
        match slow {
            Some(until) if until > Instant::now() => 1,
            _ => self.limit,
        }
    }

    /// Whether a task may start a pipeline cycle now.
    pub fn pipeline_open(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) < self.allowed()
    }

    pub fn pipeline_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    pub fn pipeline_ended(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.freed.notify_one();
    }

    /// Resolves when a pipeline cycle ends (or already has since the last wait).
    pub async fn freed(&self) {
        self.freed.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_lane_is_kept_for_webhooks_while_they_come() {
        let lanes = Lanes::new(4);
        for _ in 0..3 {
            assert!(lanes.pipeline_open());
            lanes.pipeline_started();
        }
        assert!(lanes.pipeline_open(), "no webhooks: every task may process");
        lanes.webhooks_seen();
        assert!(
            !lanes.pipeline_open(),
            "webhooks coming: the fourth task is theirs"
        );
        lanes.pipeline_ended();
        assert!(lanes.pipeline_open());
        lanes.pipeline_started();
        tokio::time::advance(INGEST_ACTIVE).await;
        assert!(lanes.pipeline_open(), "webhooks stopped: open again");
    }

    #[tokio::test(start_paused = true)]
    async fn slow_webhooks_keep_processing_to_one_lane_for_a_while() {
        let lanes = Lanes::new(4);
        lanes.webhooks_seen();
        lanes.pipeline_started();
        for _ in 0..200 {
            lanes.webhook_stored(ACK_TARGET / 2);
        }
        assert!(lanes.pipeline_open(), "webhooks stored in time: lanes open");
        for _ in 0..200 {
            lanes.webhook_stored(ACK_TARGET * 4);
        }
        assert!(
            !lanes.pipeline_open(),
            "stored late: processing keeps to one lane"
        );
        for _ in 0..400 {
            lanes.webhook_stored(Duration::ZERO);
        }
        tokio::time::advance(HOLD / 2).await;
        lanes.webhooks_seen();
        assert!(!lanes.pipeline_open(), "held though the average recovered");
        tokio::time::advance(HOLD / 2).await;
        lanes.webhooks_seen();
        assert!(lanes.pipeline_open(), "handed back after the hold");
    }

    #[tokio::test(start_paused = true)]
    async fn a_webhook_waiting_for_its_cycle_counts_as_coming_in() {
        let lanes = Lanes::new(4);
        for _ in 0..3 {
            lanes.pipeline_started();
        }
        // Every lane busy with long pipeline cycles, long after the last webhook cycle: a
        // webhook handed over now keeps the fourth lane for webhooks while it waits.
        tokio::time::advance(INGEST_ACTIVE * 10).await;
        let (answer, answered) = tokio::sync::oneshot::channel::<()>();
        let waiting = lanes.webhook(answered);
        tokio::pin!(waiting);
        assert!(futures_util::poll!(&mut waiting).is_pending());
        assert!(
            !lanes.pipeline_open(),
            "a webhook waits: the fourth task is its"
        );
        assert!(answer.send(()).is_ok());
        assert!(waiting.await.is_ok());
    }

    #[test]
    fn a_single_task_is_never_held_back() {
        let lanes = Lanes::new(1);
        lanes.webhooks_seen();
        assert!(lanes.pipeline_open());
    }
}
