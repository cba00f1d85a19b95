//! What Cobro tells the platform's backend (SPEC §21), as rules without I/O: the event types an
//! endpoint can ask for, and which of them an endpoint wants. The outbox (`store::outbox`) writes
//! messages of these types, the relay sends them, the API validates endpoint filters with them.

use std::fmt;

/// An outbound event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboundType {
    PaymentUpdated,
    OrderUpdated,
    DisputeUpdated,
    FraudAlertCreated,
    ClaimUpdated,
    /// A webhook reached the dead letter (`failed`, no attempt left).
    EventFailed,
    /// A seller's MercadoPago OAuth connection changed state.
    ConnectionUpdated,
    /// An endpoint was disabled (410, or five days failing): sent to the platform-wide endpoints.
    EndpointDisabled,
    /// A message asked for by hand to try an endpoint.
    EndpointTest,
}

impl OutboundType {
    /// Every type, in the order the documentation lists them.
    pub const ALL: [OutboundType; 9] = [
        OutboundType::PaymentUpdated,
        OutboundType::OrderUpdated,
        OutboundType::DisputeUpdated,
        OutboundType::FraudAlertCreated,
        OutboundType::ClaimUpdated,
        OutboundType::EventFailed,
        OutboundType::ConnectionUpdated,
        OutboundType::EndpointDisabled,
        OutboundType::EndpointTest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboundType::PaymentUpdated => "payment.updated",
            OutboundType::OrderUpdated => "order.updated",
            OutboundType::DisputeUpdated => "dispute.updated",
            OutboundType::FraudAlertCreated => "fraud_alert.created",
            OutboundType::ClaimUpdated => "claim.updated",
            OutboundType::EventFailed => "event.failed",
            OutboundType::ConnectionUpdated => "connection.updated",
            OutboundType::EndpointDisabled => "endpoint.disabled",
            OutboundType::EndpointTest => "endpoint.test",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// Sent whatever an endpoint's filter says: a test message is asked for by hand, and a
    /// platform-wide endpoint must hear that another endpoint was disabled.
    fn ignores_filters(self) -> bool {
        matches!(
            self,
            OutboundType::EndpointTest | OutboundType::EndpointDisabled
        )
    }
}

impl fmt::Display for OutboundType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an endpoint whose filter is `wanted` (`None`: every type) gets messages of `kind`.
pub fn endpoint_wants(wanted: Option<&[String]>, kind: OutboundType) -> bool {
    kind.ignores_filters()
        || wanted.is_none_or(|types| types.iter().any(|t| t.as_str() == kind.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_reads_back_from_its_name() {
        for kind in OutboundType::ALL {
            assert_eq!(OutboundType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(OutboundType::parse("payment.created"), None);
    }

    #[test]
    fn filters_choose_types_but_not_notices() {
        let only_orders = vec!["order.updated".to_owned()];
        assert!(endpoint_wants(None, OutboundType::PaymentUpdated));
        assert!(endpoint_wants(
            Some(&only_orders),
            OutboundType::OrderUpdated
        ));
        assert!(!endpoint_wants(
            Some(&only_orders),
            OutboundType::PaymentUpdated
        ));
        assert!(endpoint_wants(Some(&[]), OutboundType::EndpointTest));
        assert!(endpoint_wants(
            Some(&only_orders),
            OutboundType::EndpointDisabled
        ));
    }
}
