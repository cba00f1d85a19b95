//! SeaORM entities of Cobro, one module per table. The server crate reaches them through
//! `store/`; the `migration` crate creates the tables they describe.
//!
//! Every primary key is a UUIDv7: time-ordered, so "order by id" is arrival order and ids double
//! as stable page cursors. The outbox (`outbound_messages`), read in commit order, is keyed by a
//! sequence (`seq`) instead.

pub mod audit_entry;
pub mod delivery;
pub mod event_attempt;
pub mod oauth_state;
pub mod order;
pub mod outbound_attempt;
pub mod outbound_endpoint;
pub mod outbound_message;
pub mod payment;
pub mod tenant;
pub mod tenant_account;
pub mod webhook_event;

pub mod prelude {
    pub use super::order::Entity as Order;
    pub use super::payment::Entity as Payment;
    pub use super::tenant::Entity as Tenant;
    pub use super::webhook_event::Entity as WebhookEvent;
}
