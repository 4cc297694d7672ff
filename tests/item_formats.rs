//! Every released item format is still read (docs/contract.md §4): a fixture of each, in
//! `tests/fixtures/`, decodes to the lead it describes, and a known event is a duplicate.

mod support;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use call_events::adapters::dynamodb::item::{FORMAT_VERSION, stored_lead};
use call_events::core::lead::{Decision, Status, decide};
use support::{body, parse_call};

fn fixture(name: &str) -> HashMap<String, AttributeValue> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let item: serde_dynamo::Item = serde_json::from_str(&text).unwrap();
    item.into()
}

fn key_9() -> call_events::core::domain::CallEvent {
    parse_call(&body(
        "lead.call_key_pressed",
        "spring-campaign",
        "2024-01-28T12:02:00.000Z",
        "+12025550103",
        r#""externalLeadId":"crm-1003","callType":"inbound","keypressNumber":"9""#,
    ))
}

#[test]
fn every_released_format_reads_as_the_same_lead() {
    for (name, version) in [
        ("lead-item-format-1.json", 3),
        ("lead-item-format-2.json", 3),
    ] {
        let lead = stored_lead(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let state = &lead.state;
        assert_eq!(lead.version, version, "{name}");
        assert_eq!(state.status(), Some(Status::Dnc), "{name}");
        assert_eq!(state.counters.calls_initiated, 1, "{name}");
        assert_eq!(state.counters.keypresses, 1, "{name}");
        assert_eq!(state.recent.len(), 3, "{name}");
        assert_eq!(
            state.external_lead_id.as_ref().map(|e| e.value.as_str()),
            Some("crm-1003"),
            "{name}"
        );
        assert_eq!(
            decide(Some(state), &key_9(), &key_9().id()),
            Decision::Duplicate,
            "{name}: a known event"
        );
    }
}

#[test]
fn the_first_format_s_unsent_messages_are_carried_and_the_current_one_has_none() {
    let first = stored_lead(fixture("lead-item-format-1.json")).unwrap();
    assert_eq!(first.relay.legacy.messages.len(), 1);
    assert_eq!(first.relay.legacy.messages[0].message_type, "dnc.requested");
    let second = stored_lead(fixture("lead-item-format-2.json")).unwrap();
    assert!(
        second.relay.legacy.is_empty(),
        "format 2 outboxes were sent by the relay"
    );
}

#[test]
fn the_current_format_is_2_and_every_item_written_says_so() {
    assert_eq!(FORMAT_VERSION, 2);
    let item = fixture("lead-item-format-2.json");
    assert_eq!(item["formatVersion"].as_n().map(String::as_str), Ok("2"));
    let lead = stored_lead(item).unwrap();
    let rewritten = call_events::adapters::dynamodb::item::lead_item(
        &lead.state,
        &Default::default(),
        lead.version,
        call_events::core::domain::Timestamp::now(),
    )
    .unwrap();
    assert_eq!(
        rewritten["formatVersion"].as_n().map(String::as_str),
        Ok("2")
    );
    assert!(
        !rewritten.contains_key("eventIds"),
        "format 1's list is not written"
    );
}
