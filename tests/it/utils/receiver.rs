//! The platform's backend as a test sees it (SPEC §21): a real HTTP server (wiremock) that checks
//! every message's Standard Webhooks signature with its own implementation of the spec
//! (HMAC-SHA256 over `<id>.<timestamp>.<body>` under the base64-decoded `whsec_` key; not Cobro's
//! code) and answers from a plan (statuses, `Retry-After`, delays), then 204.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// One planned answer.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub delay: Option<Duration>,
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            retry_after: None,
            delay: None,
        }
    }

    pub fn retry_after(status: u16, seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds),
            ..Self::status(status)
        }
    }

    pub fn slow(delay: Duration) -> Self {
        Self {
            delay: Some(delay),
            ..Self::status(204)
        }
    }

    fn template(self) -> ResponseTemplate {
        let mut template = ResponseTemplate::new(self.status).set_body_string("ok");
        if let Some(seconds) = self.retry_after {
            template = template.insert_header("retry-after", seconds.to_string());
        }
        if let Some(delay) = self.delay {
            template = template.set_delay(delay);
        }
        template
    }
}

/// What a receiver got, and what it answered.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    /// `webhook-signature`, split at spaces.
    pub signatures: Vec<String>,
    pub raw: Vec<u8>,
    pub body: Value,
    pub answered: Answer,
}

impl Received {
    pub fn kind(&self) -> &str {
        self.body["type"].as_str().unwrap_or_default()
    }

    /// Whether one of the signatures is `secret`'s, by the spec's algorithm.
    pub fn signed_by(&self, secret: &str) -> bool {
        let expected = expected_signature(secret, &self.id, self.timestamp, &self.raw);
        self.signatures.contains(&expected)
    }

    pub fn delivered(&self) -> bool {
        (200..300).contains(&self.answered.status) && self.answered.delay.is_none()
    }
}

/// `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`.
pub fn expected_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = BASE64
        .decode(secret.trim_start_matches("whsec_"))
        .expect("a whsec_ secret is base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

#[derive(Clone, Default)]
struct Plan {
    answers: Arc<Mutex<VecDeque<Answer>>>,
    log: Arc<Mutex<Vec<Received>>>,
}

impl Respond for Plan {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let answer = self
            .answers
            .lock()
            .ok()
            .and_then(|mut plan| plan.pop_front())
            .unwrap_or(Answer::status(204));
        let received = Received {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp").parse().unwrap_or_default(),
            signatures: header("webhook-signature")
                .split(' ')
                .map(str::to_owned)
                .collect(),
            raw: request.body.clone(),
            body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
            answered: answer,
        };
        if let Ok(mut log) = self.log.lock() {
            log.push(received);
        }
        answer.template()
    }
}

pub struct Receiver {
    pub server: MockServer,
    plan: Plan,
}

impl Receiver {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let plan = Plan::default();
        Mock::given(method("POST"))
            .respond_with(plan.clone())
            .mount(&server)
            .await;
        Self { server, plan }
    }

    pub fn url(&self) -> String {
        format!("{}/hooks", self.server.uri())
    }

    /// The next answers, in order (then 204).
    pub fn plan(&self, answers: impl IntoIterator<Item = Answer>) {
        if let Ok(mut plan) = self.plan.answers.lock() {
            plan.extend(answers);
        }
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.plan.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The messages answered 2xx in time, one per `webhook-id` (the first), in order.
    pub fn delivered(&self) -> Vec<Received> {
        let mut seen = std::collections::HashSet::new();
        self.received()
            .into_iter()
            .filter(|r| r.delivered() && seen.insert(r.id.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::expected_signature;

    /// The test's own signature check reproduces the Standard Webhooks spec repo's vectors.
    #[test]
    fn the_receivers_check_reproduces_the_spec_vectors() {
        assert_eq!(
            expected_signature(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#,
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(
            expected_signature(
                "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1649367553,
                br#"{"email":"test@example.com","username":"test_user"}"#,
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }
}
