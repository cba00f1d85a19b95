//! SPEC §7: MercadoPago's payment `status` words, in Cobro's vocabulary.

use crate::domain::PaymentStatus;

/// MercadoPago's `status` as Cobro's payment status; a word MP adds later is `UNKNOWN` (and moves
/// no order).
pub fn map(mp_status: &str) -> PaymentStatus {
    use PaymentStatus as P;
    match mp_status {
        "approved" => P::Approved,
        "pending" => P::Pending,
        "authorized" => P::Authorized,
        "in_process" => P::InProcess,
        "in_mediation" => P::InMediation,
        "cancelled" => P::Cancelled,
        "rejected" => P::Rejected,
        "refunded" => P::Refunded,
        "charged_back" => P::ChargedBack,
        _ => P::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrderStatus;

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
            let status = map(mp);
            assert_eq!(status.as_str(), payment, "{mp}");
            assert_eq!(
                status.order_target().map(OrderStatus::as_str),
                order,
                "{mp}"
            );
        }
    }
}
