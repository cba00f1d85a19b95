//! The payment providers Cobro takes webhooks from, behind one boundary. Each provider is a
//! folder (`mercadopago/`, `stripe/`) that reads its webhooks into a neutral [`Notification`],
//! verifies their signatures, fetches payments as neutral [`PaymentSnapshot`]s, turns its failures
//! into [`Failure`]s and creates checkout pages. The rest of Cobro names a provider only through
//! the plain enum [`Provider`] and calls it through [`Providers`]; adding one means a folder, an
//! arm in each `match` below, its config and its migration (docs/ARCHITECTURE.md, "Adding a
//! provider").

pub mod mercadopago;
mod port;
pub mod stripe;

pub use port::{CheckoutOrder, CheckoutRefused, Delivery, Grant, GrantError, Refused, Seller};

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
        config: &Config,
    ) -> Result<Classified, BodyError> {
        match self {
            Provider::MercadoPago => mercadopago::notification::read(body, delivery),
            Provider::Stripe => stripe::webhook::read(body, config.stripe.livemode),
        }
    }

    /// The check a provider makes on the raw body before it is read, under the platform's
    /// secrets: Stripe signs every connected account's events with its endpoint's secret
    /// (SPEC §19). MercadoPago's signature is the tenant's, checked once the tenant is known
    /// ([`Self::verify_webhook`]).
    pub fn verify_delivery(
        self,
        body: &[u8],
        delivery: &impl Delivery,
        config: &Config,
    ) -> Result<(), Refused> {
        match self {
            Provider::MercadoPago => Ok(()),
            Provider::Stripe => {
                let now = chrono::Utc::now().timestamp();
                stripe::webhook::verify(delivery, body, &config.stripe, now)
            }
        }
    }

    /// The `ignored` reason of a notification whose seller no tenant holds.
    pub fn unknown_seller(self) -> &'static str {
        match self {
            Provider::MercadoPago => "unknown tenant",
            Provider::Stripe => stripe::webhook::UNKNOWN_ACCOUNT,
        }
    }

    /// Whether an unknown seller is answered before an unsupported type (Stripe's answer table
    /// puts the account first; MercadoPago's ignores a type before it looks for a tenant).
    pub fn seller_before_type(self) -> bool {
        matches!(self, Provider::Stripe)
    }

    /// The Cobro order a stored notification names by itself, for a payment that names none
    /// (a Stripe Checkout Session's `client_reference_id`).
    pub fn order_named_by(self, raw: &serde_json::Value) -> Option<String> {
        match self {
            Provider::MercadoPago => None,
            Provider::Stripe => stripe::webhook::order_named_by(raw),
        }
    }

    /// The common envelope of a body the adapter ignored (its seller, type, action and signed
    /// id), so that a verified delivery of a known tenant is logged as that tenant's (SPEC §18).
    /// `None` when the body names no seller.
    pub fn envelope(self, body: &[u8], delivery: &impl Delivery) -> Option<Notification> {
        match self {
            Provider::MercadoPago => mercadopago::notification::envelope(body, delivery),
            Provider::Stripe => stripe::webhook::envelope(body),
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
            // Verified over the raw body before it was read (`verify_delivery`).
            Provider::Stripe => Ok(()),
        }
    }
}

/// The providers' HTTP clients, one per provider; part of `Services`.
#[derive(Clone)]
pub struct Providers {
    mercadopago: mercadopago::MpClient,
    /// `None` when the platform has no Stripe key (`COBRO_STRIPE_SECRET_KEY`): Stripe's
    /// notifications then fail with a sentence saying so.
    stripe: Option<stripe::StripeClient>,
}

impl Providers {
    pub fn new(http: reqwest::Client, config: &Config) -> Self {
        let stripe = config.stripe.secret_key.clone().map(|key| {
            stripe::StripeClient::new(http.clone(), config.stripe.api_base.clone(), key)
        });
        Self {
            mercadopago: mercadopago::MpClient::new(http, config.mp_api_base.clone()),
            stripe,
        }
    }

    fn stripe(&self) -> Result<&stripe::StripeClient, Failure> {
        self.stripe
            .as_ref()
            .ok_or_else(stripe::fetch::not_configured)
    }

