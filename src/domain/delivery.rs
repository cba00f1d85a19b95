//! The delivery log's vocabulary (SPEC §18): how a request to a webhook path ended.

/// How a request to a webhook path was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryOutcome {
    Accepted,
    Duplicate,
    Ignored,
    Refused,
    RateLimited,
    TooLarge,
    BadRequest,
    /// The event could not be stored (500): the provider retries.
    Error,
}

impl DeliveryOutcome {
    pub const ALL: [DeliveryOutcome; 8] = [
        DeliveryOutcome::Accepted,
        DeliveryOutcome::Duplicate,
        DeliveryOutcome::Ignored,
        DeliveryOutcome::Refused,
        DeliveryOutcome::RateLimited,
        DeliveryOutcome::TooLarge,
        DeliveryOutcome::BadRequest,
        DeliveryOutcome::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Accepted => "accepted",
            DeliveryOutcome::Duplicate => "duplicate",
            DeliveryOutcome::Ignored => "ignored",
            DeliveryOutcome::Refused => "refused",
            DeliveryOutcome::RateLimited => "rate_limited",
            DeliveryOutcome::TooLarge => "too_large",
            DeliveryOutcome::BadRequest => "bad_request",
            DeliveryOutcome::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// Whether the delivery's body may be kept: only what was authenticated as a known
    /// tenant's and answered 200 (unauthenticated input is never stored at volume).
    pub fn keeps_body(self) -> bool {
        matches!(
            self,
            DeliveryOutcome::Accepted | DeliveryOutcome::Duplicate | DeliveryOutcome::Ignored
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_and_only_answered_ones_keep_bodies() {
        for outcome in DeliveryOutcome::ALL {
            assert_eq!(DeliveryOutcome::parse(outcome.as_str()), Some(outcome));
        }
        let kept: Vec<_> = DeliveryOutcome::ALL
            .into_iter()
            .filter(|o| o.keeps_body())
            .collect();
        assert_eq!(
            kept,
            [
                DeliveryOutcome::Accepted,
                DeliveryOutcome::Duplicate,
                DeliveryOutcome::Ignored
            ]
        );
    }
}
