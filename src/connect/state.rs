//! The OAuth `state` and PKCE pair of one authorization (SPEC §14), pure. A `state` reads
//! `<tenant>.<expires, unix seconds>.<nonce>.<mac>`: it names the tenant, says when it stops
//! being accepted, and carries an HMAC-SHA256 under a key derived from the application's client
//! secret, so every node of a cluster can check it and nobody without the secret can make one.
//! The nonce is also a row in `oauth_states`, which the callback deletes: the MAC stops forgeries,
//! the row stops replays.
//!
//! PKCE (RFC 7636, S256) is three lines over `sha2` and `base64`; the `oauth2` crate would bring
//! its own HTTP client stack for them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::TenantId;

type HmacSha256 = Hmac<Sha256>;

/// Why a `state` was refused; the text is what the callback page says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("this link was not made by Cobro (its state does not check out)")]
    Forged,
    #[error("this link expired; start the connection again")]
    Expired,
}

/// A freshly issued `state` and its PKCE pair.
pub struct Issued {
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
    pub code_challenge: String,
}

/// The key states are signed with: HMAC of a fixed label under the client secret, so the secret
/// itself never signs anything else.
pub fn signing_key(client_secret: &str) -> [u8; 32] {
    let mut mac = new_mac(client_secret.as_bytes());
    mac.update(b"cobro/oauth-state/v1");
    mac.finalize().into_bytes().into()
}

pub fn issue(key: &[u8; 32], tenant: TenantId, expires_at: DateTime<Utc>) -> Issued {
    let nonce = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    let signed = signed_part(tenant.0, expires_at.timestamp(), &nonce);
    let mac = URL_SAFE_NO_PAD.encode(sign(key, &signed));
    let code_verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    Issued {
        state: format!("{signed}.{mac}"),
        nonce,
        code_challenge: challenge(&code_verifier),
        code_verifier,
    }
}

/// Checks the MAC, then the expiry; answers the tenant and the nonce to take.
pub fn verify(
    key: &[u8; 32],
    state: &str,
    now: DateTime<Utc>,
) -> Result<(TenantId, String), StateError> {
    let parts: Vec<&str> = state.split('.').collect();
    let [tenant, expires, nonce, mac] = parts[..] else {
        return Err(StateError::Forged);
    };
    let mac = URL_SAFE_NO_PAD
        .decode(mac)
        .map_err(|_| StateError::Forged)?;
    let mut check = new_mac(key);
    check.update(format!("{tenant}.{expires}.{nonce}").as_bytes());
    check.verify_slice(&mac).map_err(|_| StateError::Forged)?;
    // Signed by us, so these parse; a failure is still a refusal, never a panic.
    let tenant = Uuid::parse_str(tenant).map_err(|_| StateError::Forged)?;
    let expires: i64 = expires.parse().map_err(|_| StateError::Forged)?;
    if now.timestamp() >= expires {
        return Err(StateError::Expired);
    }
    Ok((TenantId(tenant), nonce.to_owned()))
}

/// RFC 7636 S256: base64url(SHA-256(verifier)), unpadded.
pub fn challenge(code_verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(code_verifier.as_bytes()))
}

fn signed_part(tenant: Uuid, expires: i64, nonce: &str) -> String {
    format!("{tenant}.{expires}.{nonce}")
}

fn sign(key: &[u8], message: &str) -> Vec<u8> {
    let mut mac = new_mac(key);
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this constructor cannot fail.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("any key length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> [u8; 32] {
        signing_key("client-secret")
    }

    #[test]
    fn pkce_matches_the_rfc_7636_example() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn an_issued_state_verifies_until_it_expires() {
        let tenant = TenantId(Uuid::now_v7());
        let now = Utc::now();
        let issued = issue(&key(), tenant, now + chrono::Duration::minutes(10));
        assert_eq!(
            verify(&key(), &issued.state, now),
            Ok((tenant, issued.nonce.clone()))
        );
        let later = now + chrono::Duration::minutes(11);
        assert_eq!(
            verify(&key(), &issued.state, later),
            Err(StateError::Expired)
        );
        assert_eq!(challenge(&issued.code_verifier), issued.code_challenge);
        assert!(
            issued.code_verifier.len() >= 43,
            "RFC 7636: 43 to 128 characters"
        );
    }

    #[test]
    fn any_change_or_another_key_is_a_forgery() {
        let tenant = TenantId(Uuid::now_v7());
        let now = Utc::now();
        let issued = issue(&key(), tenant, now + chrono::Duration::minutes(10));
        let other_tenant =
            issued
                .state
                .replacen(&tenant.to_string(), &Uuid::now_v7().to_string(), 1);
        let longer = issued.state.replacen('.', "9.", 2);
        for forged in [
            other_tenant,
            longer,
            "garbage".into(),
            String::new(),
            "a.b.c.d".into(),
        ] {
            assert_eq!(
                verify(&key(), &forged, now),
                Err(StateError::Forged),
                "{forged}"
            );
        }
        let other_key = signing_key("another secret");
        assert_eq!(
            verify(&other_key, &issued.state, now),
            Err(StateError::Forged)
        );
    }
}
