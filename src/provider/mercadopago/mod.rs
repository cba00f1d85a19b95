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
    let (what, id) = named("payment", payment_id)?;
    fetched(
        &what,
        client.get_payment(access_token, id).await,
        payment::read,
    )
}

/// Fetches an order of the Orders API and reads it with its payments (SPEC §17).
pub async fn fetch_order(
    client: &MpClient,
    access_token: &str,
    order_id: &str,
) -> Result<OrderSnapshot, Failure> {
    let (what, id) = named("order", order_id)?;
    fetched(&what, client.get_order(access_token, id).await, |body| {
        order::read(&body)
    })
}

/// Fetches a chargeback: the payments it disputes and what is shown on them.
pub async fn fetch_chargeback(
    client: &MpClient,
    access_token: &str,
    chargeback_id: &str,
) -> Result<DisputeSnapshot, Failure> {
    let (what, id) = named("chargeback", chargeback_id)?;
    fetched(
        &what,
        client.get_chargeback(access_token, id).await,
        |body| dispute::read_chargeback(&body, id),
    )
}

/// Fetches a buyer's claim and the payment it is on.
pub async fn fetch_claim(
    client: &MpClient,
    access_token: &str,
    claim_id: &str,
) -> Result<ClaimSnapshot, Failure> {
    let (what, id) = named("claim", claim_id)?;
    fetched(&what, client.get_claim(access_token, id).await, |body| {
        dispute::read_claim(&body, id)
    })
}

/// A resource as `last_error` names it (`order ORD01…`), and its id checked for a URL path.
fn named<'a>(kind: &str, id: &'a str) -> Result<(String, &'a str), Failure> {
    let what = format!("{kind} {id}");
    let id = path_segment(id, &what)?;
    Ok((what, id))
}

/// MercadoPago's answer read by `read`; either failing is a [`Failure`] naming `what`.
fn fetched<T, E: Into<failure::FetchError>>(
    what: &str,
    answer: Result<serde_json::Value, crate::outbound::CallError>,
    read: impl FnOnce(serde_json::Value) -> Result<T, E>,
) -> Result<T, Failure> {
    let body = answer.map_err(|e| failure::of_fetch(e.into(), what))?;
    read(body).map_err(|e| failure::of_fetch(e.into(), what))
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

/// A MercadoPago fixture of `tests/fixtures/mercadopago/`, for the adapter's unit tests.
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/tests/fixtures/mercadopago/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("fixture is JSON")
}
