//! What the MercadoPago and GoHighLevel clients share: one `reqwest::Client` with the configured
//! timeout, and [`send`], which turns a call into JSON or a [`CallError`] that keeps what the retry
//! policy needs (status, `Retry-After`) and what a person needs (a short body excerpt).

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

/// How much of an error body is kept for `error_details`.
const BODY_EXCERPT_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("timed out")]
    Timeout,
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("answered {status}")]
    Status {
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    #[error("answered with a body that is not JSON: {0}")]
    Decode(String),
}

pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("cobro/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Sends the request and reads a JSON answer. Any non-2xx answer is a `Status` error. The call's
/// duration is recorded by `service` and status code (`timeout`/`error` when there is none).
pub async fn send(service: &'static str, request: RequestBuilder) -> Result<Value, CallError> {
    let started = std::time::Instant::now();
    let sent = request.send().await;
    let label = match &sent {
        Ok(response) => response.status().as_str().to_owned(),
        Err(err) if err.is_timeout() => "timeout".to_owned(),
        Err(_) => "error".to_owned(),
    };
    metrics::histogram!("cobro_outbound_request_duration_seconds", "service" => service, "status" => label)
        .record(started.elapsed().as_secs_f64());
    let response = sent.map_err(transport_error)?;
    let status = response.status();
    if !status.is_success() {
        let retry_after = retry_after(&response);
        let body = response.text().await.unwrap_or_default();
        return Err(CallError::Status {
            status: status.as_u16(),
            retry_after,
            body: excerpt(&body),
        });
    }
    let bytes = response.bytes().await.map_err(transport_error)?;
    if bytes.is_empty() && status == StatusCode::NO_CONTENT {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| CallError::Decode(e.to_string()))
}

fn transport_error(err: reqwest::Error) -> CallError {
    if err.is_timeout() {
        CallError::Timeout
    } else {
        CallError::Connect(err.without_url().to_string())
    }
}

/// `Retry-After` in seconds (MP and most APIs); an HTTP date is rare enough to ignore.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
}

fn excerpt(body: &str) -> String {
    body.chars().take(BODY_EXCERPT_CHARS).collect()
}
