//! Everything MercadoPago (MERCADOPAGO.md): reading its webhooks (`notification`), the
//! `x-signature` rules (`signature`, `webhook`), the Payments API client (`client`), the lenient
//! reading of its payment documents and their statuses (`payment`, `status`), which of its
//! failures are worth a retry (`failure`), checkout preferences (`checkout`), and OAuth (`oauth`). Only
//! `provider::Provider` and `provider::Providers` call in here; what comes out is neutral.

pub mod checkout;
pub mod client;
pub mod failure;
pub mod notification;
pub mod oauth;
pub mod payment;
pub mod signature;
pub mod status;
pub mod webhook;

pub use client::MpClient;

use crate::domain::{Failure, PaymentSnapshot};

/// Fetches a payment and reads it; a failure says whether another attempt is worth it.
pub async fn fetch_payment(
    client: &MpClient,
    access_token: &str,
    payment_id: &str,
) -> Result<PaymentSnapshot, Failure> {
    let body = client
        .get_payment(access_token, payment_id)
        .await
        .map_err(|e| failure::of_fetch(e.into(), payment_id))?;
    payment::read(body).map_err(|e| failure::of_fetch(e.into(), payment_id))
}
