//! Typed ids (as svix types its ids): a tenant's, an event's, a payment's and an order's id are
//! all UUIDv7s in the database, and a function that takes two of them cannot be handed them the
//! wrong way round once each is its own type. The store converts them to and from columns
//! (`store::ids`); the API's JSON keeps plain UUIDs.
//!
//! ```compile_fail
//! // A payment's id is not an event's: this does not compile.
//! fn retry(_: cobro::domain::EventId) {}
//! retry(cobro::domain::PaymentId(uuid::Uuid::nil()));
//! ```
//!
//! ```
//! fn retry(_: cobro::domain::EventId) {}
//! retry(cobro::domain::EventId(uuid::Uuid::nil()));
//! ```

use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

typed_id!(
    /// A tenant's id. Store functions that read tenant data take one, so a query cannot forget
    /// to scope itself to a tenant.
    TenantId
);
typed_id!(
    /// A `webhook_events` row: one accepted notification.
    EventId
);
typed_id!(
    /// A `payments` row (not the provider's payment id, which is text).
    PaymentId
);
typed_id!(
    /// An `orders` row; also the `external_reference` a checkout carries.
    OrderId
);
