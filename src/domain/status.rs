//! Status vocabularies and the SPEC §7 mapping from MercadoPago's `status` to Cobro's.

use super::OrderStatus;

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

/// Cobro's payment status: MP's word in upper case, or `UNKNOWN` for a word MP adds later.
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

/// SPEC §7: MP `status` → (payment status, order status the order should move to, if any).
pub fn map_mp_status(mp_status: &str) -> (PaymentStatus, Option<OrderStatus>) {
    use OrderStatus as O;
    use PaymentStatus as P;
    match mp_status {
        "approved" => (P::Approved, Some(O::Paid)),
        "pending" => (P::Pending, Some(O::PendingPayment)),
        "authorized" => (P::Authorized, Some(O::PendingPayment)),
        "in_process" => (P::InProcess, Some(O::PendingPayment)),
        "in_mediation" => (P::InMediation, Some(O::Paid)),
        "cancelled" => (P::Cancelled, Some(O::Cancelled)),
        "rejected" => (P::Rejected, Some(O::Rejected)),
        "refunded" => (P::Refunded, Some(O::Refunded)),
        "charged_back" => (P::ChargedBack, Some(O::ChargedBack)),
        _ => (P::Unknown, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_table_maps_every_mp_status() {
        let table = [
            ("approved", "APPROVED", Some("PAID")),
            ("pending", "PENDING", Some("PENDING_PAYMENT")),
            ("authorized", "AUTHORIZED", Some("PENDING_PAYMENT")),
            ("in_process", "IN_PROCESS", Some("PENDING_PAYMENT")),
            ("in_mediation", "IN_MEDIATION", Some("PAID")),
            ("cancelled", "CANCELLED", Some("CANCELLED")),
            ("rejected", "REJECTED", Some("REJECTED")),
            ("refunded", "REFUNDED", Some("REFUNDED")),
            ("charged_back", "CHARGED_BACK", Some("CHARGED_BACK")),
            ("something_new", "UNKNOWN", None),
        ];
        for (mp, payment, order) in table {
            let (p, o) = map_mp_status(mp);
            assert_eq!(p.as_str(), payment, "{mp}");
            assert_eq!(o.map(OrderStatus::as_str), order, "{mp}");
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
