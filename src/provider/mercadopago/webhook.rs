//! Is a delivery MercadoPago's (MERCADOPAGO.md §2)? The body is not signed, only the query's
//! `data.id` and the `x-request-id` header are, so the query's `data.id` must be the body's; then
//! `x-signature` must match under the tenant's secret.

use super::signature;
use crate::domain::Notification;
use crate::provider::port::{Delivery, Refused};

/// `secret: None`: the tenant accepts unsigned webhooks; the `data.id` rule still holds.
pub fn verify(
    delivery: &impl Delivery,
    notification: &Notification,
    secret: Option<&[u8]>,
) -> Result<(), Refused> {
    let query_data_id = delivery.query_param("data.id");
    if query_data_id.is_some() && query_data_id != notification.signed_id {
        return Err(Refused("query data.id does not match body data.id".into()));
    }
    let Some(secret) = secret else {
        return Ok(());
    };
    // A body's `data.id` must be signed; a connection notice or a fraud alert may come without
    // any `data.id`, and then the manifest has no `id:` part.
    if query_data_id.is_none() && notification.signed_id.is_some() {
        return Err(Refused("data.id missing from the query string".into()));
    }
    signature::check(
        secret,
        delivery.header("x-signature"),
        query_data_id.as_deref(),
        delivery.header("x-request-id"),
    )
    .map_err(|e| Refused(e.to_string()))
}
