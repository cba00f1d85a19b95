//! A fake Stripe over real HTTP (wiremock) and Stripe's side of `POST /webhooks/stripe`: events
//! built as Stripe sends them to a Connect endpoint, signed here from MERCADOPAGO.md §7 (HMAC-SHA256
//! of `"<t>.<body>"` under the `whsec_…`, written out with `hmac` rather than Cobro's own
//! signer), and PaymentIntents, disputes and Checkout Sessions served per connected account.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{ADMIN, Tenant, TestApp};

pub const WHSEC: &str = "whsec_test_cobro_endpoint";
pub const OLD_WHSEC: &str = "whsec_test_cobro_previous";
pub const PLATFORM_KEY: &str = "sk_test_cobro_platform";

/// Cobro with Stripe configured against its own fake, and the fake.
pub struct StripeApp {
    pub app: TestApp,
    pub stripe: Arc<MockServer>,
}

impl StripeApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Cobro's settings for Stripe (both secrets accepted, as in a rotation) plus `more`.
    pub async fn spawn_with(more: &[(&str, &str)]) -> Self {
        let stripe = Arc::new(MockServer::start().await);
        let uri = stripe.uri();
        let secrets = format!("{OLD_WHSEC},{WHSEC}");
        let mut overrides = vec![
            ("stripe_api_base", uri.as_str()),
            ("stripe_secret_key", PLATFORM_KEY),
            ("stripe_webhook_secret", secrets.as_str()),
        ];
        overrides.extend_from_slice(more);
        let app = TestApp::spawn_with(&overrides).await;
        Self { app, stripe }
    }

    /// A tenant (with a MercadoPago account, as every tenant is made) linked to `account`.
    pub async fn tenant(&self, mp_user_id: &str, account: &str, tag: Option<&str>) -> Tenant {
        let tenant = self.app.create_tenant(mp_user_id, tag).await;
        let patch = json!({ "stripe_account_id": account });
        let (status, body) = self
            .app
            .call(
                reqwest::Method::PATCH,
                &format!("/api/tenants/{}", tenant.id),
                Some(ADMIN),
                Some(patch),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        tenant
    }

    /// Posts `event` signed now under `secret`.
    pub async fn send(&self, event: &Value, secret: &str) -> (u16, Value) {
        let body = event.to_string();
        let t = chrono::Utc::now().timestamp();
        let signature = format!("t={t},v1={}", sign(secret, t, &body));
        self.send_raw(&body, Some(&signature)).await
    }

    /// Posts a body with the given `Stripe-Signature` (none when `None`).
    pub async fn send_raw(&self, body: &str, signature: Option<&str>) -> (u16, Value) {
        let mut request = self
            .app
            .http
            .post(format!("{}/webhooks/stripe", self.app.url))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        let response = request.send().await.expect("webhook reaches cobro");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `GET /v1/payment_intents/{id}` on `account` answers `intent`, from now on.
    pub async fn serves_intent(&self, account: &str, intent: &Value) {
        let id = intent["id"].as_str().expect("intent id");
        Mock::given(method("GET"))
            .and(path(format!("/v1/payment_intents/{id}")))
            .and(query_param("expand[]", "latest_charge"))
            .and(header("stripe-account", account))
            .and(header("authorization", format!("Bearer {PLATFORM_KEY}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(intent))
            .mount(&self.stripe)
            .await;
    }

    /// `GET /v1/disputes/{id}` and the intent's dispute list answer `dispute`, on `account`.
    pub async fn serves_dispute(&self, account: &str, dispute: &Value) {
        let id = dispute["id"].as_str().expect("dispute id");
        let intent = dispute["payment_intent"].as_str().expect("its intent");
        Mock::given(method("GET"))
            .and(path(format!("/v1/disputes/{id}")))
            .and(header("stripe-account", account))
            .respond_with(ResponseTemplate::new(200).set_body_json(dispute))
            .mount(&self.stripe)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/disputes"))
            .and(query_param("payment_intent", intent))
            .and(header("stripe-account", account))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    json!({ "object": "list", "data": [dispute], "has_more": false }),
                ),
            )
            .mount(&self.stripe)
            .await;
    }

    /// The paths the fake Stripe was asked for so far, in order.
    pub async fn paths(&self) -> Vec<String> {
        let requests = self.stripe.received_requests().await.unwrap_or_default();
        requests.iter().map(|r| r.url.path().to_owned()).collect()
    }
}

/// Stripe's `v1`: hex HMAC-SHA256 of `"<t>.<body>"` keyed with the whole `whsec_…` string.
pub fn sign(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// An event as a Connect endpoint receives it.
pub fn event(id: &str, kind: &str, account: Option<&str>, object: Value) -> Value {
    let mut event = json!({ "id": id, "object": "event", "type": kind, "livemode": true,
        "created": 1764872500, "api_version": "2025-11-17.clover", "data": { "object": object } });
    if let Some(account) = account {
        event["account"] = json!(account);
    }
    event
}

/// A PaymentIntent with its latest charge expanded, as `GET /v1/payment_intents/{id}` answers.
pub fn intent(id: &str, status: &str, amount: i64, currency: &str, order: Option<&str>) -> Value {
    let mut intent = json!({
        "id": id, "object": "payment_intent", "amount": amount, "currency": currency,
        "status": status, "created": 1764872390, "livemode": true, "last_payment_error": null,
        "metadata": {},
        "latest_charge": {
            "id": format!("ch_{id}"), "object": "charge", "created": 1764872400,
            "refunded": false, "amount_refunded": 0, "disputed": false,
            "billing_details": { "email": "comprador@example.com", "name": "Ana Pérez" },
            "payment_method_details": { "type": "card", "card": { "brand": "visa" } }
        }
    });
    if let Some(order) = order {
        intent["metadata"]["cobro_order_id"] = json!(order);
    }
    intent
}

/// A dispute on `intent`.
pub fn dispute(id: &str, intent: &str, status: &str, amount: i64, currency: &str) -> Value {
    json!({ "id": id, "object": "dispute", "payment_intent": intent, "status": status,
        "amount": amount, "currency": currency, "reason": "fraudulent", "created": 1764880000,
        "evidence_details": { "due_by": 1765484800, "has_evidence": false } })
}
