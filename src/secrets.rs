//! Tenant secrets at rest (SPEC §16): MercadoPago access tokens, webhook secrets and GoHighLevel
//! keys are sealed with XChaCha20-Poly1305 under `COBRO_SECRET_KEY` (base64 of 32 bytes) before
//! they are written, and opened when the tenant directory reads a tenant. A sealed value is
//! `enc:v1:<base64(nonce ‖ ciphertext)>` in the same text column, so plain values (no key, or
//! written before one was set) are told apart and sealed at start. Nothing here logs a value.
//!
//! Used by `store::tenants` (sealing on write), `store::directory` (opening on read), `app`
//! (the start-up check and sealing of plain values) and `cli` (`cobro secrets rotate`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const PREFIX: &str = "enc:v1:";
const NONCE_BYTES: usize = 24;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("COBRO_SECRET_KEY must be base64 of exactly 32 bytes")]
    BadKey,
    #[error(
        "a stored secret cannot be decrypted with COBRO_SECRET_KEY (a wrong key, or a damaged value)"
    )]
    WrongKey,
    #[error(
        "tenant secrets in the database are encrypted: set COBRO_SECRET_KEY to the key that encrypted them"
    )]
    KeyMissing,
}

/// Seals and opens tenant secrets; without a key it passes plain values through.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Option<XChaCha20Poly1305>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.cipher.is_some() {
            "key set"
        } else {
            "no key"
        };
        write!(f, "SecretBox({state})")
    }
}

impl SecretBox {
    /// No key: values are stored as given (SPEC §16 allows it, with a warning at start).
    pub fn plain() -> Self {
        Self { cipher: None }
    }

    /// From `COBRO_SECRET_KEY`'s text: base64 of 32 bytes.
    pub fn from_base64(key: &str) -> Result<Self, SecretError> {
        let bytes = BASE64.decode(key.trim()).map_err(|_| SecretError::BadKey)?;
        // A key of any length but 32 bytes is refused here.
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| SecretError::BadKey)?;
        Ok(Self {
            cipher: Some(cipher),
        })
    }

    pub fn has_key(&self) -> bool {
        self.cipher.is_some()
    }

    /// The value to store: sealed under the key (a fresh random nonce each time), or as given.
    pub fn seal(&self, value: &str) -> String {
        let Some(cipher) = &self.cipher else {
            return value.to_owned();
        };
        let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
        let nonce = XNonce::from_slice(&nonce_bytes);
        // Encryption with a valid key and nonce cannot fail for in-memory input.
        let sealed = cipher.encrypt(nonce, value.as_bytes()).unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", BASE64.encode(out))
    }

    /// The value as it was given: sealed ones opened with the key, plain ones as they are.
    pub fn open(&self, stored: &str) -> Result<String, SecretError> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let cipher = self.cipher.as_ref().ok_or(SecretError::KeyMissing)?;
        let bytes = BASE64.decode(encoded).map_err(|_| SecretError::WrongKey)?;
        if bytes.len() < NONCE_BYTES {
            return Err(SecretError::WrongKey);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let plain = cipher
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| SecretError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SecretError::WrongKey)
    }

    /// `open` for an optional column.
    pub fn open_optional(&self, stored: Option<&str>) -> Result<Option<String>, SecretError> {
        stored.map(|s| self.open(s)).transpose()
    }
}

/// Is this stored value sealed?
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        BASE64.encode([byte; 32])
    }

    #[test]
    fn sealed_values_open_to_what_was_sealed() {
        let secrets = SecretBox::from_base64(&key(7)).expect("key");
        let sealed = secrets.seal("APP_USR-123");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("APP_USR"));
        assert_eq!(secrets.open(&sealed), Ok("APP_USR-123".into()));
        // A fresh nonce each time: equal secrets do not look equal at rest.
        assert_ne!(secrets.seal("APP_USR-123"), sealed);
    }

    #[test]
    fn a_wrong_key_or_a_changed_byte_is_refused() {
        let sealed = SecretBox::from_base64(&key(7)).expect("key").seal("s");
        let other = SecretBox::from_base64(&key(8)).expect("key");
        assert_eq!(other.open(&sealed), Err(SecretError::WrongKey));
        let mut damaged = sealed.into_bytes();
        let last = damaged.len() - 2;
        damaged[last] = if damaged[last] == b'A' { b'B' } else { b'A' };
        let damaged = String::from_utf8(damaged).expect("ascii");
        let right = SecretBox::from_base64(&key(7)).expect("key");
        assert_eq!(right.open(&damaged), Err(SecretError::WrongKey));
    }

    #[test]
    fn plain_values_pass_through_and_sealed_ones_need_the_key() {
        let sealed = SecretBox::from_base64(&key(7)).expect("key").seal("s");
        assert_eq!(SecretBox::plain().open("plain"), Ok("plain".into()));
        assert_eq!(
            SecretBox::plain().open(&sealed),
            Err(SecretError::KeyMissing)
        );
        assert_eq!(SecretBox::plain().seal("s"), "s");
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(SecretBox::from_base64(&key(1)).is_ok());
        assert_eq!(
            SecretBox::from_base64(&BASE64.encode([1u8; 16])).err(),
            Some(SecretError::BadKey)
        );
        assert_eq!(
            SecretBox::from_base64("not base64!").err(),
            Some(SecretError::BadKey)
        );
    }
}
