//! Pure business rules and the neutral types every layer shares, with no I/O: payment, order and
//! event statuses, the order state machine, the retry policy, and what a provider adapter hands
//! the core (a [`Notification`], a [`PaymentSnapshot`], a [`Failure`]), and a seller as the core
//! sees it (a [`Tenant`] holding provider [`Account`]s). The pipeline, the store
//! and the API use these; they are unit-tested here without a server.

mod connection;
mod delivery;
mod failure;
mod ids;
mod notification;
mod order_state;
mod outbound;
mod payment;
mod provider;
mod resources;
pub mod retry;
mod status;
mod tenant;

pub use connection::{MpConnection, RECONNECT};
pub use delivery::DeliveryOutcome;
pub use failure::Failure;
pub use ids::{EventId, OrderId, PaymentId, TenantId};
pub use notification::{BodyError, Classified, Notification, ResourceKind, Topic};
pub use order_state::{OrderMove, OrderStatus, plan_order_move};
pub use outbound::{OutboundType, endpoint_wants};
pub use payment::{PaymentSnapshot, normalize_id};
pub use provider::Provider;
pub use resources::{ClaimSnapshot, DisputeSnapshot, OrderSnapshot};
pub use retry::RetrySchedule;
pub use status::{EventStatus, PaymentStatus};
pub use tenant::{Account, GhlSettings, Tenant};

/// A text with nothing but blanks in it: Unicode white space and the information separators
/// U+001C–U+001F. The same characters the API's schemas leave out with the pattern `\S` (a
/// regular expression's `\s` counts the separators as space), so a value the document accepts is
/// never refused here, and one it refuses is refused here too.
pub fn is_blank(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || matches!(c, '\u{1c}'..='\u{1f}'))
}

/// Whether a JSON document holds a NUL character in any string or key. PostgreSQL's `text` and
/// `jsonb` cannot store one, so such a document is refused before it is written, on both
/// backends alike.
pub fn holds_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod blank_tests {
    use super::{holds_nul, is_blank};

    #[test]
    fn nul_characters_are_found_anywhere() {
        use serde_json::json;
        assert!(holds_nul(&json!({"a": ["x", {"b": "y\u{0}"}]})));
        assert!(holds_nul(&json!({"a\u{0}": 1})));
        assert!(!holds_nul(&json!({"a": ["x", {"b": "y"}, 1, null, true]})));
    }

    #[test]
    fn blanks_are_white_space_and_separators_only() {
        for blank in ["", " ", "\t\n", "\u{1c}\u{1f}", "\u{a0}\u{3000}"] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for text in ["a", " a ", "\u{1}", "0"] {
            assert!(!is_blank(text), "{text:?}");
        }
    }
}
