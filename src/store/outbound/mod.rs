//! Outbound events to the platform's backend (SPEC §21), stored: endpoints and their sealed
//! secrets ([`endpoints`]), a person's changes with their audit rows ([`changes`]), the outbox written with each change ([`outbox`]), and the messages and
//! attempts the relay works through and the API shows ([`messages`]).

pub mod changes;
pub mod endpoints;
pub mod messages;
pub mod outbox;

/// A message waiting to be sent (first time or retry).
pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
/// No attempt left; sent again only by hand.
pub const FAILED: &str = "failed";
