//! Stripe, the second provider (SPEC §19, issue 24; in progress). So far: the `Stripe-Signature`
//! check ([`signature`]), reading events ([`event`]), the status tables and amounts ([`status`])
//! and its settings (`config::StripeConfig`). Fetching PaymentIntents on the connected account
//! and checkout come next; until then nothing routes to this folder.

pub mod event;
pub mod signature;
pub mod status;
