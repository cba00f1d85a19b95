//! The MercadoPago HTTP client: `GET /v1/payments/{id}` and `POST /checkout/preferences` with
//! the seller's token. Answers MercadoPago's JSON as sent; reading it is `payment`'s and
//! `checkout`'s. Rate limiting is the caller's (the tenant actor owns its limiter).

use serde_json::Value;
use url::Url;

use crate::outbound::{CallError, join, send};

#[derive(Clone)]
pub struct MpClient {
    http: reqwest::Client,
    base: Url,
}

impl MpClient {
    pub fn new(http: reqwest::Client, base: Url) -> Self {
        Self { http, base }
    }

    pub async fn get_payment(
        &self,
        access_token: &str,
        payment_id: &str,
    ) -> Result<Value, CallError> {
        self.get(access_token, &format!("v1/payments/{payment_id}"))
            .await
    }

    /// `GET /v1/orders/{id}` (Orders API).
    pub async fn get_order(&self, access_token: &str, order_id: &str) -> Result<Value, CallError> {
        self.get(access_token, &format!("v1/orders/{order_id}"))
            .await
    }

    /// `GET /v1/chargebacks/{id}`.
    pub async fn get_chargeback(&self, access_token: &str, id: &str) -> Result<Value, CallError> {
        self.get(access_token, &format!("v1/chargebacks/{id}"))
            .await
    }

    /// `GET /post-purchase/v1/claims/{id}`.
    pub async fn get_claim(&self, access_token: &str, id: &str) -> Result<Value, CallError> {
        self.get(access_token, &format!("post-purchase/v1/claims/{id}"))
            .await
    }

    async fn get(&self, access_token: &str, path: &str) -> Result<Value, CallError> {
        let url = join(&self.base, path);
        send("mercadopago", self.http.get(url).bearer_auth(access_token)).await
    }

    /// `POST /oauth/token` with a form: MP's OAuth token endpoint.
    pub async fn oauth_token(&self, form: &[(&str, &str)]) -> Result<Value, CallError> {
        let url = join(&self.base, "oauth/token");
        send("mercadopago", self.http.post(url).form(form)).await
    }

    /// `POST /checkout/preferences`: creates the payment page of an order; answers MP's body
    /// (`id`, `init_point`, ...).
    pub async fn create_preference(
        &self,
        access_token: &str,
        preference: &Value,
    ) -> Result<Value, CallError> {
        let url = join(&self.base, "checkout/preferences");
        let request = self
            .http
            .post(url)
            .bearer_auth(access_token)
            .json(preference);
        send("mercadopago", request).await
    }
}
