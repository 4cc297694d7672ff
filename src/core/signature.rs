//! The `aktify-signature` header: `t=<unix ms>,v2=<hex>` where v2 is HMAC-SHA256 over
//! `<t>.<raw body>`, or, from legacy webhooks, `t=<unix ms>,v1=<hex>` over the raw body.
//!
//! Cost is bounded whatever the header holds: a candidate that is not 64 hex digits (a
//! SHA-256) makes the header malformed before anything is hashed, and each configured secret
//! costs ONE HMAC, compared in constant time with every candidate. A header with `v2`
//! candidates is checked as `v2` only; `v1` is checked only when no `v2` is present (and
//! can be refused altogether, `ACCEPT_LEGACY_V1_SIGNATURES=false`).

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub const HEADER: &str = "aktify-signature";
pub const DEFAULT_TOLERANCE_SECONDS: u64 = 300;

/// A webhook client secret. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret must be at least {min} characters long", min = Secret::MIN_LEN)]
pub struct SecretTooShort;

impl Secret {
    pub const MIN_LEN: usize = 16;

    pub fn new(secret: impl Into<String>) -> Result<Self, SecretTooShort> {
        let secret = secret.into();
        if secret.chars().count() < Self::MIN_LEN {
            return Err(SecretTooShort);
        }
        Ok(Self(secret))
    }

