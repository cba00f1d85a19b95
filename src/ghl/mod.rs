//! The GoHighLevel API v2 client (MERCADOPAGO.md §5): find a contact by email, create it without
//! tags, add one tag, take it back (a fraud alert). Used only by the tenant pipeline; `upsert` never carries tags because its
//! `tags` field replaces all of a contact's tags.

use serde_json::{Value, json};
use url::Url;

use crate::domain::normalize_id;
use crate::outbound::{CallError, join, send};

const API_VERSION: &str = "2021-07-28";

#[derive(Debug, thiserror::Error)]
pub enum GhlError {
    #[error("GoHighLevel {0}")]
    Call(#[from] CallError),
    #[error("GoHighLevel answered without a contact id")]
    NoContactId,
}

pub use crate::domain::GhlSettings;

/// The buyer as GoHighLevel needs them.
pub struct Buyer<'a> {
    pub email: &'a str,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
}

#[derive(Clone)]
pub struct GhlClient {
    http: reqwest::Client,
    base: Url,
}

impl GhlClient {
    pub fn new(http: reqwest::Client, base: Url) -> Self {
        Self { http, base }
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        api_key: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, join(&self.base, path))
            .bearer_auth(api_key)
            .header("Version", API_VERSION)
            .header("Accept", "application/json")
    }

    /// `GET /contacts/search/duplicate`: the contact id, or `None` when `{"contact": null}`.
    pub async fn find_contact(
        &self,
        s: &GhlSettings,
        email: &str,
    ) -> Result<Option<String>, GhlError> {
        let request = self
            .request(
                reqwest::Method::GET,
                "contacts/search/duplicate",
                &s.api_key,
            )
            .query(&[("locationId", s.location_id.as_str()), ("email", email)]);
        let body = send("gohighlevel", request).await?;
        Ok(body.pointer("/contact/id").and_then(normalize_id))
    }

    /// `POST /contacts/upsert` without tags; answers the contact id.
    pub async fn create_contact(
        &self,
        s: &GhlSettings,
        buyer: &Buyer<'_>,
    ) -> Result<String, GhlError> {
        let mut body = json!({ "locationId": s.location_id, "email": buyer.email });
        if let Some(first) = buyer.first_name {
            body["firstName"] = Value::from(first);
        }
        if let Some(last) = buyer.last_name {
            body["lastName"] = Value::from(last);
        }
        let request = self
            .request(reqwest::Method::POST, "contacts/upsert", &s.api_key)
            .json(&body);
        let answer = send("gohighlevel", request).await?;
        answer
            .pointer("/contact/id")
            .and_then(normalize_id)
            .ok_or(GhlError::NoContactId)
    }

    /// `DELETE /contacts/{id}/tags` with the tenant's one tag: a fraud alert takes it back.
    pub async fn remove_tag(&self, s: &GhlSettings, contact_id: &str) -> Result<(), GhlError> {
        let path = format!("contacts/{contact_id}/tags");
        let request = self
            .request(reqwest::Method::DELETE, &path, &s.api_key)
            .json(&json!({ "tags": [s.tag] }));
        send("gohighlevel", request).await?;
        Ok(())
    }

    /// `POST /contacts/{id}/tags` with the tenant's one tag.
    pub async fn add_tag(&self, s: &GhlSettings, contact_id: &str) -> Result<(), GhlError> {
        let path = format!("contacts/{contact_id}/tags");
        let request = self
            .request(reqwest::Method::POST, &path, &s.api_key)
            .json(&json!({ "tags": [s.tag] }));
        send("gohighlevel", request).await?;
        Ok(())
    }
}
