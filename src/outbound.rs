//! What the provider and GoHighLevel clients share: one `reqwest::Client` with the configured
//! timeout, [`send`], which turns a call into JSON or a [`CallError`] that keeps what the retry
//! policy needs (status, `Retry-After`) and what a person needs (a short body excerpt), and
//! [`CallError::into_failure`], which turns that error into the pipeline's [`Failure`].

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tracing::Instrument;

use crate::domain::{Failure, retry};

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

impl CallError {
    /// The failure of an attempt whose call to `service` failed this way. Transport failures
    /// and unreadable answers are transient; an HTTP status is judged by `on_status`, which
    /// answers whether it is permanent and the sentence a person reads (see [`judge_status`]).
    pub fn into_failure(
        self,
        service: &str,
        on_status: impl FnOnce(u16) -> (bool, String),
    ) -> Failure {
        let key = service.to_lowercase();
        match self {
            CallError::Timeout => Failure::transient(
                format!("{service} did not answer in time"),
                json!({ "service": key, "error": "timeout" }),
            ),
            CallError::Connect(why) => Failure::transient(
                format!("could not reach {service}: {why}"),
                json!({ "service": key, "error": why }),
            ),
            CallError::Decode(why) => Failure::transient(
                format!("{service} answered with a body that is not JSON"),
                json!({ "service": key, "error": why }),
            ),
            CallError::Status {
                status,
                retry_after,
                body,
            } => {
                let (permanent, message) = on_status(status);
                Failure {
                    permanent,
                    retry_after,
                    message,
                    details: json!({ "service": key, "status": status, "body": body }),
                    credentials_refused: status == 401,
                }
            }
        }
    }
}

/// The retry policy's verdict on an HTTP status (`domain::retry`) and the words for it that fit
/// any service; a client adds its own words for the statuses it knows more about (a refused key).
pub fn judge_status(service: &str, status: u16, not_found_is_transient: bool) -> (bool, String) {
    let permanent = !retry::status_is_transient(status, not_found_is_transient);
    let message = match status {
        408 | 429 => format!("{service} is rate limiting or timing out ({status})"),
        500..=599 => format!("{service} failed with {status}"),
        _ => format!("{service} refused the request with {status}"),
    };
    (permanent, message)
}

/// Joins a path onto a base that may or may not end in `/` (and may carry a path prefix).
pub fn join(base: &url::Url, path: &str) -> String {
    format!(
        "{}/{}",
        base.as_str().trim_end_matches('/'),
        path.trim_start_matches('/')
    )
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
/// duration is recorded by `service` and status code (`timeout`/`error` when there is none). The
/// call is an `outbound call` span (SPEC §20) whose context goes out as `traceparent`.
pub async fn send(service: &'static str, request: RequestBuilder) -> Result<Value, CallError> {
    // Only a trace needs this span: the log lines of a call name the service themselves.
    let span = match crate::telemetry::trace_context::exporting() {
        true => tracing::info_span!(
            "outbound call",
            otel.kind = "client",
            service,
            status = tracing::field::Empty
        ),
        false => tracing::Span::none(),
    };
    let call = async {
        let started = std::time::Instant::now();
        let sent = with_trace_context(request).await;
        let label = match &sent {
            Ok(response) => response.status().as_str().to_owned(),
            Err(err) if err.is_timeout() => "timeout".to_owned(),
            Err(_) => "error".to_owned(),
        };
        tracing::Span::current().record("status", label.as_str());
        metrics::histogram!("cobro_outbound_request_duration_seconds", "service" => service, "status" => label)
            .record(started.elapsed().as_secs_f64());
        read_answer(sent).await
    };
    call.instrument(span).await
}

/// Sends the request with the current span's `traceparent` (when traces are exported).
async fn with_trace_context(request: RequestBuilder) -> reqwest::Result<reqwest::Response> {
    let (client, request) = request.build_split();
    let mut request = request?;
    crate::telemetry::trace_context::inject(request.headers_mut());
    client.execute(request).await
}

async fn read_answer(sent: reqwest::Result<reqwest::Response>) -> Result<Value, CallError> {
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
pub fn retry_after(response: &reqwest::Response) -> Option<Duration> {
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
