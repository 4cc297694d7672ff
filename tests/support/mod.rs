//! Builders of sender payloads shared by the integration tests.
#![allow(dead_code)]

pub mod aws;

use call_events::domain::CallEvent;
use call_events::wire::{Inbound, parse_body};

/// A sender body for `event_type` with `data` fields (JSON object members, without braces).
pub fn body(event_type: &str, campaign: &str, time: &str, phone: &str, data: &str) -> String {
    let sep = if data.is_empty() { "" } else { "," };
    format!(
        r#"{{"metadata":{{"apiVersion":"2026-02-09","eventType":"{event_type}","campaignId":"{campaign}","eventTime":"{time}"}},"data":{{"phone":"{phone}"{sep}{data}}}}}"#
    )
}

pub fn parse_call(body: &str) -> CallEvent {
    match parse_body(body.as_bytes()) {
        Ok(Inbound::Call(event)) => event,
        other => panic!("not a valid call event: {body}: {other:?}"),
    }
}
