//! Every message this function produces validates against its JSON Schema in `schemas/`,
//! and reads back whole as its type in `call-events-messages`.

mod support;

use call_events::core::domain::Timestamp;
use call_events::core::lead::{Decision, DncSignal, Effect, decide};
use call_events::core::messages::{QuarantineRecord, QueueMessage};
use call_events::core::register::{DncSignalRecord, Evidence, Registered, dnc_request, register};
use call_events::core::wire::{Inbound, parse_body};
use call_events_messages::Message;
use serde_json::Value;

fn validator(file: &str) -> jsonschema::Validator {
    let path = format!("{}/schemas/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn assert_valid(file: &str, json: &str) {
    let instance: Value = serde_json::from_str(json).unwrap();
    let errors: Vec<String> = validator(file)
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{file}: {json}: {errors:?}");
}

/// A consumer reading the body with `call-events-messages` gets the message whole: writing
/// it back gives the very bytes that were sent.
fn assert_reads_back(body: &str) {
    let again = match Message::from_json(body) {
        Ok(Message::Callback(m)) => call_events_messages::to_json(&m),
        Ok(Message::Dnc(m)) => call_events_messages::to_json(&m),
        Err(e) => panic!("{body}: {e}"),
    };
    assert_eq!(again, body);
}

fn evidence(body: &str) -> Evidence {
    Evidence {
        received_at: "2024-01-28T12:00:01.000Z".into(),
        signature_header: "t=1706443201000,v2=00".into(),
        body: body.into(),
        body_base64: None,
    }
}

/// The messages the function produces for these bodies: callbacks as the webhook decides
/// them, the DNC request as the relay builds it from the register.
fn messages_for(bodies: &[&str]) -> Vec<QueueMessage> {
    let mut state = None;
    let mut messages = Vec::new();
    let mut signals = Vec::new();
    for body in bodies {
        match parse_body(body.as_bytes()) {
            Ok(Inbound::Call(event)) => {
                if let Decision::Applied(applied) = decide(state.as_ref(), &event, &event.id()) {
                    for effect in &applied.effects {
                        match effect {
                            Effect::Callback(c) => messages.push(QueueMessage::from(c)),
                            Effect::Dnc(s) => signals.push(DncSignalRecord::new(s, evidence(body))),
                        }
                    }
                    state = Some(applied.state);
                }
            }
            Ok(Inbound::LegacyDnc(event)) => {
                signals.push(DncSignalRecord::new(
                    &DncSignal::legacy(&event),
                    evidence(body),
                ));
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    let mut entry = None;
    for signal in &signals {
        let (Registered::Known(next) | Registered::Changed(next)) =
            register(entry.as_ref(), signal, Timestamp::now());
        entry = Some(next);
    }
    if let (Some(entry), Some(signal)) = (entry, signals.first()) {
        messages.push(dnc_request(signal.phone(), &entry));
    }
    messages
}

#[test]
fn callback_message_matches_its_schema() {
    for lead_id in [
        r#""externalLeadId":"abc123","#,
        r#""externalLeadId":null,"#,
        "",
    ] {
        let scheduled = support::body(
            "lead.call_scheduled",
            "abc456xyz",
            "2024-01-28T12:00:00.000Z",
            "+1234567890",
            &format!(r#"{lead_id}"scheduledTime":"2024-01-28T14:00:00.000Z""#),
        );
        let messages = messages_for(&[&scheduled]);
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].message_type, "callback.scheduled");
        assert_valid("callback.scheduled.schema.json", &messages[0].body);
        assert_reads_back(&messages[0].body);
    }
}

#[test]
fn dnc_message_matches_its_schema_for_every_signal() {
    let key9 = support::body(
        "lead.call_key_pressed",
        "abc456xyz",
        "2024-01-28T12:00:00.000Z",
        "+1234567890",
        r#""externalLeadId":"abc123","callType":"scheduled","keypressNumber":"9""#,
    );
    let ended = support::body(
        "lead.call_ended",
        "abc456xyz",
        "2024-01-28T12:00:00.000Z",
        "+1234567891",
        r#""callType":"inbound","callResult":"dnc""#,
    );
    let created = r#"{"metadata":{"apiVersion":"2026-02-09","eventType":"dnc.created","campaignId":"abc456xyz","eventTime":"2024-01-28T12:00:00.000Z"},"data":{"externalLeadId":"abc123","phone":"+1234567890","dncTimestamp":"2024-01-28T12:00:00.000Z"}}"#.to_owned();
    let legacy = r#"{"apiVersion":"2021-08-23","type":"dnc.created","data":{"phoneNumber":"+19995550000","dncTimestamp":"2021-11-16T16:00:47.293338","externalLeadId":"lead-12345"}}"#.to_owned();
    for body in [key9, ended, created, legacy] {
        let messages = messages_for(&[&body]);
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].message_type, "dnc.requested");
        assert_valid("dnc.requested.schema.json", &messages[0].body);
        assert_reads_back(&messages[0].body);
    }
}

#[test]
fn quarantine_record_matches_its_schema() {
    let record = QuarantineRecord::new(
        Timestamp::parse("2024-01-28T12:00:00Z")
            .unwrap()
            .to_rfc3339(),
        "data.phone: must be an E.164 number",
        b"{\"not\": \"valid\"",
    );
    assert_valid(
        "quarantine.schema.json",
        &call_events_messages::to_json(&record),
    );
}

#[test]
fn schemas_reject_a_message_that_breaks_them() {
    // Guards the test above: a schema that accepted anything would make it pass.
    let bad = r#"{"schemaVersion":1,"type":"dnc.requested","id":"dnc-x","campaignId":"c","phone":"123","externalLeadId":null,"reason":"other","requestedAt":"now","source":{}}"#;
    let instance: Value = serde_json::from_str(bad).unwrap();
    assert!(!validator("dnc.requested.schema.json").is_valid(&instance));
}

mod any_characters {
    //! Whatever characters the sender's strings hold (docs/contract.md §5): every message
    //! is one SQS takes, and its body holds each exact value.
    use super::*;
    use call_events::core::messages::quarantine_on_the_wire;
    use proptest::prelude::*;

    /// Any text, with a good share of the characters SQS refuses.
    fn text() -> impl Strategy<Value = String> {
        let refused = prop_oneof![
            (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('\u{0}')),
            Just('\u{fffe}'),
            Just('\u{ffff}'),
        ];
        let one = prop_oneof![any::<char>(), refused];
        proptest::collection::vec(one, 1..24).prop_map(|chars| chars.into_iter().collect())
    }

    fn json(text: &str) -> String {
        serde_json::to_string(text).unwrap()
    }

    proptest! {
        #[test]
        fn every_message_is_one_sqs_takes_and_its_body_holds_the_exact_values(
            campaign in text(),
            lead in text(),
            raw in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            // The sender's campaign id may not start with '#' (a field rule).
            let campaign = format!("c{campaign}");
            let data = |rest: &str| format!(r#""externalLeadId":{},{rest}"#, json(&lead));
            let bodies = [
                format!(
                    r#"{{"metadata":{{"apiVersion":"2026-02-09","eventType":"lead.call_scheduled","campaignId":{},"eventTime":"2024-01-28T12:00:00Z"}},"data":{{"phone":"+1234567890",{}}}}}"#,
                    json(&campaign),
                    data(r#""scheduledTime":"2024-01-28T14:00:00Z""#)
                ),
                format!(
                    r#"{{"metadata":{{"apiVersion":"2026-02-09","eventType":"lead.call_key_pressed","campaignId":{},"eventTime":"2024-01-28T12:01:00Z"}},"data":{{"phone":"+1234567890",{}}}}}"#,
                    json(&campaign),
                    data(r#""callType":"inbound","keypressNumber":"9""#)
                ),
            ];
            let bodies: Vec<&str> = bodies.iter().map(String::as_str).collect();
            // The key 9 comes after the callback: both are sent.
            let messages = messages_for(&bodies[..1])
                .into_iter()
                .chain(messages_for(&bodies[1..]))
                .collect::<Vec<_>>();
            prop_assert_eq!(messages.len(), 2);
            for message in &messages {
                let wire = message.on_the_wire();
                prop_assert!(wire.sqs_takes(), "{:?}", wire);
                let sent: Value = serde_json::from_str(&wire.body).unwrap();
                prop_assert_eq!(sent["campaignId"].as_str(), Some(campaign.as_str()));
                prop_assert_eq!(sent["externalLeadId"].as_str(), Some(lead.as_str()));
            }
            let dnc: Value = serde_json::from_str(&messages[1].on_the_wire().body).unwrap();
            prop_assert_eq!(dnc["evidence"]["body"].as_str(), Some(bodies[1]));

            let record = QuarantineRecord::new("2024-01-28T12:00:00.000Z", campaign.clone(), &raw);
            let wire = quarantine_on_the_wire(&record);
            prop_assert!(wire.sqs_takes());
            let sent: call_events_messages::QuarantineRecord =
                serde_json::from_str(&wire.body).unwrap();
            let bytes = sent.bytes().unwrap().into_owned();
            prop_assert_eq!(bytes, raw);
            prop_assert_eq!(sent.reason, campaign);
        }
    }
}
