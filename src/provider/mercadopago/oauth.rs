//! MercadoPago OAuth (MERCADOPAGO.md §4, SPEC §14): the authorization page a seller is sent to,
//! and `POST /oauth/token` for the code exchange (with the PKCE verifier) and for refreshes. The
//! answer's `refresh_token` is rotated at each refresh, so the caller must store the new one.

use std::time::Duration;

use serde_json::Value;

use super::MpClient;
use crate::config::MpOAuth;
use crate::domain::normalize_id;
use crate::outbound::CallError;
use crate::provider::port::{Grant, GrantError};

/// The authorization page with the application, where to come back, the `state` and the PKCE
/// challenge (S256).
pub fn authorization_url(
    oauth: &MpOAuth,
    redirect_uri: &str,
    state: &str,
    code_challenge: &str,
) -> String {
    let mut url = oauth.auth_base.clone();
    url.set_path(&format!(
        "{}/authorization",
        oauth.auth_base.path().trim_end_matches('/')
    ));
    url.query_pairs_mut()
        .append_pair("client_id", &oauth.client_id)
        .append_pair("response_type", "code")
        .append_pair("platform_id", "mp")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .append_pair("code_challenge", code_challenge)
        .append_pair("code_challenge_method", "S256");
    url.into()
}

/// `grant_type=authorization_code`.
pub async fn exchange_code(
    client: &MpClient,
    oauth: &MpOAuth,
    code: &str,
    code_verifier: &str,
    redirect_uri: &str,
) -> Result<Grant, GrantError> {
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", oauth.client_id.as_str()),
        ("client_secret", oauth.client_secret.expose()),
        ("code", code),
        ("code_verifier", code_verifier),
        ("redirect_uri", redirect_uri),
    ];
    read_grant(client.oauth_token(&form).await)
}

/// `grant_type=refresh_token`.
pub async fn refresh(
    client: &MpClient,
    oauth: &MpOAuth,
    refresh_token: &str,
) -> Result<Grant, GrantError> {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", oauth.client_id.as_str()),
        ("client_secret", oauth.client_secret.expose()),
        ("refresh_token", refresh_token),
    ];
    read_grant(client.oauth_token(&form).await)
}

/// MP's 4xx is a refusal (a used or wrong code, a revoked refresh token) that asking again will
/// not change; anything else is MP being unavailable.
fn read_grant(answer: Result<Value, CallError>) -> Result<Grant, GrantError> {
    let body = match answer {
        Ok(body) => body,
        Err(CallError::Status { status, body, .. }) if (400..500).contains(&status) => {
            return Err(GrantError::Refused(refusal(status, &body)));
        }
        Err(other) => return Err(GrantError::Unavailable(format!("MercadoPago {other}"))),
    };
    let text = |key: &str| body.get(key).and_then(normalize_id);
    let access_token = text("access_token").ok_or_else(|| {
        GrantError::Unavailable("MercadoPago answered without an access_token".into())
    })?;
    Ok(Grant {
        access_token,
        refresh_token: text("refresh_token"),
        expires_in: body
            .get("expires_in")
            .and_then(Value::as_u64)
            .map(Duration::from_secs),
        seller_account_id: text("user_id"),
    })
}

/// MP's error body names the reason (`invalid_grant`, ...): keep its words, not its secrets.
fn refusal(status: u16, body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let field = |key: &str| {
        parsed
            .as_ref()
            .and_then(|b| b.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match (field("error"), field("message")) {
        (Some(error), Some(message)) => {
            format!("MercadoPago refused ({status} {error}): {message}")
        }
        (Some(error), None) => format!("MercadoPago refused ({status} {error})"),
        (None, Some(message)) => format!("MercadoPago refused ({status}): {message}"),
        (None, None) => format!("MercadoPago refused with {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use serde_json::json;

    fn oauth() -> MpOAuth {
        MpOAuth {
            client_id: "123".into(),
            client_secret: Secret::new("s"),
            auth_base: url::Url::parse("https://auth.mercadopago.com").expect("url"),
        }
    }

    #[test]
    fn the_authorization_url_carries_state_and_challenge() {
        let url = authorization_url(
            &oauth(),
            "https://cobro.example/oauth/mp/callback",
            "st.x",
            "ch",
        );
        let parsed = url::Url::parse(&url).expect("a url");
        assert_eq!(parsed.path(), "/authorization");
        let pairs: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(pairs["client_id"], "123");
        assert_eq!(pairs["state"], "st.x");
        assert_eq!(pairs["code_challenge"], "ch");
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(
            pairs["redirect_uri"],
            "https://cobro.example/oauth/mp/callback"
        );
    }

    #[test]
    fn grants_and_refusals_are_read() {
        let grant = read_grant(Ok(
            json!({"access_token": "APP_USR-1", "refresh_token": "TG-1",
            "expires_in": 15552000, "user_id": 2079614828u64}),
        ))
        .expect("a grant");
        assert_eq!(grant.seller_account_id.as_deref(), Some("2079614828"));
        assert_eq!(grant.expires_in, Some(Duration::from_secs(15_552_000)));
        let refused = read_grant(Err(CallError::Status {
            status: 400,
            retry_after: None,
            body: r#"{"error":"invalid_grant","message":"invalid code"}"#.into(),
        }));
        assert_eq!(
            refused.err(),
            Some(GrantError::Refused(
                "MercadoPago refused (400 invalid_grant): invalid code".into()
            ))
        );
        let down = read_grant(Err(CallError::Timeout));
        assert!(matches!(down, Err(GrantError::Unavailable(_))));
    }
}
