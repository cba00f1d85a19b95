//! Processing's calls to Stripe (SPEC §19), each on the seller's connected account: a
//! PaymentIntent with its latest charge (and, when that charge is disputed, the intent's latest
//! dispute) read into a neutral [`PaymentSnapshot`]; a dispute read into a [`DisputeSnapshot`].
//! Stripe's failures become [`Failure`]s here, with the sentence a person reads.

use chrono::DateTime;
use serde_json::{Map, Value, json};

use super::client::StripeClient;
use super::status;
use crate::domain::{DisputeSnapshot, Failure, PaymentSnapshot, Provider};
use crate::outbound::{CallError, judge_status};

const SERVICE: &str = "Stripe";

/// The PaymentIntent `id` on `account`, as Cobro's payment: the dispute decides while open or
/// lost, then a refund, then the intent's status.
pub async fn payment(
    client: &StripeClient,
    account: &str,
    id: &str,
) -> Result<PaymentSnapshot, Failure> {
    let what = format!("payment_intent {id} on {account}");
    let id = path_segment(id, &what)?;
    let intent = object(client.get_payment_intent(account, id).await, &what)?;
    let disputed = intent
        .pointer("/latest_charge/disputed")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let dispute = match disputed {
        true => latest_dispute(client, account, id).await?,
        false => None,
    };
    Ok(snapshot(account, intent, dispute.as_ref()))
}

/// A dispute on `account`: the intent it is on and the summary shown on that payment.
pub async fn dispute(
    client: &StripeClient,
    account: &str,
    id: &str,
) -> Result<DisputeSnapshot, Failure> {
    let what = format!("dispute {id} on {account}");
    let id = path_segment(id, &what)?;
    let dispute = object(client.get_dispute(account, id).await, &what)?;
    let payment_ids = text(&dispute, "/payment_intent").into_iter().collect();
    Ok(DisputeSnapshot {
        id: text(&dispute, "/id").unwrap_or_else(|| id.to_owned()),
        payment_ids,
        summary: dispute_summary(&dispute),
    })
}

async fn latest_dispute(
    client: &StripeClient,
    account: &str,
    intent: &str,
) -> Result<Option<Value>, Failure> {
    let what = format!("the disputes of payment_intent {intent} on {account}");
    let list = client
        .latest_dispute_of(account, intent)
        .await
        .map_err(|e| of_call(e, &what))?;
    Ok(list.pointer("/data/0").filter(|d| d.is_object()).cloned())
}

/// The intent (its latest charge expanded) and its dispute as Cobro's payment.
pub fn snapshot(account: &str, intent: Value, dispute: Option<&Value>) -> PaymentSnapshot {
    let mapped = status::map(&intent, dispute);
    let charge = intent.get("latest_charge").filter(|c| c.is_object());
    let of_charge = |path: &str| charge.and_then(|c| text(c, path));
    let currency = text(&intent, "/currency").unwrap_or_default();
    let minor = intent.get("amount").and_then(Value::as_i64);
    let refunded = charge
        .and_then(|c| c.get("amount_refunded"))
        .and_then(Value::as_i64)
        .filter(|minor| *minor > 0);
    let name = of_charge("/billing_details/name");
    let (first_name, last_name) = split_name(name.as_deref());
    let approved = text(&intent, "/status").as_deref() == Some("succeeded");
    PaymentSnapshot {
        provider: Provider::Stripe,
        id: text(&intent, "/id"),
        status: mapped.status,
        order_target: mapped.order,
        provider_status: text(&intent, "/status"),
        status_detail: status_detail(&intent, dispute),
        seller_account_id: Some(account.to_owned()),
        external_reference: text(&intent, "/metadata/cobro_order_id"),
        transaction_amount: minor
            .map(|m| m as f64 / 10f64.powi(status::exponent(&currency) as i32)),
        amount: minor.map(|m| status::amount(m, &currency)),
        refunded_amount: refunded.map(|m| status::amount(m, &currency)),
        currency_id: Some(currency.to_ascii_uppercase()).filter(|c| !c.is_empty()),
        payer_email: text(&intent, "/receipt_email")
            .or_else(|| of_charge("/billing_details/email")),
        payer_name: name,
        payer_first_name: first_name,
        payer_last_name: last_name,
        payment_method: of_charge("/payment_method_details/card/brand")
            .or_else(|| of_charge("/payment_method_details/type")),
        payment_type: of_charge("/payment_method_details/type"),
        date_created: timestamp(&intent, "/created"),
        date_approved: charge
            .filter(|_| approved)
            .and_then(|c| timestamp(c, "/created")),
        date_last_updated: None,
        raw: intent,
    }
}

