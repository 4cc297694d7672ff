//! How message ids are made. Consumers deduplicate by `id`; these recipes are part of the
//! contract, and golden vectors pin them (`tests/id_recipes.rs` of the receiver).
//!
//! A digest is the first 16 bytes, in lower-case hex, of SHA-256 over fields joined by
//! U+001F ([`short_digest`]).

use sha2::{Digest, Sha256};

/// `callback-` and 32 lower-case hex digits.
pub const CALLBACK_ID_PATTERN: &str = r"^callback-[0-9a-f]{32}$";
/// `dnc-` and 32 lower-case hex digits.
pub const DNC_REQUEST_ID_PATTERN: &str = r"^dnc-[0-9a-f]{32}$";

/// The first 16 bytes, in lower-case hex, of SHA-256 over `fields` joined by U+001F.
pub fn short_digest(fields: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            hasher.update([0x1f]);
        }
        hasher.update(field.as_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}

/// The id of the callback a `lead.call_scheduled` event asks for: `callback-` + the hex of
/// the event's id (`evt_<hex>`). One message per distinct scheduling event.
pub fn callback_id(event_id: &str) -> String {
    format!(
        "callback-{}",
        event_id.strip_prefix("evt_").unwrap_or(event_id)
    )
}

/// The id of the one DNC request a phone number can ever cause, company-wide: `dnc-` +
/// [`short_digest`] of `dnc-request/v2` and the phone (E.164). A consumer can compute it to
/// ask whether a phone's request has been handled.
pub fn dnc_request_id(phone: &str) -> String {
    format!("dnc-{}", short_digest(&["dnc-request/v2", phone]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_their_patterns() {
        let callback = callback_id("evt_0123456789abcdef0123456789abcdef");
        assert_eq!(callback, "callback-0123456789abcdef0123456789abcdef");
        let dnc = dnc_request_id("+12025550100");
        assert!(dnc.starts_with("dnc-") && dnc.len() == 36, "{dnc}");
        assert!(
            dnc[4..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn the_digest_separates_its_fields() {
        assert_ne!(short_digest(&["ab", "c"]), short_digest(&["a", "bc"]));
        assert_ne!(short_digest(&["abc"]), short_digest(&["ab", "c"]));
    }
}
