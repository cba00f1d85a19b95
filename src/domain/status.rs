//! Status vocabularies (SPEC §6–7) and which order status a payment status moves its order to.
//! A provider's own status words are mapped in its adapter (`provider::*`).

use super::order_state::OrderStatus;

/// Lifecycle of a stored webhook event (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    Pending,
    Processing,
    Success,
    Failed,
}

impl EventStatus {
    pub const ALL: [EventStatus; 4] = [
        EventStatus::Pending,
        EventStatus::Processing,
        EventStatus::Success,
        EventStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Pending => "pending",
            EventStatus::Processing => "processing",
            EventStatus::Success => "success",
            EventStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Cobro's payment status (MercadoPago's words in upper case, SPEC §7), or `UNKNOWN` for a word a
/// provider adds later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    Approved,
    Pending,
    Authorized,
    InProcess,
    InMediation,
    Cancelled,
    Rejected,
    Refunded,
    ChargedBack,
    Unknown,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Approved => "APPROVED",
            PaymentStatus::Pending => "PENDING",
            PaymentStatus::Authorized => "AUTHORIZED",
            PaymentStatus::InProcess => "IN_PROCESS",
            PaymentStatus::InMediation => "IN_MEDIATION",
            PaymentStatus::Cancelled => "CANCELLED",
            PaymentStatus::Rejected => "REJECTED",
            PaymentStatus::Refunded => "REFUNDED",
            PaymentStatus::ChargedBack => "CHARGED_BACK",
            PaymentStatus::Unknown => "UNKNOWN",
        }
    }
}

impl PaymentStatus {
    /// SPEC §7: the status an order should move to when one of its payments reaches this one
    /// (`None` for a status Cobro does not know, which leaves the order alone).
    pub fn order_target(self) -> Option<OrderStatus> {
        use OrderStatus as O;
        use PaymentStatus as P;
        match self {
            P::Approved | P::InMediation => Some(O::Paid),
            P::Pending | P::Authorized | P::InProcess => Some(O::PendingPayment),
            P::Cancelled => Some(O::Cancelled),
            P::Rejected => Some(O::Rejected),
            P::Refunded => Some(O::Refunded),
            P::ChargedBack => Some(O::ChargedBack),
            P::Unknown => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_table_moves_orders() {
        use PaymentStatus as P;
        let table = [
            (P::Approved, Some("PAID")),
            (P::Pending, Some("PENDING_PAYMENT")),
            (P::Authorized, Some("PENDING_PAYMENT")),
            (P::InProcess, Some("PENDING_PAYMENT")),
            (P::InMediation, Some("PAID")),
            (P::Cancelled, Some("CANCELLED")),
            (P::Rejected, Some("REJECTED")),
            (P::Refunded, Some("REFUNDED")),
            (P::ChargedBack, Some("CHARGED_BACK")),
            (P::Unknown, None),
        ];
        for (payment, order) in table {
            assert_eq!(
                payment.order_target().map(OrderStatus::as_str),
                order,
                "{payment:?}"
            );
        }
    }

    #[test]
    fn event_status_round_trips() {
        for status in EventStatus::ALL {
            assert_eq!(EventStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(EventStatus::parse("done"), None);
    }
}
