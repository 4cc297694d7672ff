//! Twilio's request signature (`X-Twilio-Signature`), as Twilio documents it
//! (<https://www.twilio.com/docs/usage/webhooks/webhooks-security>): the base64 of an
//! HMAC-SHA1, keyed with the account's auth token, over the exact public URL the request was
//! sent to followed, for a form body, by each parameter's name and value, sorted by name
//! (byte order; a name sent several times, its values sorted too). A JSON body is signed
//! over the URL alone, whose `bodySHA256` query parameter is the hex SHA-256 of the body.
//! Several tokens may be held (a rotation); any of them verifying is enough.
//!
//! Twilio's own libraries also try the URL with the scheme's default port added or removed
//! (Twilio signs what it was configured with); so does this.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// An auth token of the account (a secret: never logged, never shown).
#[derive(Clone)]
pub struct AuthToken(String);

impl AuthToken {
    pub fn new(token: &str) -> Option<Self> {
        let token = token.trim();
        (!token.is_empty()).then(|| Self(token.to_owned()))
    }
}

impl std::fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthToken(..)")
    }
}

/// The body of a request, as the signature covers it.
#[derive(Debug, Clone, Copy)]
pub enum Signed<'a> {
    /// `application/x-www-form-urlencoded`: the parsed parameters.
    Form(&'a [(String, String)]),
    /// Any other body (JSON): its exact bytes, whose SHA-256 the URL's `bodySHA256` gives.
    Raw(&'a [u8]),
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioSignatureError {
    #[error("no X-Twilio-Signature header")]
    Missing,
    #[error("the body's SHA-256 is not the URL's bodySHA256")]
    BodyHash,
    #[error("the signature does not match with any auth token")]
    Mismatch,
}

/// The string Twilio signs: the URL, then each parameter's name and value, sorted.
pub fn signed_text(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.cmp(&b.1)));
    let mut text = String::with_capacity(url.len() + params.len() * 24);
    text.push_str(url);
    for (name, value) in sorted {
        text.push_str(name);
        text.push_str(value);
    }
    text
}

/// The signature of `text` with `token`, as the header carries it.
pub fn sign(token: &AuthToken, text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(token, text))
}

fn mac(token: &AuthToken, text: &str) -> Vec<u8> {
    // HMAC takes a key of any length: `new_from_slice` does not fail for it.
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(token.0.as_bytes()) else {
        return Vec::new();
    };
    mac.update(text.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The URL with its scheme's default port written out, and without it: the forms Twilio's
/// libraries accept besides the URL itself.
fn url_forms(url: &str) -> Vec<String> {
    let mut forms = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return forms;
    };
    let default_port = match scheme {
        "https" => ":443",
        "http" => ":80",
        _ => return forms,
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, path) = rest.split_at(host_end);
    if let Some(bare) = host.strip_suffix(default_port) {
        forms.push(format!("{scheme}://{bare}{path}"));
    } else if !host.contains(':') {
        forms.push(format!("{scheme}://{host}{default_port}{path}"));
    }
    forms
}

/// The `bodySHA256` query parameter of a URL.
fn body_sha256(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "bodySHA256")
        .map(|(_, value)| value.into_owned())
}

/// Verifies a request Twilio sent to `url` (the exact public URL, query included) with any
/// of `tokens`.
pub fn verify(
    tokens: &[AuthToken],
    url: &str,
    header: Option<&str>,
    body: Signed<'_>,
) -> Result<(), TwilioSignatureError> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(TwilioSignatureError::Missing)?;
    let given = base64::engine::general_purpose::STANDARD
        .decode(header)
        .map_err(|_| TwilioSignatureError::Mismatch)?;
    let params: &[(String, String)] = match body {
        Signed::Form(params) => params,
        Signed::Raw(bytes) => {
            let expected = body_sha256(url).ok_or(TwilioSignatureError::BodyHash)?;
            let actual = hex::encode(Sha256::digest(bytes));
            if !bool::from(
                actual
                    .as_bytes()
                    .ct_eq(expected.to_ascii_lowercase().as_bytes()),
            ) {
                return Err(TwilioSignatureError::BodyHash);
            }
            &[]
        }
    };
    for form in url_forms(url) {
        let text = signed_text(&form, params);
        for token in tokens {
            if bool::from(mac(token, &text).ct_eq(&given)) {
                return Ok(());
            }
        }
    }
    Err(TwilioSignatureError::Mismatch)
}