    /// Every secret in a comma- or newline-separated list (several during rotation).
    pub fn parse_list(list: &str) -> Result<Vec<Self>, SecretTooShort> {
        list.split([',', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Self::new)
            .collect()
    }

    fn mac(&self) -> HmacSha256 {
        #[cfg(test)]
        HMACS.with(|n| n.set(n.get() + 1));
        // HMAC takes a key of any length, so this cannot fail.
        <HmacSha256 as KeyInit>::new_from_slice(self.0.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why a request was refused. The answer to the sender is the same for all of them;
/// the kind is for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no signature header")]
    Missing,
    #[error("malformed signature header")]
    Malformed,
    #[error("signature timestamp outside the tolerance")]
    Stale,
    #[error("no signature matches a configured secret")]
    Mismatch,
    /// Only legacy `v1` signatures, and this verifier refuses them.
    #[error("a legacy v1 signature, refused (ACCEPT_LEGACY_V1_SIGNATURES is false)")]
    V1Refused,
}

#[cfg(test)]
thread_local! {
    /// HMACs started on this thread: lets the tests count the cost of a header.
    static HMACS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The length of a SHA-256 in bytes: every candidate must decode to exactly this.
const SHA256_LEN: usize = 32;

/// Checks signatures against every configured secret.
#[derive(Debug, Clone)]
pub struct Verifier {
    secrets: Vec<Secret>,
    tolerance_ms: i64,
    accept_v1: bool,
}

impl Verifier {
    pub fn new(secrets: Vec<Secret>, tolerance_seconds: u64) -> Self {
        let tolerance_ms =
            i64::try_from(tolerance_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
        Self {
            secrets,
            tolerance_ms,
            accept_v1: true,
        }
    }

    /// The secrets it checks against.
    pub fn secrets(&self) -> &[Secret] {
        &self.secrets
    }

    /// The same checks against other secrets (a rotation).
    pub fn with_secrets(&self, secrets: Vec<Secret>) -> Self {
        Self {
            secrets,
            ..self.clone()
        }
    }

    /// Refuses legacy `v1` signatures (HMAC over the body alone, no timestamp in it, so a
    /// captured request can be replayed with a fresh `t`); `v2` only.
    pub fn refusing_v1(self) -> Self {
        self.accepting_v1(false)
    }

    /// Takes legacy `v1` signatures or not (`ACCEPT_LEGACY_V1_SIGNATURES`).
    pub fn accepting_v1(mut self, accept: bool) -> Self {
        self.accept_v1 = accept;
        self
    }

    /// Accepts the request when its header carries a `v2` (or legacy `v1`) signature of
    /// `body` made with any configured secret, dated within the tolerance of `now_ms`.
    pub fn verify(
        &self,
        header: Option<&str>,
        body: &[u8],
        now_ms: i64,
    ) -> Result<(), SignatureError> {
        self.check(header, body, Some(now_ms)).map(|_| ())
    }

    /// Checks a kept signed request (a DNC signal's evidence, a quarantined body) as
    /// [`verify`](Self::verify) does, except that its age is not held against it; says
    /// which scheme signed it.
    pub fn verify_kept(&self, header: &str, body: &[u8]) -> Result<Scheme, SignatureError> {
        self.check(Some(header), body, None)
    }

    fn check(
        &self,
        header: Option<&str>,
        body: &[u8],
        now_ms: Option<i64>,
    ) -> Result<Scheme, SignatureError> {
        let header = SignatureHeader::parse(header.ok_or(SignatureError::Missing)?)?;
        if let Some(now_ms) = now_ms
            && now_ms.abs_diff(header.timestamp_ms) > self.tolerance_ms.unsigned_abs()
        {
            return Err(SignatureError::Stale);
        }
        let (candidates, signed_timestamp, scheme) = match (header.v2.is_empty(), self.accept_v1) {
            (false, _) => (&header.v2, Some(header.timestamp_text), Scheme::V2),
            (true, true) => (&header.v1, None, Scheme::V1),
            (true, false) => return Err(SignatureError::V1Refused),
        };
        // One HMAC per secret; each candidate compared with it in constant time.
        let matches = |secret: &Secret| {
            let mut mac = secret.mac();
            if let Some(t) = signed_timestamp {
                mac.update(t.as_bytes());
                mac.update(b".");
            }
            mac.update(body);
            let expected = mac.finalize().into_bytes();
            candidates
                .iter()
                .fold(false, |found, sig| found | bool::from(expected.ct_eq(sig)))
        };
        if self.secrets.iter().any(matches) {
            Ok(scheme)
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// The scheme a signature was made with: `v2` (over the timestamp and the body) or the
/// legacy `v1` (over the body alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    V2,
    V1,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2 => "v2",
            Self::V1 => "v1",
        }
    }
}

/// The parts of the header: `k=v` pairs separated by commas, in any order; unknown keys
/// are ignored so the sender can add schemes.
struct SignatureHeader<'a> {
    timestamp_text: &'a str,
    timestamp_ms: i64,
    v2: Vec<[u8; SHA256_LEN]>,
    v1: Vec<[u8; SHA256_LEN]>,
}

/// A candidate signature: exactly 64 hex digits, or the header is malformed.
fn sha256_hex(value: &str) -> Result<[u8; SHA256_LEN], SignatureError> {
    let mut bytes = [0u8; SHA256_LEN];
    hex::decode_to_slice(value, &mut bytes).map_err(|_| SignatureError::Malformed)?;
    Ok(bytes)
}

impl<'a> SignatureHeader<'a> {
    fn parse(header: &'a str) -> Result<Self, SignatureError> {
        let mut timestamp = None;
        let (mut v2, mut v1) = (Vec::new(), Vec::new());
        for part in header.split(',') {
            let (key, value) = part.split_once('=').ok_or(SignatureError::Malformed)?;
            let value = value.trim();
            match key.trim() {
                "t" => {
                    let digits_only =
                        !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
                    let ms = value.parse::<i64>().ok().filter(|_| digits_only);
                    if timestamp.is_some() || ms.is_none() {
                        return Err(SignatureError::Malformed);
                    }
                    timestamp = ms.map(|ms| (value, ms));
                }
                "v2" => v2.push(sha256_hex(value)?),
                "v1" => v1.push(sha256_hex(value)?),
                _ => {}
            }
        }
        let (timestamp_text, timestamp_ms) = timestamp.ok_or(SignatureError::Malformed)?;
        if v2.is_empty() && v1.is_empty() {
            return Err(SignatureError::Malformed);
        }
        Ok(Self {
            timestamp_text,
            timestamp_ms,
            v2,
            v1,
        })
    }
}

/// Re-verifies stored evidence (the `evidence` of a DNC register item or of a
/// `dnc.requested` message) with a webhook secret, years after it arrived: true when its
/// `signatureHeader` holds a `v2` signature of `<t>.<body>` or a legacy `v1` signature of
/// `body` made with `secret`. The signature's age does not matter here: the evidence
/// proves what the platform sent, not when it was checked.
///
/// By hand: `printf '%s' "<t>.<body>" | openssl dgst -sha256 -hmac '<secret>'` gives the
/// `v2` hex (`v1`: the body alone).
pub fn verify_evidence(secret: &Secret, signature_header: &str, body: &[u8]) -> bool {
    Verifier::new(vec![secret.clone()], DEFAULT_TOLERANCE_SECONDS)
        .verify_kept(signature_header, body)
        .is_ok()
}

/// Signs `body` as a legacy webhook does with `v1` (HMAC over the body alone).
pub fn sign_v1(secret: &Secret, timestamp_ms: i64, body: &[u8]) -> String {
    let mut mac = secret.mac();
    mac.update(body);
    format!(
        "t={timestamp_ms},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Signs `body` as the sender does with `v2`: for local runs, sample events and tests.
pub fn sign_v2(secret: &Secret, timestamp_ms: i64, body: &[u8]) -> String {
    let mut mac = secret.mac();
    mac.update(timestamp_ms.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp_ms},v2={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_0123456789abcdef";
    const BODY: &[u8] = br#"{"metadata":{"eventType":"lead.call_received"},"data":{}}"#;
    const T: i64 = 1_706_443_200_000;
    // printf '%s' '1706443200000.{"metadata":{"eventType":"lead.call_received"},"data":{}}' \
    //   | openssl dgst -sha256 -hmac 'whsec_test_0123456789abcdef'
    const V2_HEX: &str = "d6341ffddab615238164ec23ffb7fbb17c5a5e2cc42d245386d726f43900284d";
    // printf '%s' '{"metadata":{"eventType":"lead.call_received"},"data":{}}' \
    //   | openssl dgst -sha256 -hmac 'whsec_test_0123456789abcdef'
    const V1_HEX: &str = "ae0e36317e92290b027a36db71c25c3e292838504bd2233ab468da3461fc3c46";

    fn verifier(secrets: &[&str]) -> Verifier {
        Verifier::new(
            secrets.iter().map(|s| Secret::new(*s).unwrap()).collect(),
            DEFAULT_TOLERANCE_SECONDS,
        )
    }

    fn hmacs_for(
        verifier: &Verifier,
        header: &str,
        body: &[u8],
    ) -> (Result<(), SignatureError>, usize) {
        HMACS.with(|n| n.set(0));
        let result = verifier.verify(Some(header), body, T);
        (result, HMACS.with(|n| n.get()))
    }

    #[test]
    fn a_header_costs_one_hmac_per_secret_whatever_it_holds() {
        let v = verifier(&[SECRET, "whsec_second_0123456789abcdef"]);
        let body = vec![b'x'; 256 * 1024];
        let wrong = "0".repeat(64);
        let many = |scheme: &str| {
            let parts: Vec<String> = (0..2400).map(|_| format!("{scheme}={wrong}")).collect();
            parts.join(",")
        };
        for header in [
            format!("t={T},{}", many("v2")),
            format!("t={T},{}", many("v1")),
            format!("t={T},{},{}", many("v2"), many("v1")),
        ] {
            assert_eq!(
                hmacs_for(&v, &header, &body),
                (Err(SignatureError::Mismatch), 2)
            );
        }
        let honest = sign_v2(&Secret::new(SECRET).unwrap(), T, &body);
        HMACS.with(|n| n.set(0));
        let (result, hmacs) = hmacs_for(&v, &honest, &body);
        assert_eq!(result, Ok(()));
        assert!(hmacs <= 2, "{hmacs}");
    }

    #[test]
    fn candidates_that_cannot_be_a_sha256_are_refused_before_any_hmac() {
        let v = verifier(&[SECRET]);
        let empties = format!("t={T},{}", vec!["v2="; 2400].join(","));
        for header in [
            empties,
            format!("t={T},v2=abc"),
            format!("t={T},v2={}", "g".repeat(64)),
            format!("t={T},v2={V2_HEX}00"),
            format!("t={T},v1="),
        ] {
            assert_eq!(
                hmacs_for(&v, &header, BODY),
                (Err(SignatureError::Malformed), 0),
                "{header}"
            );
        }
    }

    #[test]
    fn legacy_v1_signatures_can_be_refused() {
        let v1 = format!("t={T},v1={V1_HEX}");
        assert_eq!(verifier(&[SECRET]).verify(Some(&v1), BODY, T), Ok(()));
        let strict = verifier(&[SECRET]).refusing_v1();
        assert_eq!(
            strict.verify(Some(&v1), BODY, T),
            Err(SignatureError::V1Refused)
        );
        let v2 = format!("t={T},v2={V2_HEX}");
        assert_eq!(strict.verify(Some(&v2), BODY, T), Ok(()));
    }

    #[test]
    fn stored_evidence_verifies_with_its_secret_at_any_age_and_not_with_another() {
        let secret = Secret::new(SECRET).unwrap();
        let other = Secret::new("whsec_other_0123456789abcdef").unwrap();
        let v2 = format!("t={T},v2={V2_HEX}");
        let v1 = format!("t={T},v1={V1_HEX}");
        for header in [&v2, &v1] {
            assert!(verify_evidence(&secret, header, BODY), "{header}");
            assert!(!verify_evidence(&other, header, BODY), "{header}");
            assert!(!verify_evidence(&secret, header, b"{}"), "{header}");
        }
        assert!(!verify_evidence(&secret, "garbage", BODY));
        assert_eq!(sign_v1(&secret, T, BODY), v1);
    }

    #[test]
    fn v2_signature_matches_an_independent_hmac() {
        let v = verifier(&[SECRET]);
        assert_eq!(
            v.verify(Some(&format!("t={T},v2={V2_HEX}")), BODY, T),
            Ok(())
        );
        assert_eq!(
            sign_v2(&Secret::new(SECRET).unwrap(), T, BODY),
            format!("t={T},v2={V2_HEX}")
        );
    }

    #[test]
    fn legacy_v1_signature_over_the_body_alone_is_accepted() {
        let v = verifier(&[SECRET]);
        assert_eq!(
            v.verify(Some(&format!("t={T},v1={V1_HEX}")), BODY, T),
            Ok(())
        );
    }

    #[test]
    fn parts_may_come_in_any_order_and_unknown_parts_are_ignored() {
        let v = verifier(&[SECRET]);
        let header = format!(" v3=zz , v2={V2_HEX}, t={T} ");
        assert_eq!(v.verify(Some(&header), BODY, T), Ok(()));
    }

    #[test]
    fn any_configured_secret_is_accepted_for_rotation() {
        let v = verifier(&["another_secret_0000000", SECRET]);
        assert_eq!(
            v.verify(Some(&format!("t={T},v2={V2_HEX}")), BODY, T),
            Ok(())
        );
    }

    #[test]
    fn wrong_v2_signature_is_rejected() {
        let v = verifier(&["another_secret_0000000"]);
        let header = format!("t={T},v2={V2_HEX}");
        assert_eq!(
            v.verify(Some(&header), BODY, T),
            Err(SignatureError::Mismatch)
        );
        let tampered = [BODY, b" "].concat();
        assert_eq!(
            verifier(&[SECRET]).verify(Some(&header), &tampered, T),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn v2_signature_covers_the_timestamp() {
        let header = format!("t={},v2={V2_HEX}", T + 1);
        assert_eq!(
            verifier(&[SECRET]).verify(Some(&header), BODY, T),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn v1_hex_is_not_accepted_as_v2() {
        let header = format!("t={T},v2={V1_HEX}");
        assert_eq!(
            verifier(&[SECRET]).verify(Some(&header), BODY, T),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_v2_signature_is_rejected() {
        let v = verifier(&[SECRET]);
        let header = format!("t={T},v2={V2_HEX}");
        let tolerance = 300_000;
        assert_eq!(v.verify(Some(&header), BODY, T + tolerance), Ok(()));
        assert_eq!(
            v.verify(Some(&header), BODY, T + tolerance + 1),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn signature_from_the_future_beyond_tolerance_is_rejected() {
        let v = verifier(&[SECRET]);
        let header = format!("t={T},v2={V2_HEX}");
        assert_eq!(v.verify(Some(&header), BODY, T - 300_000), Ok(()));
        assert_eq!(
            v.verify(Some(&header), BODY, T - 300_001),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn tolerance_is_configurable() {
        let v = Verifier::new(vec![Secret::new(SECRET).unwrap()], 10);
        let header = format!("t={T},v2={V2_HEX}");
        assert_eq!(
            v.verify(Some(&header), BODY, T + 10_001),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn missing_header_is_rejected() {
        assert_eq!(
            verifier(&[SECRET]).verify(None, BODY, T),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn malformed_headers_are_rejected_cleanly() {
        let v = verifier(&[SECRET]);
        for header in [
            "",
            "garbage",
            &format!("v2={V2_HEX}"),
            &format!("t=,v2={V2_HEX}"),
            &format!("t=-5,v2={V2_HEX}"),
            &format!("t=+{T},v2={V2_HEX}"),
            &format!("t=1e3,v2={V2_HEX}"),
            &format!("t=99999999999999999999999,v2={V2_HEX}"),
            &format!("t={T},t={T},v2={V2_HEX}"),
            &format!("t={T}"),
            &format!("t={T},v2=xyz"),
            &format!("t={T},v2={V2_HEX},junk"),
        ] {
            assert_eq!(
                v.verify(Some(header), BODY, T),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
    }

    #[test]
    fn secrets_shorter_than_16_characters_are_refused() {
        assert_eq!(Secret::new("short"), Err(SecretTooShort));
        assert!(Secret::new("exactly16chars!!").is_ok());
        assert_eq!(
            Secret::parse_list("a_long_enough_secret_1, b_long_enough_secret_2")
                .unwrap()
                .len(),
            2
        );
        assert!(Secret::parse_list("a_long_enough_secret_1,short").is_err());
    }

    #[test]
    fn secret_debug_output_never_shows_the_secret() {
        let secret = Secret::new(SECRET).unwrap();
        assert!(!format!("{secret:?}").contains(SECRET));
        assert!(!format!("{:?}", verifier(&[SECRET])).contains(SECRET));
    }
}
