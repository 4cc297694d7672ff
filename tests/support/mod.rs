//! Builders of sender payloads shared by the integration tests.
#![allow(dead_code)]

pub mod alarms;
pub mod aws;
pub mod fault_proxy;
pub mod memory;
pub mod register;
pub mod template;

use call_events::core::domain::CallEvent;
use call_events::core::wire::{Inbound, parse_body};
use proptest::prelude::*;

/// A sender body for `event_type` with `data` fields (JSON object members, without braces).
pub fn body(event_type: &str, campaign: &str, time: &str, phone: &str, data: &str) -> String {
    let sep = if data.is_empty() { "" } else { "," };
    format!(
        r#"{{"metadata":{{"apiVersion":"2026-02-09","eventType":"{event_type}","campaignId":"{campaign}","eventTime":"{time}"}},"data":{{"phone":"{phone}"{sep}{data}}}}}"#
    )
}

/// Every committed write of the in-memory table so far, as the relay receives them.
pub fn changes(
    store: &call_events::adapters::MemoryLeadStore,
) -> Vec<call_events::core::decided::Change> {
    store
        .stream()
        .into_iter()
        .map(|entry| call_events::core::decided::Change {
            sequence_number: entry.sequence_number,
            decided: call_events::adapters::dynamodb::stream::decode_new_image(entry.new_image),
        })
        .collect()
}

/// An invocation's deadline, 30 s on: the relay function's timeout.
pub fn budget() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(30)
}

/// A sweep's report, once it is certain that it ran to its end.
pub fn finished(
    swept: call_events::usecases::relay::Swept,
) -> call_events::usecases::relay::SweepReport {
    assert_eq!(swept.stopped, None, "the sweep stopped short");
    swept.report
}

pub fn parse_call(body: &str) -> CallEvent {
    match parse_body(body.as_bytes()) {
        Ok(Inbound::Call(event)) => event,
        other => panic!("not a valid call event: {body}: {other:?}"),
    }
}

/// One valid call event of the lead `+1234567890` in campaign `camp`.
pub fn call_event() -> impl Strategy<Value = CallEvent> {
    let minute = 0u32..4;
    let lead_id = prop_oneof![
        Just(""),
        Just(r#""externalLeadId":"A","#),
        Just(r#""externalLeadId":"B","#),
        Just(r#""externalLeadId":null,"#)
    ];
    let data = prop_oneof![
        Just(("lead.call_initiated", r#""isScheduled":true"#.to_owned())),
        Just(("lead.call_received", String::new())),
        (0u32..3).prop_map(|h| (
            "lead.call_scheduled",
            format!(r#""scheduledTime":"2024-01-29T1{h}:00:00Z""#)
        )),
        (
            prop::sample::select(vec!["inbound", "scheduled", "unscheduled"]),
            prop::sample::select(vec!["transfer", "dnc", "reschedule", "no_response"])
        )
            .prop_map(|(t, r)| (
                "lead.call_ended",
                format!(r#""callType":"{t}","callResult":"{r}""#)
            )),
        prop::sample::select(vec!["inbound", "outbound", "unknown"]).prop_map(|t| (
            "lead.call_transferred",
            format!(r#""transferredTo":"+1987654321","callType":"{t}""#)
        )),
        prop::sample::select(vec!["0", "1", "2", "5", "9", "*", "#"]).prop_map(|k| (
            "lead.call_key_pressed",
            format!(r#""callType":"inbound","keypressNumber":"{k}""#)
        )),
        (0u32..3).prop_map(|m| (
            "dnc.created",
            format!(r#""dncTimestamp":"2024-01-28T11:5{m}:00Z""#)
        )),
    ];
    (minute, lead_id, data).prop_map(|(minute, lead_id, (event_type, data))| {
        let time = format!("2024-01-28T12:0{minute}:00.000Z");
        parse_call(&body(
            event_type,
            "camp",
            &time,
            "+1234567890",
            format!("{lead_id}{data}").trim_end_matches(','),
        ))
    })
}
