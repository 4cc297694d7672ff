//! Every released item format is still read (docs/contract.md §4): a fixture of each, in
//! `tests/fixtures/`, decodes to the lead it describes, and a known event is a duplicate.

mod support;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use call_events::adapters::dynamodb::item::{FORMAT_VERSION, lead_key, lead_update, stored_lead};
use call_events::core::decided::Decided;
use call_events::core::domain::Timestamp;
use call_events::core::lead::{Decision, LeadState, Status, decide};
use call_events::ports::{HeldForRelay, LeadWrite};
use proptest::prelude::*;
use support::{body, call_event, parse_call};

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

/// A lead's item after the write of `state` at `version` (the whole state, or what changed
/// since `previous`), applied onto `item` as DynamoDB applies an UpdateItem.
fn written(
    item: Option<HashMap<String, AttributeValue>>,
    state: &LeadState,
    previous: Option<&LeadState>,
    version: u64,
) -> (HashMap<String, AttributeValue>, usize) {
    let held = HeldForRelay::default();
    let nothing = Decided::default();
    let write = LeadWrite {
        state,
        decided: &nothing,
        drops_body: None,
        held: &held,
        since: Timestamp::from_unix_parts(1_706_443_800, 0).unwrap(),
        expected_version: version.checked_sub(1).filter(|v| *v > 0),
        previous,
    };
    let at = Timestamp::from_unix_parts(1_706_443_800, 0).unwrap();
    let update = lead_update(&write, version, at, "0123456789abcdef").unwrap();
    let set = update.set.len();
    let key = lead_key(&state.campaign_id, &state.phone);
    (update.apply(item, key).unwrap(), set)
}

proptest! {
    /// A warm write sets only what changed since the state the item holds, and leaves the
    /// item exactly as the write of the whole state would: whatever the events and order.
    #[test]
    fn a_write_of_what_changed_leaves_the_item_the_whole_write_leaves(
        events in prop::collection::vec(call_event(), 1..12)
    ) {
        let mut state: Option<LeadState> = None;
        let mut item = None;
        let mut version = 0;
        for event in &events {
            let Decision::Applied(applied) = decide(state.as_ref(), event, &event.id()) else {
                continue;
            };
            version += 1;
            let (whole, _) = written(item.clone(), &applied.state, None, version);
            let (changed, _) = written(item.clone(), &applied.state, state.as_ref(), version);
            prop_assert_eq!(&changed, &whole);
            let lead = stored_lead(changed.clone()).unwrap();
            prop_assert!(lead.current_format);
            prop_assert_eq!(&lead.state, &applied.state);
            item = Some(changed);
            state = Some(applied.state);
        }
    }
}

#[test]
fn a_known_lead_s_next_event_sets_a_few_attributes_and_an_earlier_format_is_rewritten_whole() {
    let lead = stored_lead(fixture("lead-item-format-2.json")).unwrap();
    assert!(
        !lead.current_format,
        "a format-2 item of an earlier release holds its outbox"
    );
    assert!(
        !stored_lead(fixture("lead-item-format-1.json"))
            .unwrap()
            .current_format
    );
    let (item, whole) = written(None, &lead.state, None, 1);
    let next = parse_call(&body(
        "lead.call_received",
        "spring-campaign",
        "2024-01-28T12:09:00.000Z",
        "+12025550103",
        r#""externalLeadId":"crm-1003","callType":"inbound""#,
    ));
    let Decision::Applied(applied) = decide(Some(&lead.state), &next, &next.id()) else {
        panic!("a new event")
    };
    let (_, changed) = written(Some(item), &applied.state, Some(&lead.state), 2);
    // lastEventType, lastEventTime, updatedAt, callsReceived, recentEvents, eventOrder,
    // version, writeId, lastCallType.
    assert!(changed <= 9, "{changed} attributes set, of {whole}");
    assert!(whole >= 20, "{whole}");
}