/// What a person reads next to the status: the dispute's status, a refund, or the decline.
fn status_detail(intent: &Value, dispute: Option<&Value>) -> Option<String> {
    if let Some(status) = dispute.and_then(|d| text(d, "/status")) {
        return Some(format!("dispute_{status}"));
    }
    if intent
        .pointer("/latest_charge/refunded")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return Some("refunded".into());
    }
    let error = intent.get("last_payment_error").filter(|e| e.is_object())?;
    text(error, "/decline_code").or_else(|| text(error, "/code"))
}

/// The dispute as kept on its payment, in the words the dashboard shows for MercadoPago's
/// chargebacks: id, status, amount, currency, reason and the evidence deadline.
fn dispute_summary(dispute: &Value) -> Value {
    let currency = text(dispute, "/currency").unwrap_or_default();
    let mut summary = Map::new();
    let mut put = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            summary.insert(key.into(), Value::from(value));
        }
    };
    put("id", text(dispute, "/id"));
    put("documentation_status", text(dispute, "/status"));
    put("reason", text(dispute, "/reason"));
    put(
        "currency",
        Some(currency.to_ascii_uppercase()).filter(|c| !c.is_empty()),
    );
    put("date_created", timestamp(dispute, "/created"));
    put(
        "date_documentation_deadline",
        timestamp(dispute, "/evidence_details/due_by"),
    );
    if let Some(minor) = dispute.get("amount").and_then(Value::as_i64) {
        let amount = minor as f64 / 10f64.powi(status::exponent(&currency) as i32);
        summary.insert("amount".into(), json!(amount));
    }
    Value::Object(summary)
}

fn text(value: &Value, path: &str) -> Option<String> {
    value
        .pointer(path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A Stripe unix time as RFC 3339 text, the form MercadoPago's dates are kept in.
fn timestamp(value: &Value, path: &str) -> Option<String> {
    let seconds = value.pointer(path).and_then(Value::as_i64)?;
    DateTime::from_timestamp(seconds, 0).map(|at| at.to_rfc3339())
}

/// `Ana María Pérez` → (`Ana`, `María Pérez`): GoHighLevel wants parts; Stripe has one name.
fn split_name(name: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return (None, None);
    };
    match name.split_once(' ') {
        Some((first, rest)) => (Some(first.to_owned()), Some(rest.trim().to_owned())),
        None => (Some(name.to_owned()), None),
    }
}

/// An id that goes into a URL path: letters, digits and `_` (Stripe's ids) only.
fn path_segment<'a>(id: &'a str, what: &str) -> Result<&'a str, Failure> {
    let plain = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match plain {
        true => Ok(id),
        false => Err(Failure::permanent(
            format!("{what}: not a Stripe id"),
            json!({ "service": "stripe" }),
        )),
    }
}

/// Stripe's answer about `what` as a JSON object; a failed call or any other body is a
/// [`Failure`] naming it.
fn object(answer: Result<Value, CallError>, what: &str) -> Result<Value, Failure> {
    match answer.map_err(|e| of_call(e, what))? {
        object @ Value::Object(_) => Ok(object),
        _ => Err(Failure::permanent(
            format!("Stripe answered {what} with a body that cannot be read"),
            json!({ "service": "stripe" }),
        )),
    }
}

/// Stripe is strongly consistent: an object it notified exists, so a 404 means the object is
/// not on that account and will not appear by asking again. A refused key is the platform's to
/// fix, not the seller's: no token to refresh.
pub fn of_call(err: CallError, what: &str) -> Failure {
    let mut failure = err.into_failure(SERVICE, |status| match status {
        401 => (
            true,
            "Stripe refused the platform's secret key (401): check COBRO_STRIPE_SECRET_KEY, then retry".into(),
        ),
        403 => (
            true,
            format!("Stripe refused access to {what} (403): is the account connected to the platform?"),
        ),
        404 => (true, format!("Stripe does not know {what} (404)")),
        _ => judge_status(SERVICE, status, false),
    });
    failure.credentials_refused = false;
    failure
}

/// Processing asked for Stripe while the platform has no key.
pub fn not_configured() -> Failure {
    Failure::permanent(
        "Stripe is not configured: set COBRO_STRIPE_SECRET_KEY, then retry",
        json!({ "service": "stripe" }),
    )
}
