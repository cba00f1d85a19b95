//! Feeds arbitrary bytes to every reader of untrusted input: the webhook classifier, the
//! `x-signature` parser and verifier, and the lenient payment reader. Any panic is a finding.
#![no_main]

use cobro::ingest::classify::classify;
use cobro::mercadopago::{MpPayment, signature};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = classify(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = signature::parse_header(text);
        let (header, id) = text.split_once('\n').unwrap_or((text, "1"));
        let _ = signature::check(b"secret", Some(header), Some(id), Some("req"));
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = MpPayment::from_json(value);
    }
});
