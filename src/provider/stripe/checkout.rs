//! SPEC §19: an order's Stripe Checkout Session on the seller's connected account. The order id
//! travels twice: as the session's `client_reference_id` and as `metadata.cobro_order_id` on the
//! PaymentIntent the session creates, which is how processing finds the order again.

use super::client::StripeClient;
use super::status::exponent;
use crate::outbound::CallError;
use crate::provider::port::{CheckoutOrder, CheckoutRefused};

/// Creates the session; answers its `url`.
pub async fn create(
    client: &StripeClient,
    account: &str,
    order: &CheckoutOrder<'_>,
) -> Result<String, CheckoutRefused> {
    let form = session_form(order)?;
    let answer = client
        .create_checkout_session(account, &form)
        .await
        .map_err(|e| CheckoutRefused(describe(&e)))?;
    answer["url"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| CheckoutRefused("its answer has no url".into()))
}

/// `amount` of `currency` in Stripe's minor units, when it is a positive amount the currency
/// can hold exactly (150000 CLP → 150000; 19.99 USD → 1999; 100.5 CLP → `None`).
pub fn minor_units(amount: f64, currency: &str) -> Option<i64> {
    let scaled = amount * 10f64.powi(exponent(currency) as i32);
    let whole = scaled.round();
    let exact = (scaled - whole).abs() < 1e-6;
    (exact && whole >= 1.0 && whole < i64::MAX as f64).then_some(whole as i64)
}

/// The session's fields: one line item of the order's amount, payment mode.
pub fn session_form(order: &CheckoutOrder<'_>) -> Result<Vec<(String, String)>, CheckoutRefused> {
    let unit_amount = minor_units(order.amount, order.currency).ok_or_else(|| {
        CheckoutRefused(format!(
            "{} {} is not an amount Stripe can charge in that currency",
            order.amount, order.currency
        ))
    })?;
    let order_id = order.order_id.to_string();
    let mut form = vec![
        ("mode", "payment".to_owned()),
        ("client_reference_id", order_id.clone()),
        ("payment_intent_data[metadata][cobro_order_id]", order_id),
        ("line_items[0][quantity]", "1".to_owned()),
        (
            "line_items[0][price_data][currency]",
            order.currency.to_ascii_lowercase(),
        ),
        (
            "line_items[0][price_data][unit_amount]",
            unit_amount.to_string(),
        ),
        (
            "line_items[0][price_data][product_data][name]",
            order.title.to_owned(),
        ),
        ("success_url", order.return_url.clone()),
    ];
    if let Some(email) = order.payer_email {
        form.push(("customer_email", email.to_owned()));
    }
    Ok(form.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Stripe's own words when it answered with an error body, so the caller sees why.
fn describe(err: &CallError) -> String {
    match err {
        CallError::Status { status, body, .. } if !body.is_empty() => {
            format!("Stripe answered {status}: {body}")
        }
        other => format!("Stripe {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn amounts_in_minor_units_by_currency() {
        assert_eq!(minor_units(150000.0, "CLP"), Some(150000));
        assert_eq!(minor_units(19.99, "usd"), Some(1999));
        assert_eq!(minor_units(0.29, "USD"), Some(29));
        assert_eq!(minor_units(1.234, "KWD"), Some(1234));
        assert_eq!(minor_units(100.5, "CLP"), None);
        assert_eq!(minor_units(19.999, "USD"), None);
        assert_eq!(minor_units(0.0, "USD"), None);
        assert_eq!(minor_units(-5.0, "USD"), None);
    }

    #[test]
    fn the_session_carries_the_order_twice() {
        let order = CheckoutOrder {
            order_id: Uuid::nil(),
            title: "Curso",
            amount: 150000.0,
            currency: "CLP",
            payer_email: Some("ana@example.com"),
            notification_url: String::new(),
            return_url: "https://cobro.example/checkout/done".into(),
        };
        let form = session_form(&order).expect("a form");
        let field = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let id = Uuid::nil().to_string();
        assert_eq!(field("client_reference_id"), Some(id.as_str()));
        assert_eq!(
            field("payment_intent_data[metadata][cobro_order_id]"),
            Some(id.as_str())
        );
        assert_eq!(
            field("line_items[0][price_data][unit_amount]"),
            Some("150000")
        );
        assert_eq!(field("line_items[0][price_data][currency]"), Some("clp"));
        assert_eq!(field("customer_email"), Some("ana@example.com"));
    }
}
