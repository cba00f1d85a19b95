//! The `x-signature` check of MERCADOPAGO.md §2. Pure functions, no I/O: ingest calls
//! [`verify`] with the raw header, the query's `data.id` and `x-request-id`.
//!
//! Manifest: `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`, leaving out absent pairs; `v1` is
//! hex HMAC-SHA256 of it under the secret. MP's docs say to lowercase an alphanumeric `data.id`,
//! its SDKs keep the case: we accept either, raw first.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a signature was refused; the text is what the 401 body says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing x-signature header")]
    Missing,
    #[error("malformed x-signature header: {0}")]
    Malformed(&'static str),
    #[error("x-signature does not match")]
    Mismatch,
}

/// A parsed `x-signature` header: the timestamp as sent and the 32-byte HMAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub ts: String,
    pub v1: [u8; 32],
}

/// Parses `ts=<ts>,v1=<hex>`: parts split on `,`, each on its first `=`, trimmed; unknown keys
/// are ignored; `ts` and a 64-hex-digit `v1` are required.
pub fn parse_header(value: &str) -> Result<SignatureHeader, SignatureError> {
    if value.trim().is_empty() {
        return Err(SignatureError::Malformed("empty"));
    }
    let (mut ts, mut v1) = (None, None);
    for part in value.split(',') {
        let Some((key, val)) = part.split_once('=') else {
            continue;
        };
        match key.trim() {
            "ts" => ts = Some(val.trim()),
            "v1" => v1 = Some(val.trim()),
            _ => {}
        }
    }
    let ts = ts
        .filter(|t| !t.is_empty())
        .ok_or(SignatureError::Malformed("no ts"))?;
    let v1 = v1
        .filter(|v| !v.is_empty())
        .ok_or(SignatureError::Malformed("no v1"))?;
    let mut digest = [0u8; 32];
    hex::decode_to_slice(v1, &mut digest)
        .map_err(|_| SignatureError::Malformed("v1 is not 64 hex digits"))?;
    Ok(SignatureHeader {
        ts: ts.to_owned(),
        v1: digest,
    })
}

/// The signed text. `ts:` is always there; `id:` and `request-id:` only when present.
pub fn manifest(data_id: Option<&str>, request_id: Option<&str>, ts: &str) -> String {
    let mut text = String::with_capacity(96);
    if let Some(id) = data_id.filter(|s| !s.is_empty()) {
        text.push_str("id:");
        text.push_str(id);
        text.push(';');
    }
    if let Some(rid) = request_id.filter(|s| !s.is_empty()) {
        text.push_str("request-id:");
        text.push_str(rid);
        text.push(';');
    }
    text.push_str("ts:");
    text.push_str(ts);
    text.push(';');
    text
}

/// Hex HMAC-SHA256 of `message` under `secret`; used by tests, the sandbox and load generators.
pub fn sign(secret: &[u8], message: &str) -> String {
    hex::encode(mac(secret, message).finalize().into_bytes())
}

/// Checks a parsed header against the raw `data.id`, then its lowercased form. The comparison
/// is `Mac::verify_slice`, which is constant-time.
pub fn verify(
    secret: &[u8],
    header: &SignatureHeader,
    data_id: Option<&str>,
    request_id: Option<&str>,
) -> Result<(), SignatureError> {
    let matches = |id: Option<&str>| {
        mac(secret, &manifest(id, request_id, &header.ts))
            .verify_slice(&header.v1)
            .is_ok()
    };
    let lowered = data_id.map(str::to_lowercase);
    let lowered_differs = lowered.as_deref() != data_id;
    if matches(data_id) || (lowered_differs && matches(lowered.as_deref())) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Parses and verifies in one step; `None` for the header means it was not sent.
pub fn check(
    secret: &[u8],
    header: Option<&str>,
    data_id: Option<&str>,
    request_id: Option<&str>,
) -> Result<(), SignatureError> {
    let header = parse_header(header.ok_or(SignatureError::Missing)?)?;
    verify(secret, &header, data_id, request_id)
}

fn mac(secret: &[u8], message: &str) -> HmacSha256 {
    // HMAC takes keys of any length, so this constructor cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(message.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_vector_from_the_docs() {
        let m = manifest(
            Some("123456"),
            Some("bb56a2f1-6aae-46ac-982e-9dcd3581d08e"),
            "1742505638683",
        );
        assert_eq!(
            m,
            "id:123456;request-id:bb56a2f1-6aae-46ac-982e-9dcd3581d08e;ts:1742505638683;"
        );
        assert_eq!(
            sign(b"your_secret_key_here", &m),
            "5e0a7ed2ea5ece575e9d1a9bb80f7ce6ca43d6d30e8be93413bae108b94ad7cd"
        );
    }

    #[test]
    fn header_parsing_tolerates_spaces_order_and_unknown_keys() {
        let hex64 = "ab".repeat(32);
        let parsed = parse_header(&format!(" v1 = {hex64} , foo=bar, ts=17 "));
        assert_eq!(parsed.map(|h| h.ts), Ok("17".to_owned()));
    }

    #[test]
    fn malformed_headers_are_named() {
        for bad in ["", "garbage", "ts=1", "v1=abc", "ts=,v1=", "ts=1,v1=zz"] {
            assert!(
                matches!(parse_header(bad), Err(SignatureError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
