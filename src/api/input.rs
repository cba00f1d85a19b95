//! Checks of request input that several handlers share: text the database cannot store, search
//! fields as asked, path ids. Each refusal is an `AppError`, answered as SPEC §11 says.

use crate::error::AppError;

/// Text the database could not store: PostgreSQL's `text` has no NUL character. Refused the same
/// way on SQLite, so both answer alike; the schemas say `pattern: ^[^\x00]*$` (or, for text that
/// must not be blank, `^[^\x00]*[^\s\x00][^\x00]*$`).
pub(super) fn refuse_nul(fields: &[(&str, Option<&String>)]) -> Result<(), AppError> {
    match fields
        .iter()
        .find(|(_, value)| value.is_some_and(|v| v.contains('\0')))
    {
        Some((name, _)) => Err(AppError::Unprocessable(format!(
            "{name} must not contain a NUL character"
        ))),
        None => Ok(()),
    }
}

/// A search field as asked: trimmed, and an empty one is no filter at all. A NUL character is
/// refused (400), as the schema says: PostgreSQL's text cannot hold one.
pub(super) fn search_text(name: &str, asked: Option<String>) -> Result<Option<String>, AppError> {
    let Some(text) = asked.map(|text| text.trim().to_owned()) else {
        return Ok(None);
    };
    if text.contains('\0') {
        return Err(AppError::InvalidQuery(format!(
            "{name} must not contain a NUL character"
        )));
    }
    Ok(Some(text).filter(|text| !text.is_empty()))
}

/// Path ids that are not UUIDs are simply not found.
pub(super) fn parse_id(text: &str, what: &'static str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(text).map_err(|_| AppError::NotFound(what))
}

/// A provider as a search filter (SPEC §19).
#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderIn {
    Mercadopago,
    Stripe,
}

impl ProviderIn {
    pub fn provider(self) -> crate::domain::Provider {
        match self {
            ProviderIn::Mercadopago => crate::domain::Provider::MercadoPago,
            ProviderIn::Stripe => crate::domain::Provider::Stripe,
        }
    }

    /// Its name in data (`Provider::key`).
    pub fn key(self) -> String {
        self.provider().key().to_owned()
    }
}
