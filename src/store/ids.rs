//! The typed ids of `domain` as column values, so a query filters on an `EventId` as it would on
//! its `Uuid` (`Column::Id.eq(event)`), and the writer's statements bind them alike.

use crate::domain::{EventId, OrderId, PaymentId, TenantId};

macro_rules! column_value {
    ($($id:ty),*) => {
        $(
            impl From<$id> for sea_orm::Value {
                fn from(id: $id) -> Self {
                    id.0.into()
                }
            }
        )*
    };
}

column_value!(TenantId, EventId, PaymentId, OrderId);
