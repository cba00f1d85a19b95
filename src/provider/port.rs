//! What providers and the rest of Cobro exchange besides the neutral `domain` types: the parts
//! of a webhook request an adapter may read, and the answers of signature checks, checkout and
//! OAuth. Below the adapters (`mercadopago/` names these, never `provider/mod.rs`, so the
//! dispatch and its adapters import nothing of each other's in a circle); re-exported as
//! `provider::*`.

use std::time::Duration;

use uuid::Uuid;

/// What a provider's webhook check may read of the HTTP request besides its body. Ingest
/// implements it for actix's request, so adapters never see the web framework.
pub trait Delivery {
    /// A header's value, when sent and readable as text.
    fn header(&self, name: &str) -> Option<&str>;
    /// A query parameter's value, trimmed; `None` when absent or empty.
    fn query_param(&self, name: &str) -> Option<String>;
}

/// Whom a provider call is for: the seller's account there (Stripe's `Stripe-Account`) and,
/// where the provider gives each seller a token (MercadoPago's OAuth), that token (`""` when it
/// gives none: Stripe calls with the platform's key).
#[derive(Clone, Copy)]
pub struct Seller<'a> {
    pub account_id: &'a str,
    pub token: &'a str,
}

/// Why a webhook's signature was refused: the text of the 401 body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// An order's payment page, as a provider is asked to create it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckoutOrder<'a> {
    pub order_id: Uuid,
    pub title: &'a str,
    pub amount: f64,
    pub currency: &'a str,
    pub payer_email: Option<&'a str>,
    /// Where the provider posts the payment's webhooks (MercadoPago takes it per preference).
    pub notification_url: String,
    /// Where the buyer is sent once paid (Stripe Checkout's `success_url`).
    pub return_url: String,
}

/// Why a provider did not create a checkout page, in its own words when it gave some.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CheckoutRefused(pub String);

/// What a provider's token endpoint granted for a seller (OAuth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub access_token: String,
    /// Rotated at each refresh: the new one replaces the old.
    pub refresh_token: Option<String>,
    pub expires_in: Option<Duration>,
    /// The seller's account id at the provider (MercadoPago's `user_id`).
    pub seller_account_id: Option<String>,
}

/// Why a token request gave nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// The provider said no (a used, expired or wrong code; a revoked refresh token): asking
    /// again will not help, a person must connect the seller again.
    #[error("{0}")]
    Refused(String),
    /// The provider could not be reached or failed: asking later may work.
    #[error("{0}")]
    Unavailable(String),
}
