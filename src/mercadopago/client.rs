//! The MercadoPago Payments API client: `GET /v1/payments/{id}` with the seller's token. Used only
//! by the tenant pipeline, never on the webhook ack path. Rate limiting is the caller's (the
//! tenant actor owns its limiter).

use serde_json::Value;
use url::Url;

use super::payment::{MpPayment, UnreadablePayment};
use crate::outbound::{CallError, send};

#[derive(Debug, thiserror::Error)]
pub enum MpError {
    #[error("MercadoPago {0}")]
    Call(#[from] CallError),
    #[error("MercadoPago {0}")]
    Unreadable(#[from] UnreadablePayment),
}

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
    ) -> Result<MpPayment, MpError> {
        let url = join(&self.base, &format!("v1/payments/{payment_id}"));
        let body: Value = send("mercadopago", self.http.get(url).bearer_auth(access_token)).await?;
        Ok(MpPayment::from_json(body)?)
    }
}

impl MpClient {
    /// `POST /checkout/preferences`: creates the payment page of an order; answers MP's body
    /// (`id`, `init_point`, ...).
    pub async fn create_preference(
        &self,
        access_token: &str,
        preference: &Value,
    ) -> Result<Value, MpError> {
        let url = join(&self.base, "checkout/preferences");
        Ok(send(
            "mercadopago",
            self.http
                .post(url)
                .bearer_auth(access_token)
                .json(preference),
        )
        .await?)
    }
}

/// Joins a path onto a base that may or may not end in `/` (and may carry a path prefix).
pub(crate) fn join(base: &Url, path: &str) -> String {
    format!(
        "{}/{}",
        base.as_str().trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}
