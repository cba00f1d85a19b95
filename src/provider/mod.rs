//! The payment providers Cobro takes webhooks from, behind one boundary. Each provider is a
//! folder (today only `mercadopago/`) that reads its webhooks into a neutral [`Notification`],
//! verifies their signatures, fetches payments as neutral [`PaymentSnapshot`]s, turns its failures
//! into [`Failure`]s and creates checkout pages. The rest of Cobro names a provider only through
//! the plain enum [`Provider`] and calls it through [`Providers`]; adding one means a folder, an
//! arm in each `match` below, its config and its migration (docs/ARCHITECTURE.md, "Adding a
//! provider").

pub mod mercadopago;
mod port;
pub mod stripe;

pub use port::{CheckoutOrder, CheckoutRefused, Delivery, Grant, GrantError, Refused};

use crate::config::{Config, MpOAuth};
use crate::domain::{
    BodyError, ClaimSnapshot, Classified, DisputeSnapshot, Failure, Notification, OrderSnapshot,
    PaymentSnapshot,
};

pub use crate::domain::Provider;

/// What each provider does, as inherent methods on the core's plain [`Provider`] name.
impl Provider {
    /// Reads a webhook body (and what it needs of the request): a payment notification, a
    /// reason to ignore it, or a body too broken to answer anything but 400.
    pub fn read_webhook(
        self,
        body: &[u8],
        delivery: &impl Delivery,
    ) -> Result<Classified, BodyError> {
        match self {
            Provider::MercadoPago => mercadopago::notification::read(body, delivery),
        }
    }

    /// The common envelope of a body the adapter ignored (its seller, type, action and signed
    /// id), so that a verified delivery of a known tenant is logged as that tenant's (SPEC §18).
    /// `None` when the body names no seller.
    pub fn envelope(self, body: &[u8], delivery: &impl Delivery) -> Option<Notification> {
        match self {
            Provider::MercadoPago => mercadopago::notification::envelope(body, delivery),
        }
    }

    /// Checks that the delivery is the provider's: its signature under `secret`, and what the
    /// provider ties to it. `secret: None` means the tenant accepts unsigned webhooks; the checks
    /// that need no secret still run.
    pub fn verify_webhook(
        self,
        delivery: &impl Delivery,
        notification: &Notification,
        secret: Option<&[u8]>,
    ) -> Result<(), Refused> {
        match self {
            Provider::MercadoPago => mercadopago::webhook::verify(delivery, notification, secret),
        }
    }
}

/// The providers' HTTP clients, one per provider; part of `Services`.
#[derive(Clone)]
pub struct Providers {
    mercadopago: mercadopago::MpClient,
}

impl Providers {
    pub fn new(http: reqwest::Client, config: &Config) -> Self {
        Self {
            mercadopago: mercadopago::MpClient::new(http, config.mp_api_base.clone()),
        }
    }

    /// Fetches a payment with the seller's token. Every error is already a [`Failure`]: the
    /// adapter knows which of its answers are worth another attempt.
    pub async fn fetch_payment(
        &self,
        provider: Provider,
        access_token: &str,
        payment_id: &str,
    ) -> Result<PaymentSnapshot, Failure> {
        match provider {
            Provider::MercadoPago => {
                let client = &self.mercadopago;
                mercadopago::fetch_payment(client, access_token, payment_id).await
            }
        }
    }

    /// Fetches an order of the provider's Orders API with its payments (SPEC §17).
    pub async fn fetch_order(
        &self,
        provider: Provider,
        access_token: &str,
        order_id: &str,
    ) -> Result<OrderSnapshot, Failure> {
        match provider {
            Provider::MercadoPago => {
                mercadopago::fetch_order(&self.mercadopago, access_token, order_id).await
            }
        }
    }

    /// Fetches a dispute (chargeback): the payments it is on and what a seller must see.
    pub async fn fetch_dispute(
        &self,
        provider: Provider,
        access_token: &str,
        dispute_id: &str,
    ) -> Result<DisputeSnapshot, Failure> {
        match provider {
            Provider::MercadoPago => {
                mercadopago::fetch_chargeback(&self.mercadopago, access_token, dispute_id).await
            }
        }
    }

    /// Fetches a buyer's claim and the payment it is on.
    pub async fn fetch_claim(
        &self,
        provider: Provider,
        access_token: &str,
        claim_id: &str,
    ) -> Result<ClaimSnapshot, Failure> {
        match provider {
            Provider::MercadoPago => {
                mercadopago::fetch_claim(&self.mercadopago, access_token, claim_id).await
            }
        }
    }

    /// The page where a seller authorizes the platform's application (OAuth with PKCE).
    pub fn authorization_url(
        &self,
        provider: Provider,
        oauth: &MpOAuth,
        redirect_uri: &str,
        state: &str,
        code_challenge: &str,
    ) -> String {
        match provider {
            Provider::MercadoPago => {
                mercadopago::oauth::authorization_url(oauth, redirect_uri, state, code_challenge)
            }
        }
    }

    /// Exchanges an authorization code (and its PKCE verifier) for the seller's tokens.
    pub async fn exchange_code(
        &self,
        provider: Provider,
        oauth: &MpOAuth,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
    ) -> Result<Grant, GrantError> {
        match provider {
            Provider::MercadoPago => {
                let client = &self.mercadopago;
                mercadopago::oauth::exchange_code(client, oauth, code, code_verifier, redirect_uri)
                    .await
            }
        }
    }

    /// Trades a refresh token for new tokens (the refresh token is rotated).
    pub async fn refresh_grant(
        &self,
        provider: Provider,
        oauth: &MpOAuth,
        refresh_token: &str,
    ) -> Result<Grant, GrantError> {
        match provider {
            Provider::MercadoPago => {
                mercadopago::oauth::refresh(&self.mercadopago, oauth, refresh_token).await
            }
        }
    }

    /// Creates the order's payment page; answers its URL.
    pub async fn create_checkout(
        &self,
        provider: Provider,
        access_token: &str,
        order: &CheckoutOrder<'_>,
    ) -> Result<String, CheckoutRefused> {
        match provider {
            Provider::MercadoPago => {
                mercadopago::checkout::create(&self.mercadopago, access_token, order).await
            }
        }
    }
}
