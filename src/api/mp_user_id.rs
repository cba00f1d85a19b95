//! The seller's MercadoPago user id as the API reads it: digits, as a string or as a number no
//! larger than 2^53, so that a JavaScript client never sends an id it cannot hold exactly. Its
//! OpenAPI schema says the same (`oneOf` a digit string and a bounded integer).

use serde::Deserialize;
use utoipa::ToSchema;

/// 2^53: numbers above it are not exact in JSON read as doubles.
const MAX_EXACT_NUMBER: u64 = 1 << 53;

/// The seller's MercadoPago user id: a string of digits, or a whole number from 0 to 2^53.
#[derive(Debug)]
pub struct MpUserIdIn(pub String);

impl<'de> Deserialize<'de> for MpUserIdIn {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let digits = match &value {
            serde_json::Value::String(text) => Some(text.clone()),
            // Up to 2^53, the largest whole number a double (and so JavaScript) holds exactly;
            // 123.0 is a whole number too. Larger ids go as strings.
            serde_json::Value::Number(n) => match (n.as_u64(), n.as_f64()) {
                (Some(whole), _) if whole <= MAX_EXACT_NUMBER => Some(whole.to_string()),
                (None, Some(f))
                    if (0.0..=MAX_EXACT_NUMBER as f64).contains(&f) && f.fract() == 0.0 =>
                {
                    Some(format!("{f:.0}"))
                }
                _ => None,
            },
            _ => None,
        };
        digits
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .map(MpUserIdIn)
            .ok_or_else(|| {
                serde::de::Error::custom("mp_user_id must be digits, as a string or a number")
            })
    }
}

impl utoipa::PartialSchema for MpUserIdIn {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[0-9]+$")),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .maximum(Some(MAX_EXACT_NUMBER)),
            )
            .into()
    }
}

impl ToSchema for MpUserIdIn {}
