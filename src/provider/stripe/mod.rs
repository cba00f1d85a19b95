//! Stripe, the second provider (SPEC §19, issue 24; in progress). So far: the `Stripe-Signature`
//! check ([`signature`]), reading events ([`event`]), the status tables and amounts ([`status`]),
//! fetching PaymentIntents and disputes on the connected account ([`client`]) and its settings
//! (`config::StripeConfig`). Checkout and the wiring come next; until then nothing routes to
//! this folder.

pub mod client;
pub mod event;
pub mod signature;
pub mod status;
