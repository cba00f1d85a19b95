//! The order state machine of SPEC §7. Orders only move forward: MP promises no delivery order and
//! a late `approved` must never re-open a `REFUNDED` or `DELIVERED` order (devsite-docs #1479).
//!
//! ```text
//! CREATED → PENDING_PAYMENT → {PAID, REJECTED, CANCELLED}
//! PAID → {REFUNDED, DELIVERED, CHARGED_BACK}
//! REJECTED → {PENDING_PAYMENT, PAID}          (the buyer tries again)
//! ```
//! A payment can jump straight from `CREATED` to any state reachable through `PENDING_PAYMENT`
//! (MP often reports `approved` first), and likewise `PENDING_PAYMENT → REFUNDED` through `PAID`.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Created,
    PendingPayment,
    Paid,
    Rejected,
    Cancelled,
    Refunded,
    Delivered,
    ChargedBack,
}

impl OrderStatus {
    const ALL: [OrderStatus; 8] = [
        OrderStatus::Created,
        OrderStatus::PendingPayment,
        OrderStatus::Paid,
        OrderStatus::Rejected,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
        OrderStatus::Delivered,
        OrderStatus::ChargedBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Created => "CREATED",
            OrderStatus::PendingPayment => "PENDING_PAYMENT",
            OrderStatus::Paid => "PAID",
            OrderStatus::Rejected => "REJECTED",
            OrderStatus::Cancelled => "CANCELLED",
            OrderStatus::Refunded => "REFUNDED",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::ChargedBack => "CHARGED_BACK",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The states one step away, as the SPEC draws them.
    fn next(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            Created => &[PendingPayment],
            PendingPayment => &[Paid, Rejected, Cancelled],
            Paid => &[Refunded, Delivered, ChargedBack],
            Rejected => &[PendingPayment, Paid],
            Cancelled | Refunded | Delivered | ChargedBack => &[],
        }
    }

    /// Whether `target` is reachable from `self` in one or more forward steps.
    pub fn can_reach(self, target: OrderStatus) -> bool {
        let mut frontier = vec![self];
        let mut seen = Vec::new();
        while let Some(state) = frontier.pop() {
            for &next in state.next() {
                if next == target {
                    return true;
                }
                if !seen.contains(&next) {
                    seen.push(next);
                    frontier.push(next);
                }
            }
        }
        false
    }
}

/// What to do with an order when a payment says it should be `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderMove {
    Move {
        from: OrderStatus,
        to: OrderStatus,
    },
    AlreadyThere,
    /// Going there would be backwards or sideways: leave the order and log it.
    Ignore {
        from: OrderStatus,
        to: OrderStatus,
    },
}

pub fn plan_order_move(current: OrderStatus, target: OrderStatus) -> OrderMove {
    if current == target {
        OrderMove::AlreadyThere
    } else if current.can_reach(target) {
        OrderMove::Move {
            from: current,
            to: target,
        }
    } else {
        OrderMove::Ignore {
            from: current,
            to: target,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;
    use super::*;

    #[test]
    fn forward_moves_are_taken() {
        for (from, to) in [
            (Created, PendingPayment),
            (Created, Paid),
            (PendingPayment, Paid),
            (Paid, Refunded),
            (Paid, Delivered),
            (Rejected, Paid),
            (Rejected, PendingPayment),
            (PendingPayment, Refunded),
        ] {
            assert_eq!(plan_order_move(from, to), OrderMove::Move { from, to });
        }
    }

    #[test]
    fn late_or_backward_moves_are_ignored() {
        for (from, to) in [
            (Refunded, Paid),
            (Delivered, Paid),
            (Paid, PendingPayment),
            (Paid, Rejected),
            (Cancelled, Paid),
            (ChargedBack, Refunded),
        ] {
            assert_eq!(plan_order_move(from, to), OrderMove::Ignore { from, to });
        }
    }

    #[test]
    fn same_state_is_a_no_op() {
        assert_eq!(plan_order_move(Paid, Paid), OrderMove::AlreadyThere);
    }

    #[test]
    fn status_names_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
    }
}
