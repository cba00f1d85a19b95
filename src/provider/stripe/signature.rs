//! The `Stripe-Signature` check (MERCADOPAGO.md §7, SPEC §19). Pure functions, no I/O.
//!
//! Header: `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, other schemes (`v0`, test mode's legacy)
//! ignored. `v1` is hex HMAC-SHA256 of `"<t>.<raw body>"` under the endpoint's `whsec_…` secret
//! (the whole string, prefix included, as Stripe's libraries use it). A delivery is genuine when
//! any `v1` matches under any configured secret (rotation: Stripe signs with the old and the new
//! secret for a while) and `t` is within the tolerance of now, either side.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a delivery was refused; every case answers 401 `bad_signature`, with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing Stripe-Signature header")]
    Missing,
    #[error("malformed Stripe-Signature header: {0}")]
    Malformed(&'static str),
    #[error("Stripe-Signature timestamp outside the tolerance")]
    Expired,
    #[error("Stripe-Signature does not match")]
    Mismatch,
}

/// A parsed header: the signing time and every `v1` signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub t: i64,
    pub v1: Vec<[u8; 32]>,
}

/// Parses `t=…,v1=…`: parts split on `,`, each on its first `=`, trimmed; unknown schemes are
/// ignored; a numeric `t` and at least one 64-hex-digit `v1` are required.
pub fn parse_header(value: &str) -> Result<SignatureHeader, SignatureError> {
    let (mut t, mut v1) = (None, Vec::new());
    for (key, val) in value.split(',').filter_map(|part| part.split_once('=')) {
        match key.trim() {
            "t" => t = Some(val.trim()),
            "v1" => {
                let mut digest = [0u8; 32];
                hex::decode_to_slice(val.trim(), &mut digest)
                    .map_err(|_| SignatureError::Malformed("v1 is not 64 hex digits"))?;
                v1.push(digest);
            }
            _ => {}
        }
    }
    let t = t
        .ok_or(SignatureError::Malformed("no t"))?
        .parse()
        .map_err(|_| SignatureError::Malformed("t is not a number"))?;
    if v1.is_empty() {
        return Err(SignatureError::Malformed("no v1"));
    }
    Ok(SignatureHeader { t, v1 })
}

/// Hex `v1` of `body` signed at `t`; used by tests, the sandbox and load generators.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, t, body).finalize().into_bytes())
}

/// Checks a header against the raw body: the time first, then each configured secret against
/// each `v1` with `Mac::verify_slice`, which compares in constant time.
pub fn verify<S: AsRef<str>>(
    secrets: &[S],
    header: &SignatureHeader,
    body: &[u8],
    now: i64,
    tolerance_secs: u64,
) -> Result<(), SignatureError> {
    if now.abs_diff(header.t) > tolerance_secs {
        return Err(SignatureError::Expired);
    }
    let genuine = secrets.iter().any(|secret| {
        let expected = mac(secret.as_ref(), header.t, body);
        header
            .v1
            .iter()
            .any(|v1| expected.clone().verify_slice(v1).is_ok())
    });
    if genuine {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Parses and verifies in one step; `None` for the header means it was not sent.
pub fn check<S: AsRef<str>>(
    secrets: &[S],
    header: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance_secs: u64,
) -> Result<(), SignatureError> {
    let header = parse_header(header.ok_or(SignatureError::Missing)?)?;
    verify(secrets, &header, body, now, tolerance_secs)
}

fn mac(secret: &str, t: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this constructor cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: u64 = 300;

    fn vectors() -> Vec<serde_json::Value> {
        let path = format!(
            "{}/tests/fixtures/stripe/signature_vectors.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let file: serde_json::Value = serde_json::from_str(&text).expect("vectors are JSON");
        file["vectors"].as_array().expect("a vectors array").clone()
    }

    #[test]
    fn every_fixture_vector() {
        let vectors = vectors();
        assert!(vectors.len() >= 6, "the fixture lost vectors");
        for vector in vectors {
            let text = |key: &str| vector[key].as_str().expect(key).to_owned();
            let number = |key: &str| vector[key].as_i64().expect(key);
            let result = check(
                &[text("secret")],
                Some(&text("stripe_signature")),
                text("body").as_bytes(),
                number("now"),
                TOLERANCE,
            );
            assert_eq!(
                result.is_ok(),
                vector["valid"].as_bool().expect("valid"),
                "{}: {result:?}",
                text("why")
            );
        }
    }

    #[test]
    fn any_configured_secret_is_enough() {
        let body = br#"{"id":"evt_1"}"#;
        let header = format!("t=100,v1={}", sign("whsec_new", 100, body));
        let secrets = ["whsec_old".to_owned(), "whsec_new".to_owned()];
        assert_eq!(check(&secrets, Some(&header), body, 100, TOLERANCE), Ok(()));
        assert_eq!(
            check(&secrets[..1], Some(&header), body, 100, TOLERANCE),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_tolerance_holds_on_both_sides() {
        let body = b"{}";
        let header = format!("t=1000,v1={}", sign("whsec_s", 1000, body));
        let secrets = ["whsec_s".to_owned()];
        for (now, ok) in [(700, true), (1300, true), (699, false), (1301, false)] {
            let result = check(&secrets, Some(&header), body, now, TOLERANCE);
            assert_eq!(result.is_ok(), ok, "now {now}: {result:?}");
        }
    }

    #[test]
    fn malformed_headers_are_named() {
        for bad in [
            "",
            "garbage",
            "t=1",
            "v1=abc",
            "t=x,v1=",
            "t=1,v1=zz",
            "t=1,v0=ab",
        ] {
            assert!(
                matches!(parse_header(bad), Err(SignatureError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            check::<&str>(&[], None, b"", 0, TOLERANCE),
            Err(SignatureError::Missing)
        );
    }
}
