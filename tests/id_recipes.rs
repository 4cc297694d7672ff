//! Golden vectors for every persistent id: event ids (each event type, both envelopes), the
//! callback id and the DNC request id. Consumers deduplicate by these ids and the table
//! stores them, so a change of recipe must never slip through. The expected strings were
//! computed independently of this code, in Python, from the recipes as documented
//! (`CallEvent::id`, `LegacyDncCreated::id`, `register::dnc_request_id`, and the message
//! crate's `ids`):
//!
//! ```python
//! hashlib.sha256("\x1f".join(fields).encode()).digest()[:16].hex()
//! ```

mod support;

use call_events::core::domain::{Phone, Timestamp};
use call_events::core::lead::{Decision, Effect, decide};
use call_events::core::register::dnc_request_id;
use call_events::core::wire::{Inbound, parse_body};
use support::{body, parse_call};

const T: &str = "2024-01-28T12:00:00.000Z";
const PHONE: &str = "+1234567890";

fn id_of(event_type: &str, data: &str) -> String {
    parse_call(&body(event_type, "camp", T, PHONE, data))
        .id()
        .to_string()
}

#[test]
fn event_ids_of_every_lead_event_type_are_the_documented_digest() {
    let cases = [
        (
            "lead.call_initiated",
            r#""externalLeadId":"abc123","isScheduled":true"#,
            "evt_fd47ca2dac4daa8d36558234599c9001",
        ),
        (
            "lead.call_received",
            "",
            "evt_e4b68e89154383039bb86a3f4396b58c",
        ),
        (
            "lead.call_scheduled",
            r#""scheduledTime":"2024-01-29T10:00:00Z""#,
            "evt_e103ed4a1f5eabd204549f12d5e79425",
        ),
        (
            "lead.call_ended",
            r#""callType":"inbound","callResult":"dnc""#,
            "evt_252c90ebbe42bc878ae2073a7bf49266",
        ),
        (
            "lead.call_transferred",
            r#""transferredTo":"+1987654321","callType":"outbound","isScheduled":false"#,
            "evt_a919f8f81cf870eb5e9d8addbdc9aaac",
        ),
        (
            "lead.call_key_pressed",
            r#""callType":"inbound","keypressNumber":"9""#,
            "evt_b036557015094b744268774bbc82802f",
        ),
        (
            "dnc.created",
            r#""dncTimestamp":"2024-01-28T11:59:00.000Z""#,
            "evt_17c11652d9f04aadd592a260d16d3ef8",
        ),
    ];
    for (event_type, data, expected) in cases {
        assert_eq!(id_of(event_type, data), expected, "{event_type}");
    }
}

#[test]
fn legacy_dnc_created_event_id_is_the_documented_digest() {
    let raw = r#"{"apiVersion":"2021-08-23","type":"dnc.created","data":{"phoneNumber":"+19995550000","dncTimestamp":"2021-11-16T16:00:47.293338","externalLeadId":"lead-12345"}}"#;
    let Ok(Inbound::LegacyDnc(event)) = parse_body(raw.as_bytes()) else {
        panic!("the sender's documented legacy example must parse")
    };
    assert_eq!(event.id().as_str(), "evt_3d30b122bd929faaa223602a3a9e2f06");
}

#[test]
fn callback_id_is_callback_dash_the_scheduling_events_digest() {
    let event = parse_call(&body(
        "lead.call_scheduled",
        "camp",
        T,
        PHONE,
        r#""scheduledTime":"2024-01-29T10:00:00Z""#,
    ));
    let Decision::Applied(applied) = decide(None, &event, &event.id()) else {
        panic!("new lead")
    };
    let Some(Effect::Callback(callback)) = applied.effects.first() else {
        panic!("a callback")
    };
    assert_eq!(callback.id, "callback-e103ed4a1f5eabd204549f12d5e79425");
    assert_eq!(
        Timestamp::parse("2024-01-29T10:00:00Z").unwrap(),
        callback.scheduled_time
    );
}

#[test]
fn dnc_request_id_is_one_per_phone_the_documented_digest() {
    assert_eq!(
        dnc_request_id(&Phone::parse(PHONE).unwrap()),
        "dnc-05d74a072509af1346ee1b09f13c7752"
    );
}

#[test]
fn the_message_crate_gives_consumers_the_same_ids() {
    // What a consumer computes with `call-events-messages` alone.
    assert_eq!(
        call_events_messages::ids::dnc_request_id(PHONE),
        "dnc-05d74a072509af1346ee1b09f13c7752"
    );
    assert_eq!(
        call_events_messages::ids::callback_id("evt_e103ed4a1f5eabd204549f12d5e79425"),
        "callback-e103ed4a1f5eabd204549f12d5e79425"
    );
}

/// An opt-out recorded through the register's API: its signal id is `api_` and the first
/// 32 hex digits of SHA-256(principal, a zero byte, reference), so a retry is known
/// (vector computed with Python's hashlib).
#[test]
fn an_api_opt_out_s_id_is_the_hash_of_its_principal_and_reference() {
    assert_eq!(
        call_events::usecases::opt_out::signal_id("arn:aws:iam::123456789012:user/desk", "call-1"),
        "api_280d9395c32f468adf72d9fef75191a4"
    );
}
