//! Whose turn it is when webhooks and pipeline writes both wait for the writer: a deficit
//! counter, as in deficit round robin, over the writer's time rather than over counts.
//!
//! Webhooks come first: an acknowledgement is what the provider waits for, while processing can
//! wait in the database. But processing must not stop while ingest is flat out (issue 9: "a
//! saturated ingest does not stop processing"), so it keeps [`PIPELINE_SHARE`] of the writer's
//! time whenever both wait. When only one kind waits it goes, whatever the counter says.
//! `writer::task` asks and records; nothing else reads it.

use std::time::Duration;

/// The writer's time processing keeps while webhooks keep coming.
const PIPELINE_SHARE: f64 = 0.25;
/// How far either side may get ahead: a burst of one kind after a quiet spell of the other is
/// bounded by this, not by how long the other was quiet.
const MAX_CREDIT: Duration = Duration::from_millis(5);

/// The writer's time processing is owed (positive) or has had beyond its share (negative).
#[derive(Debug, Default)]
pub(super) struct Share {
    pipeline_credit: f64,
}

impl Share {
    /// Whether pipeline writes go next when both kinds wait.
    pub fn pipeline_first(&self) -> bool {
        self.pipeline_credit > 0.0
    }

    /// A webhook cycle took `took`: processing earns its share of that time.
    pub fn webhooks_took(&mut self, took: Duration) {
        let earned = took.as_secs_f64() * PIPELINE_SHARE / (1.0 - PIPELINE_SHARE);
        self.pipeline_credit = (self.pipeline_credit + earned).min(MAX_CREDIT.as_secs_f64());
    }

    /// A pipeline cycle took `took`.
    pub fn pipeline_took(&mut self, took: Duration) {
        self.pipeline_credit =
            (self.pipeline_credit - took.as_secs_f64()).max(-MAX_CREDIT.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// With both kinds always waiting, each cycle 1 ms: the share of pipeline cycles.
    fn pipeline_cycles_of(total: usize) -> usize {
        let mut share = Share::default();
        let mut pipeline = 0;
        for _ in 0..total {
            if share.pipeline_first() {
                share.pipeline_took(MS);
                pipeline += 1;
            } else {
                share.webhooks_took(MS);
            }
        }
        pipeline
    }

    #[test]
    fn both_waiting_processing_keeps_its_share_and_no_more() {
        let pipeline = pipeline_cycles_of(1000);
        assert!((240..=260).contains(&pipeline), "{pipeline} of 1000");
    }

    #[test]
    fn webhooks_go_first_from_the_start() {
        assert!(!Share::default().pipeline_first());
    }

    #[test]
    fn a_quiet_spell_of_webhooks_does_not_buy_processing_a_long_burst() {
        let mut share = Share::default();
        for _ in 0..1000 {
            share.webhooks_took(MS);
        }
        let mut burst = 0;
        while share.pipeline_first() {
            share.pipeline_took(MS);
            burst += 1;
        }
        assert_eq!(burst, 5, "bounded by MAX_CREDIT");
    }

    #[test]
    fn a_long_pipeline_cycle_gives_webhooks_the_next_turns() {
        let mut share = Share::default();
        share.webhooks_took(3 * MS);
        assert!(share.pipeline_first());
        share.pipeline_took(MS * 9 / 2);
        let mut webhook_turns = 0;
        while !share.pipeline_first() {
            share.webhooks_took(MS);
            webhook_turns += 1;
        }
        // 1 ms earned, 4.5 ms used: 3.5 ms owed back at a third of a ms per webhook ms.
        assert_eq!(webhook_turns, 11);
    }
}
