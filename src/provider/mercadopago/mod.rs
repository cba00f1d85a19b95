//! Everything MercadoPago (MERCADOPAGO.md): reading its webhooks (`notification`), the
//! `x-signature` rules (`signature`, `webhook`), the Payments API client (`client`), the lenient
//! reading of its payment documents and their statuses (`payment`, `status`), which of its
//! failures are worth a retry (`failure`), checkout preferences (`checkout`), and OAuth (`oauth`). Only
//! `provider::Provider` and `provider::Providers` call in here; what comes out is neutral.

pub mod checkout;
pub mod client;
pub mod dispute;
pub mod failure;
pub mod notification;
pub mod oauth;
pub mod order;
pub mod payment;
pub mod signature;
pub mod status;
pub mod webhook;

pub use client::MpClient;

use serde_json::json;

use crate::domain::{ClaimSnapshot, DisputeSnapshot, Failure, OrderSnapshot, PaymentSnapshot};

/// Fetches a payment and reads it; a failure says whether another attempt is worth it.
pub async fn fetch_payment(
    client: &MpClient,
    access_token: &str,
    payment_id: &str,
) -> Result<PaymentSnapshot, Failure> {
    let resource = format!("payment {payment_id}");
    let id = path_segment(payment_id, &resource)?;
    let body = client
        .get_payment(access_token, id)
        .await
        .map_err(|e| failure::of_fetch(e.into(), &resource))?;
    payment::read(body).map_err(|e| failure::of_fetch(e.into(), &resource))
}

/// Fetches an order of the Orders API and reads it with its payments (SPEC §17).
pub async fn fetch_order(
    client: &MpClient,
    access_token: &str,
    order_id: &str,
) -> Result<OrderSnapshot, Failure> {
    let resource = format!("order {order_id}");
    let id = path_segment(order_id, &resource)?;
    let body = client
        .get_order(access_token, id)
        .await
        .map_err(|e| failure::of_fetch(e.into(), &resource))?;
    order::read(&body).map_err(|e| failure::of_fetch(e.into(), &resource))
}

/// Fetches a chargeback: the payments it disputes and what is shown on them.
pub async fn fetch_chargeback(
    client: &MpClient,
    access_token: &str,
    chargeback_id: &str,
) -> Result<DisputeSnapshot, Failure> {
    let resource = format!("chargeback {chargeback_id}");
    let id = path_segment(chargeback_id, &resource)?;
    let body = client
        .get_chargeback(access_token, id)
        .await
        .map_err(|e| failure::of_fetch(e.into(), &resource))?;
    dispute::read_chargeback(&body, id).map_err(|e| failure::of_fetch(e.into(), &resource))
}

/// Fetches a buyer's claim and the payment it is on.
pub async fn fetch_claim(
    client: &MpClient,
    access_token: &str,
    claim_id: &str,
) -> Result<ClaimSnapshot, Failure> {
    let resource = format!("claim {claim_id}");
    let id = path_segment(claim_id, &resource)?;
    let body = client
        .get_claim(access_token, id)
        .await
        .map_err(|e| failure::of_fetch(e.into(), &resource))?;
    dispute::read_claim(&body, id).map_err(|e| failure::of_fetch(e.into(), &resource))
}

/// An id that goes into a URL path: letters, digits, `-` and `_` only. The optional topics'
/// ids come from the unsigned body (a fraud alert's `payment_id`), so one must never be able to
/// walk the path elsewhere on MercadoPago's API under the seller's token.
fn path_segment<'a>(id: &'a str, resource: &str) -> Result<&'a str, Failure> {
    let plain = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    match plain {
        true => Ok(id),
        false => Err(Failure::permanent(
            format!("{resource} is not a MercadoPago id"),
            json!({ "service": "mercadopago" }),
        )),
    }
}
