//! Stripe, the second provider (SPEC §19, for Connect platforms): the `Stripe-Signature` check
//! ([`signature`]), reading events ([`event`]) into notifications ([`webhook`]), the status
//! tables and amounts ([`status`]), the HTTP client on the seller's connected account
//! ([`client`]), what processing fetches ([`fetch`]) and Checkout Sessions ([`checkout`]). Its
//! settings are `config::StripeConfig`. Only `provider::Provider` and `provider::Providers`
//! call in here; what comes out is neutral.

pub mod checkout;
pub mod client;
pub mod event;
pub mod fetch;
pub mod signature;
pub mod status;
pub mod webhook;

pub use client::StripeClient;
