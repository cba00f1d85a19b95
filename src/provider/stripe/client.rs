//! The Stripe HTTP client (SPEC §19): the platform's secret key as Bearer and the seller's
//! `Stripe-Account` on every call about the seller's objects. Answers Stripe's JSON as sent;
//! reading it is `status`'s. Rate limiting is the caller's (the tenant actor owns its limiter).

use serde_json::Value;
use url::Url;

use crate::config::Secret;
use crate::outbound::{CallError, join, send};

#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    base: Url,
    /// The platform's `sk_…`; `Secret` keeps it out of `Debug` and logs.
    secret_key: Secret,
}

impl StripeClient {
    pub fn new(http: reqwest::Client, base: Url, secret_key: Secret) -> Self {
        Self {
            http,
            base,
            secret_key,
        }
    }

    /// `GET /v1/payment_intents/{id}` with its latest charge expanded (refunds live there).
    pub async fn get_payment_intent(&self, account: &str, id: &str) -> Result<Value, CallError> {
        let path = format!("v1/payment_intents/{id}?expand[]=latest_charge");
        self.get(account, &path).await
    }

    /// `GET /v1/disputes/{id}`.
    pub async fn get_dispute(&self, account: &str, id: &str) -> Result<Value, CallError> {
        self.get(account, &format!("v1/disputes/{id}")).await
    }

    /// `GET /v1/disputes?payment_intent={id}&limit=1`: the intent's latest dispute, when its
    /// charge says it is disputed (a PaymentIntent names no dispute of its own).
    pub async fn latest_dispute_of(&self, account: &str, intent: &str) -> Result<Value, CallError> {
        let path = format!("v1/disputes?payment_intent={intent}&limit=1");
        self.get(account, &path).await
    }

    /// `POST /v1/checkout/sessions` on the connected account, form-encoded as Stripe takes it.
    pub async fn create_checkout_session(
        &self,
        account: &str,
        form: &[(String, String)],
    ) -> Result<Value, CallError> {
        let request = self
            .http
            .post(join(&self.base, "v1/checkout/sessions"))
            .bearer_auth(self.secret_key.expose())
            .header("Stripe-Account", account)
            .form(form);
        send("stripe", request).await
    }

    async fn get(&self, account: &str, path: &str) -> Result<Value, CallError> {
        let request = self
            .http
            .get(join(&self.base, path))
            .bearer_auth(self.secret_key.expose())
            .header("Stripe-Account", account);
        send("stripe", request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn client(server: &MockServer) -> StripeClient {
        let base = Url::parse(&server.uri()).expect("url");
        StripeClient::new(
            reqwest::Client::new(),
            base,
            Secret::new("sk_test_platform"),
        )
    }

    #[tokio::test]
    async fn calls_carry_the_key_and_the_connected_account() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/payment_intents/pi_1"))
            .and(query_param("expand[]", "latest_charge"))
            .and(header("authorization", "Bearer sk_test_platform"))
            .and(header("stripe-account", "acct_seller"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "id": "pi_1", "status": "succeeded" })))
            .expect(1)
            .mount(&server)
            .await;
        let intent = client(&server)
            .get_payment_intent("acct_seller", "pi_1")
            .await
            .expect("the intent");
        assert_eq!(intent["status"], "succeeded");
    }

    #[tokio::test]
    async fn a_refusal_is_a_status_error_with_its_body() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/disputes/dp_1"))
            .respond_with(
                ResponseTemplate::new(401)
                    .set_body_string(r#"{"error":{"message":"Invalid API Key provided"}}"#),
            )
            .mount(&server)
            .await;
        let refused = client(&server).get_dispute("acct_seller", "dp_1").await;
        assert!(
            matches!(&refused, Err(CallError::Status { status: 401, body, .. }) if body.contains("Invalid API Key")),
            "{refused:?}"
        );
    }
}