    /// Fetches a payment for the seller. Every error is already a [`Failure`]: the adapter
    /// knows which of its answers are worth another attempt.
    pub async fn fetch_payment(
        &self,
        provider: Provider,
        seller: Seller<'_>,
        payment_id: &str,
    ) -> Result<PaymentSnapshot, Failure> {
        match provider {
            Provider::MercadoPago => {
                let client = &self.mercadopago;
                mercadopago::fetch_payment(client, seller.token, payment_id).await
            }
            Provider::Stripe => {
                stripe::fetch::payment(self.stripe()?, seller.account_id, payment_id).await
            }
        }
    }

    /// Fetches an order of the provider's Orders API with its payments (SPEC §17).
    pub async fn fetch_order(
        &self,
        provider: Provider,
        seller: Seller<'_>,
        order_id: &str,
    ) -> Result<OrderSnapshot, Failure> {
        match provider {
            Provider::MercadoPago => {
                mercadopago::fetch_order(&self.mercadopago, seller.token, order_id).await
            }
            Provider::Stripe => Err(not_offered(provider, "orders")),
        }
    }

    /// Fetches a dispute (chargeback): the payments it is on and what a seller must see.
    pub async fn fetch_dispute(
        &self,
        provider: Provider,
        seller: Seller<'_>,
        dispute_id: &str,
    ) -> Result<DisputeSnapshot, Failure> {
        match provider {
            Provider::MercadoPago => {
                mercadopago::fetch_chargeback(&self.mercadopago, seller.token, dispute_id).await
            }
            Provider::Stripe => {
                stripe::fetch::dispute(self.stripe()?, seller.account_id, dispute_id).await
            }
        }
    }

    /// Fetches a buyer's claim and the payment it is on.
    pub async fn fetch_claim(
        &self,
        provider: Provider,
        seller: Seller<'_>,
        claim_id: &str,
    ) -> Result<ClaimSnapshot, Failure> {
        match provider {
            Provider::MercadoPago => {
                mercadopago::fetch_claim(&self.mercadopago, seller.token, claim_id).await
            }
            Provider::Stripe => Err(not_offered(provider, "claims")),
        }
    }

    /// The page where a seller authorizes the platform's application (MercadoPago's OAuth with
    /// PKCE; a Stripe account is linked with `PATCH`, SPEC §19).
    pub fn authorization_url(
        &self,
        oauth: &MpOAuth,
        redirect_uri: &str,
        state: &str,
        code_challenge: &str,
    ) -> String {
        mercadopago::oauth::authorization_url(oauth, redirect_uri, state, code_challenge)
    }

    /// Exchanges an authorization code (and its PKCE verifier) for the seller's tokens.
    pub async fn exchange_code(
        &self,
        oauth: &MpOAuth,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
    ) -> Result<Grant, GrantError> {
        let client = &self.mercadopago;
        mercadopago::oauth::exchange_code(client, oauth, code, code_verifier, redirect_uri).await
    }

    /// Trades a refresh token for new tokens (the refresh token is rotated).
    pub async fn refresh_grant(
        &self,
        oauth: &MpOAuth,
        refresh_token: &str,
    ) -> Result<Grant, GrantError> {
        mercadopago::oauth::refresh(&self.mercadopago, oauth, refresh_token).await
    }

    /// Creates the order's payment page; answers its URL.
    pub async fn create_checkout(
        &self,
        provider: Provider,
        seller: Seller<'_>,
        order: &CheckoutOrder<'_>,
    ) -> Result<String, CheckoutRefused> {
        match provider {
            Provider::MercadoPago => {
                mercadopago::checkout::create(&self.mercadopago, seller.token, order).await
            }
            Provider::Stripe => {
                let client = self.stripe.as_ref().ok_or_else(|| {
                    CheckoutRefused("Stripe is not configured (COBRO_STRIPE_SECRET_KEY)".into())
                })?;
                stripe::checkout::create(client, seller.account_id, order).await
            }
        }
    }
}

/// A notification of a kind the provider never sends (Stripe has no Orders API nor claims):
/// only a hand-made event can get here.
fn not_offered(provider: Provider, what: &str) -> Failure {
    Failure::permanent(
        format!("{} has no {what}", provider.name()),
        serde_json::json!({ "service": provider.key() }),
    )
}
