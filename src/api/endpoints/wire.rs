//! What the endpoints' routes read and answer (SPEC §21): the bodies and queries (`…In`), the
//! answers (`…Out`) mapped from rows, and the one URL shape the document states and the server
//! checks. No handler logic: that is the parent module's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// What an endpoint's URL must look like, in the schema and on the server alike (so a request the
/// document accepts is never refused for its shape, and one it refuses is refused): `http(s)://`,
/// a host name (labels of letters, digits and single hyphens; the last begins with a letter) or
/// an IPv4 address, a port, a path and a query of URL characters. Whether Cobro may call it
/// (`https://`, a public address) is checked after, by `relay::address` (422).
pub const URL_SHAPE: &str = concat!(
    r"^https?://(",
    r"([A-Za-z0-9]+(-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*",
    r"|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])",
    r")(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
    r"(/([A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?",
    r"(\?([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?$",
);

pub(super) static URL_SHAPE_RE: std::sync::LazyLock<Option<regex::Regex>> =
    std::sync::LazyLock::new(|| regex::Regex::new(URL_SHAPE).ok());

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointIn {
    /// Where to send: `https://` and a public address (`http://` and private addresses only
    /// with `COBRO_OUTBOUND_ALLOW_PRIVATE=true`).
    #[schema(
        pattern = r"^https?://(([A-Za-z0-9]+(-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(/([A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?(\?([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?$"
    )]
    pub url: String,
    /// The event types wanted; absent: all.
    pub events: Option<Vec<EventTypeIn>>,
    #[schema(pattern = r"^[^\x00]*$")]
    pub description: Option<String>,
}

/// A change; absent fields stay as they are (`events: null`: all types again).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatchIn {
    #[schema(
        pattern = r"^https?://(([A-Za-z0-9]+(-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(/([A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?(\?([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?$"
    )]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<EventTypeIn>>)]
    pub events: Option<Option<Vec<EventTypeIn>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^[^\x00]*$")]
    pub description: Option<Option<String>>,
    /// `false` enables an endpoint the relay disabled (its failures are forgiven).
    pub disabled: Option<bool>,
}

/// A field present in the body, even as `null`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// An event type an endpoint may ask for (SPEC §21).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub enum EventTypeIn {
    #[serde(rename = "payment.updated")]
    PaymentUpdated,
    #[serde(rename = "order.updated")]
    OrderUpdated,
    #[serde(rename = "dispute.updated")]
    DisputeUpdated,
    #[serde(rename = "fraud_alert.created")]
    FraudAlertCreated,
    #[serde(rename = "claim.updated")]
    ClaimUpdated,
    #[serde(rename = "event.failed")]
    EventFailed,
    #[serde(rename = "connection.updated")]
    ConnectionUpdated,
}

impl EventTypeIn {
    fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

pub(super) fn type_names(types: Vec<EventTypeIn>) -> Vec<String> {
    let mut names: Vec<String> = types.into_iter().map(EventTypeIn::name).collect();
    names.sort();
    names.dedup();
    names
}

/// An endpoint as shown (never its secret, but on creation and rotation).
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointOut {
    pub id: Uuid,
    /// `null`: platform-wide.
    pub tenant_id: Option<Uuid>,
    pub url: String,
    /// `null`: every type.
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub disabled: bool,
    /// Why it is disabled (`answered 410 Gone`, `failing for 5days`, `disabled by hand`).
    pub disabled_reason: Option<String>,
    /// The first failure since the last success.
    pub failing_since: Option<DateTime<Utc>>,
    /// The previous secret still signs until then (a rotation's overlap).
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// `whsec_…`: only in the answers of creation and rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EndpointOut {
    pub(super) fn of(row: entity::outbound_endpoint::Model, secret: Option<String>) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            url: row.url,
            events: row.events.and_then(|text| serde_json::from_str(&text).ok()),
            description: row.description,
            disabled: row.disabled,
            disabled_reason: row.disabled_reason,
            failing_since: row.failing_since,
            previous_secret_until: row.previous_secret_until,
            secret,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A message to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    /// `webhook-id`: `msg_<id>`.
    pub id: String,
    pub event_type: String,
    pub tenant_id: Option<Uuid>,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// The body sent.
    pub payload: Value,
    /// Every attempt, first to last (in the answer about one message only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_history: Option<Vec<AttemptOut>>,
    /// Paging: the next page of an endpoint's messages starts `before` this.
    pub seq: i64,
}

impl MessageOut {
    pub(super) fn of(row: entity::outbound_message::Model) -> Self {
        let pending = row.status == crate::store::outbound::PENDING;
        Self {
            id: format!("msg_{}", row.message_id.simple()),
            event_type: row.event_type,
            tenant_id: row.tenant_id,
            status: row.status,
            attempts: row.attempts,
            next_attempt_at: pending.then_some(row.next_attempt_at),
            created_at: row.created_at,
            delivered_at: row.delivered_at,
            last_error: row.last_error,
            payload: serde_json::from_str(&row.body).unwrap_or(Value::Null),
            attempt_history: None,
            seq: row.seq,
        }
    }
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    pub attempted_at: DateTime<Utc>,
    pub duration_ms: i64,
    /// `delivered`, `retry`, `failed` or `disabled`.
    pub outcome: String,
    pub http_status: Option<i32>,
    /// The first 4 KiB of the answer.
    pub response: Option<String>,
    pub node: Option<String>,
}

impl From<entity::outbound_attempt::Model> for AttemptOut {
    fn from(a: entity::outbound_attempt::Model) -> Self {
        Self {
            attempted_at: a.attempted_at,
            duration_ms: a.duration_ms,
            outcome: a.outcome,
            http_status: a.http_status,
            response: a.response,
            node: a.node,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatusIn {
    Pending,
    Delivered,
    Failed,
}

/// Filters and paging of an endpoint's messages.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageListIn {
    pub status: Option<MessageStatusIn>,
    /// The `seq` of the last message of the previous page.
    pub before: Option<i64>,
    /// How many: 50 when absent, at most 500.
    #[param(minimum = 0)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RetriedOut {
    pub retried: u64,
}

#[cfg(test)]
mod tests {
    use super::{URL_SHAPE, URL_SHAPE_RE};

    #[test]
    fn the_document_states_the_shape_the_server_checks() {
        use utoipa::OpenApi;
        let doc = serde_json::to_value(crate::api::openapi::ApiDoc::openapi()).unwrap_or_default();
        for schema in ["EndpointIn", "EndpointPatchIn"] {
            let pattern = &doc["components"]["schemas"][schema]["properties"]["url"]["pattern"];
            assert_eq!(pattern.as_str(), Some(URL_SHAPE), "{schema}");
        }
    }

    #[test]
    fn the_url_shape_takes_real_urls_and_nothing_odd() {
        let shape = URL_SHAPE_RE.as_ref().expect("the pattern compiles");
        for url in [
            "https://backend.example.com/webhooks/cobro",
            "https://api.example.com:8443/hooks?source=cobro&v=2",
            "http://10.0.0.5:8080/hook",
            "https://my-shop.example.com/a%20b",
        ] {
            assert!(shape.is_match(url), "{url}");
            assert!(url::Url::parse(url).is_ok(), "{url}");
        }
        for url in [
            "http://a*",
            "ftp://a.com",
            "https://",
            "https://a.com/ b",
            "https://1.2.3.4.5",
            "https://xn--a.com",
        ] {
            assert!(!shape.is_match(url), "{url}");
        }
    }
}