/// A form body's parameters, in their order.
pub fn form_params(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn token(text: &str) -> AuthToken {
        AuthToken::new(text).unwrap()
    }

    /// Twilio's documented example (webhooks-security): auth token 12345, this URL and
    /// these parameters give this signature.
    #[test]
    fn twilios_documented_example_verifies() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let expected = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
        assert_eq!(sign(&token("12345"), &signed_text(url, &params)), expected);
        let tokens = [token("12345")];
        assert_eq!(
            verify(&tokens, url, Some(expected), Signed::Form(&params)),
            Ok(())
        );
        // The same URL with its default port written out, as a proxy may hand it on.
        let ported = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert_eq!(
            verify(&tokens, ported, Some(expected), Signed::Form(&params)),
            Ok(())
        );
    }

    /// Signatures made by Twilio's own library (twilio-python 9.13.0,
    /// `RequestValidator("tw-auth-token-0123456789abcdef").compute_signature(url, params)`),
    /// not by this module's `sign`: an inbound SMS's form, and a JSON body over its
    /// `bodySHA256` URL.
    #[test]
    fn signatures_twilios_library_made_verify() {
        let tokens = [token("tw-auth-token-0123456789abcdef")];
        let url = "https://abc123.execute-api.us-east-1.amazonaws.com/v1/sms/twilio";
        let params: Vec<(String, String)> = [
            ("From", "+12025550100"),
            ("To", "+12025550199"),
            ("Body", "Stop please"),
            ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
            ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
            ("NumMedia", "0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let form = Some("Cuw67du3bf4SI/V/vDybzv2t7TU=");
        assert_eq!(verify(&tokens, url, form, Signed::Form(&params)), Ok(()));
        let ported = "https://abc123.execute-api.us-east-1.amazonaws.com:443/v1/sms/twilio";
        assert_eq!(verify(&tokens, ported, form, Signed::Form(&params)), Ok(()));
        let body = br#"{"From":"+12025550100","Body":"STOP"}"#;
        let json_url = format!(
            "{url}?bodySHA256=f746203a76566ddb5a8e2850fe7bb1d3ff81a1189970b64102d283a829217bde"
        );
        let json = Some("PrTyPu3veKR4TU4ub753zI1p3ZQ=");
        assert_eq!(verify(&tokens, &json_url, json, Signed::Raw(body)), Ok(()));
    }

    #[test]
    fn a_changed_parameter_a_wrong_url_or_token_does_not_verify_and_a_rotation_does() {
        let url = "https://api.example.com/v1/sms/twilio";
        let params = form_params(b"From=%2B12025550100&Body=STOP&To=%2B12025550199");
        let current = token("current-token");
        let header = sign(&current, &signed_text(url, &params));
        let rotated = [token("previous-token"), current.clone()];
        assert_eq!(
            verify(&rotated, url, Some(&header), Signed::Form(&params)),
            Ok(())
        );
        let mut changed = params.clone();
        changed[1].1 = "START".into();
        for (url, params, tokens) in [
            (url, &changed, &rotated[..]),
            (
                "https://api.example.com/v1/sms/twilio2",
                &params,
                &rotated[..],
            ),
            (url, &params, &[token("previous-token")][..]),
        ] {
            assert_eq!(
                verify(tokens, url, Some(&header), Signed::Form(params)),
                Err(TwilioSignatureError::Mismatch)
            );
        }
        assert_eq!(
            verify(&rotated, url, None, Signed::Form(&params)),
            Err(TwilioSignatureError::Missing)
        );
        assert_eq!(
            verify(&rotated, url, Some("not base64!"), Signed::Form(&params)),
            Err(TwilioSignatureError::Mismatch)
        );
    }

    #[test]
    fn a_json_body_is_signed_over_the_url_whose_body_sha256_it_must_match() {
        let body = br#"{"From":"+12025550100","Body":"stop"}"#;
        let hash = hex::encode(Sha256::digest(body));
        let url = format!("https://api.example.com/v1/sms/twilio?bodySHA256={hash}");
        let current = token("current-token");
        let header = sign(&current, &url);
        let tokens = [current];
        assert_eq!(
            verify(&tokens, &url, Some(&header), Signed::Raw(body)),
            Ok(())
        );
        assert_eq!(
            verify(&tokens, &url, Some(&header), Signed::Raw(b"{}")),
            Err(TwilioSignatureError::BodyHash)
        );
        let no_hash = "https://api.example.com/v1/sms/twilio";
        assert_eq!(
            verify(&tokens, no_hash, Some(&header), Signed::Raw(body)),
            Err(TwilioSignatureError::BodyHash)
        );
    }

    proptest! {
        #[test]
        fn parameters_in_any_order_sign_alike_and_nothing_panics(
            mut params in prop::collection::vec(("[A-Za-z]{1,8}", "\\PC{0,20}"), 0..8),
            header in "\\PC{0,40}",
            url in "\\PC{0,60}",
            seed in any::<u64>(),
        ) {
            let token = token("t");
            let url_fixed = "https://h.example/p";
            let header_ok = sign(&token, &signed_text(url_fixed, &params));
            let mut rng = seed;
            for i in (1..params.len()).rev() {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                params.swap(i, (rng >> 33) as usize % (i + 1));
            }
            prop_assert!(verify(std::slice::from_ref(&token), url_fixed, Some(&header_ok), Signed::Form(&params)).is_ok());
            let _ = verify(&[token], &url, Some(&header), Signed::Raw(header.as_bytes()));
        }
    }
}
