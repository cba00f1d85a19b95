//! Pure business rules with no I/O: how MP payment statuses map to Cobro's payment and order
//! statuses, the order state machine, and event statuses. The pipeline and the API use these;
//! they are unit-tested here without a server.

mod order_state;
mod status;

pub use order_state::{OrderMove, OrderStatus, plan_order_move};
pub use status::{EventStatus, PaymentStatus, map_mp_status};

/// A tenant's id. Store functions that read tenant data take one, so a query cannot forget to
/// scope itself to a tenant.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct TenantId(pub uuid::Uuid);

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
