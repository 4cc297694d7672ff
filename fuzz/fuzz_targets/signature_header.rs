//! The `aktify-signature` header and body, as an attacker sends them: never a panic, and
//! never more than one HMAC per secret (checked by the unit tests; here: no crash, no hang).
#![no_main]

use call_events::core::signature::{Secret, Verifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The header is the input up to the first newline; the body is the rest.
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let header = String::from_utf8_lossy(&data[..split]);
    let body = data.get(split + 1..).unwrap_or_default();
    let secrets = ["fuzz-secret-0123456789", "fuzz-second-secret-0123"]
        .map(|s| Secret::new(s).expect("long enough"));
    let verifier = Verifier::new(secrets.to_vec(), 300);
    let _ = verifier.verify(Some(&header), body, 1_706_443_200_000);
    let _ = verifier.refusing_v1().verify(Some(&header), body, i64::MAX);
});
