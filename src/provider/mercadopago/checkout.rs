//! SPEC §8: an order's MercadoPago checkout preference (`POST /checkout/preferences`); its
//! `init_point` is the payment page. The order id travels as `external_reference`, which is how
//! the payment finds its order again.

use serde_json::{Value, json};

use super::MpClient;
use crate::outbound::CallError;
use crate::provider::port::{CheckoutOrder, CheckoutRefused};

/// Creates the preference; answers its `init_point`.
pub async fn create(
    client: &MpClient,
    access_token: &str,
    order: &CheckoutOrder<'_>,
) -> Result<String, CheckoutRefused> {
    let answer = client
        .create_preference(access_token, &preference(order))
        .await
        .map_err(|e| CheckoutRefused(describe(&e)))?;
    answer["init_point"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| CheckoutRefused("its answer has no init_point".into()))
}

/// The preference MercadoPago is asked for: one item, the order's amount and currency.
pub fn preference(order: &CheckoutOrder<'_>) -> Value {
    let mut preference = json!({
        "items": [{ "id": order.order_id, "title": order.title, "quantity": 1,
                    "unit_price": order.amount, "currency_id": order.currency }],
        "external_reference": order.order_id,
        "notification_url": order.notification_url,
    });
    if let Some(email) = order.payer_email {
        preference["payer"] = json!({ "email": email });
    }
    preference
}

/// MP's own words when it answered with an error body, so the caller sees why.
fn describe(err: &CallError) -> String {
    match err {
        CallError::Status { status, body, .. } if !body.is_empty() => {
            format!("MercadoPago answered {status}: {body}")
        }
        other => format!("MercadoPago {other}"),
    }
}
