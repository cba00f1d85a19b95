//! One attempt to deliver one message (SPEC §21): the Standard Webhooks headers and signature
//! (signed by the official `standardwebhooks` crate, under each current secret), no redirects
//! followed, the answer read up to 4 KiB, and a [`Verdict`] the relay acts on. Nothing here
//! touches the database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use entity::outbound_message::Model as Message;
use reqwest::redirect::Policy;

use super::address::{PublicOnly, check_url};
use crate::config::OutboundConfig;

/// How much of an answer is read and kept.
const RESPONSE_BYTES: usize = 4096;

/// What an attempt's answer means.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Delivered,
    /// A timeout, a connection error, a 5xx or a 429: try again (after `retry_after` at least).
    Retry {
        retry_after: Option<Duration>,
        error: String,
    },
    /// Another answer, or an address Cobro may not call: no retry.
    Permanent(String),
    /// 410 Gone: the endpoint does not want messages any more.
    Gone,
}

/// An attempt as it ended.
#[derive(Debug, Clone)]
pub struct Sent {
    pub verdict: Verdict,
    pub http_status: Option<u16>,
    pub response: Option<String>,
    pub duration: Duration,
}

/// The relay's HTTP client.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    pub fn new(config: &OutboundConfig) -> reqwest::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(Policy::none())
            .user_agent(concat!("Cobro/", env!("CARGO_PKG_VERSION")));
        if !config.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Self {
            client: builder.build()?,
            allow_private: config.allow_private,
        })
    }

    /// Sends `message` to `url`, signed under each of `secrets` (newest first).
    pub async fn send(&self, url: &str, message: &Message, secrets: &[String]) -> Sent {
        let started = Instant::now();
        let refused = |error: String| Sent {
            verdict: Verdict::Permanent(error),
            http_status: None,
            response: None,
            duration: started.elapsed(),
        };
        if let Err(err) = check_url(url, self.allow_private) {
            return refused(format!("refused: {err}"));
        }
        let id = webhook_id(message);
        let timestamp = chrono::Utc::now().timestamp();
        let signature = match sign(secrets, &id, timestamp, &message.body) {
            Ok(signature) => signature,
            Err(err) => return refused(format!("cannot sign: {err}")),
        };
        let request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(message.body.clone());
        match request.send().await {
            Err(err) => Sent {
                verdict: transport(&err),
                http_status: None,
                response: None,
                duration: started.elapsed(),
            },
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = crate::outbound::retry_after(&response);
                let text = read_capped(response).await;
                Sent {
                    verdict: judge(status, retry_after),
                    http_status: Some(status),
                    response: Some(text),
                    duration: started.elapsed(),
                }
            }
        }
    }
}

/// `webhook-id`: the same on every endpoint and every retry of a change.
pub fn webhook_id(message: &Message) -> String {
    format!("msg_{}", message.message_id.simple())
}

/// `webhook-signature`: `v1,<base64>` per secret, space-separated.
pub fn sign(
    secrets: &[String],
    id: &str,
    timestamp: i64,
    body: &str,
) -> Result<String, standardwebhooks::WebhookError> {
    let signatures = secrets
        .iter()
        .map(|secret| standardwebhooks::Webhook::new(secret)?.sign(id, timestamp, body.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(signatures.join(" "))
}

fn judge(status: u16, retry_after: Option<Duration>) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        410 => Verdict::Gone,
        429 | 500..=599 => Verdict::Retry {
            retry_after,
            error: format!("answered {status}"),
        },
        _ => Verdict::Permanent(format!("answered {status}")),
    }
}

/// A timeout or a connection error is retried; an address refused by the resolver is not.
fn transport(err: &reqwest::Error) -> Verdict {
    let chain = error_chain(err);
    if chain.contains("is not a public address") {
        return Verdict::Permanent(format!("refused: {chain}"));
    }
    let error = match err.is_timeout() {
        true => "timed out".to_owned(),
        false => format!("could not connect: {chain}"),
    };
    Verdict::Retry {
        retry_after: None,
        error,
    }
}

/// An error and its causes, one sentence (reqwest's own message alone says only "error sending
/// request").
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.dedup();
    parts.join(": ")
}

/// The first [`RESPONSE_BYTES`] of an answer, as text; the rest is never read.
async fn read_capped(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(RESPONSE_BYTES);
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_vector() {
        let secrets = vec!["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()];
        let signed = sign(
            &secrets,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signed.ok().as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn two_secrets_sign_side_by_side() {
        let secrets = vec![
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".to_owned(),
        ];
        let signed = sign(&secrets, "msg_1", 1, "{}").unwrap_or_default();
        let parts: Vec<&str> = signed.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
    }

    #[test]
    fn answers_are_judged_as_the_spec_says() {
        assert_eq!(judge(204, None), Verdict::Delivered);
        assert_eq!(judge(410, None), Verdict::Gone);
        let wait = Some(Duration::from_secs(7));
        assert!(
            matches!(judge(429, wait), Verdict::Retry { retry_after, .. } if retry_after == wait)
        );
        assert!(matches!(judge(503, None), Verdict::Retry { .. }));
        assert!(matches!(judge(400, None), Verdict::Permanent(_)));
        assert!(matches!(judge(301, None), Verdict::Permanent(_)));
    }
}
