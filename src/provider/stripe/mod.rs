//! Stripe, the second provider (SPEC §19, issue 24; in progress). So far: the `Stripe-Signature`
//! check ([`signature`]) and its settings (`config::StripeConfig`). Reading events, fetching
//! PaymentIntents on the connected account and checkout come next; until then nothing routes to
//! this folder.

pub mod signature;
