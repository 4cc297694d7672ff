//! The sender's wire format: `{"metadata": {...}, "data": {...}}`, parsed into a
//! [`CallEvent`] or told apart as an event type this function does not handle; and the
//! legacy (v1) envelope `{"apiVersion", "type", "data"}`, of which only `dnc.created` is
//! handled. Unknown extra fields are ignored: the sender adds fields over time.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::core::domain::{
    CallEvent, CallEventKind, CallResult, CallType, CampaignId, DtmfKey, EventId, EventType,
    ExternalLeadId, LegacyDncCreated, Phone, RuleBroken, Timestamp, TransferCallType,
};
use crate::core::lead::{DncReason, DncSignal, SignalSource};

/// The legacy envelope's event type this function handles.
pub const LEGACY_DNC_CREATED: &str = "dnc.created";

/// What an authentic body turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A lead event: one of the six call events, or a v2 `dnc.created`.
    Call(CallEvent),
    /// A legacy (v1) `dnc.created`.
    LegacyDnc(LegacyDncCreated),
    /// A well-formed envelope of another event type (SMS, `webchat.lead.created`, ...).
    NotHandled { event_type: String },
}

/// Why a body could not be parsed: the field (a JSON path such as `data.phone`, or `body`)
/// and what was wrong with it. Never repeats the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct Rejection {
    pub field: String,
    pub problem: String,
}

impl Rejection {
    fn new(field: &str, problem: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

/// Either envelope: v2 has `metadata`, legacy v1 a top-level `type` instead.
#[derive(Deserialize)]
struct Envelope<'a> {
    metadata: Option<Metadata>,
    #[serde(rename = "type")]
    legacy_type: Option<String>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyDncData {
    phone_number: Option<String>,
    dnc_timestamp: Option<String>,
    external_lead_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    event_type: String,
    campaign_id: Option<String>,
    event_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallData {
    phone: Option<String>,
    external_lead_id: Option<String>,
    is_scheduled: Option<bool>,
    scheduled_time: Option<String>,
    call_type: Option<String>,
    call_result: Option<String>,
    transferred_to: Option<String>,
    keypress_number: Option<String>,
    dnc_timestamp: Option<String>,
}

/// Parses an authentic request body.
pub fn parse_body(body: &[u8]) -> Result<Inbound, Rejection> {
    let envelope: Envelope = from_json(body, "")?;
    let metadata = match (envelope.metadata, envelope.legacy_type) {
        (Some(metadata), _) => metadata,
        (None, Some(legacy_type)) => return parse_legacy(legacy_type, envelope.data),
        (None, None) => {
            return Err(Rejection::new(
                "body",
                "is missing the required field `metadata`",
            ));
        }
    };
    let Some(event_type) = EventType::from_wire(&metadata.event_type) else {
        return Ok(Inbound::NotHandled {
            event_type: metadata.event_type,
        });
    };
    let data = envelope
        .data
        .ok_or_else(|| Rejection::new("data", "is required"))?;
    let data: CallData = from_json(data.get().as_bytes(), "data")?;
    to_call_event(event_type, metadata, data).map(Inbound::Call)
}

/// The DNC signal a body carries, read leniently (docs/contract.md §3): the body is JSON,
/// its event type carries signals, its phone is valid E.164 and the signal itself is there
/// (key `9` on `lead.call_key_pressed`, `callResult: dnc` on `lead.call_ended`, any
/// `dnc.created`, v2 or legacy v1). Every other field may break its rule: an opt-out must
/// never wait for a person to fix a body. The signal's time is `dncTimestamp`, else
/// `eventTime`, else `received_at`; a campaign or external lead id that breaks its rule is
/// left out.
///
/// For a body that parses, this is the signal [`DncSignal::of_event`] reads (same phone,
/// reason and time); only the id differs (see [`EventId::of_unparsed_body`]).
pub fn readable_dnc_signal(body: &[u8], received_at: Timestamp) -> Option<DncSignal> {
    let text = std::str::from_utf8(body).ok()?;
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    let field = |path: &[&str]| -> Option<&str> {
        path.iter()
            .try_fold(&json, |value, key| value.get(key))?
            .as_str()
    };
    let legacy = json.get("metadata").is_none_or(serde_json::Value::is_null);
    let (event_type, phone_field) = match legacy {
        false => (field(&["metadata", "eventType"])?, "phone"),
        true => (field(&["type"])?, "phoneNumber"),
    };
    let reason = match (legacy, event_type) {
        (false, "lead.call_key_pressed") if field(&["data", "keypressNumber"]) == Some("9") => {
            DncReason::Keypress9
        }
        (false, "lead.call_ended") if field(&["data", "callResult"]) == Some("dnc") => {
            DncReason::CallResultDnc
        }
        (_, LEGACY_DNC_CREATED) => DncReason::DncCreated,
        _ => return None,
    };
    let phone = Phone::parse(field(&["data", phone_field])?).ok()?;
    let event_time = field(&["metadata", "eventTime"]).and_then(|t| Timestamp::parse(t).ok());
    let dnc_timestamp = field(&["data", "dncTimestamp"]).and_then(|t| match legacy {
        false => Timestamp::parse(t).ok(),
        true => Timestamp::parse_utc_default(t).ok(),
    });
    let at = match reason {
        DncReason::DncCreated => dnc_timestamp.or(event_time),
        _ => event_time,
    }
    .unwrap_or(received_at);
    let external_lead_id = json
        .get("data")
        .and_then(|data| data.get("externalLeadId"))
        .and_then(serde_json::Value::as_str)
        .and_then(|id| ExternalLeadId::parse_optional(Some(id.to_owned())).ok())
        .flatten();
    Some(DncSignal {
        phone,
        campaign_id: field(&["metadata", "campaignId"]).and_then(|c| CampaignId::parse(c).ok()),
        external_lead_id,
        reason,
        at,
        source: SignalSource {
            event_time: event_time.unwrap_or(at),
            event_id: EventId::of_unparsed_body(text),
        },
    })
}

/// The legacy (v1) envelope: `dnc.created` is parsed, every other type ignored.
fn parse_legacy(legacy_type: String, data: Option<&RawValue>) -> Result<Inbound, Rejection> {
    if legacy_type != LEGACY_DNC_CREATED {
        return Ok(Inbound::NotHandled {
            event_type: legacy_type,
        });
    }
    let data = data.ok_or_else(|| Rejection::new("data", "is required"))?;
    let data: LegacyDncData = from_json(data.get().as_bytes(), "data")?;
    Ok(Inbound::LegacyDnc(LegacyDncCreated {
        phone: required("data.phoneNumber", &data.phone_number, Phone::parse)?,
        external_lead_id: external_lead_id(data.external_lead_id)?,
        dnc_timestamp: required(
            "data.dncTimestamp",
            &data.dnc_timestamp,
            Timestamp::parse_utc_default,
        )?,
    }))
}

fn to_call_event(
    event_type: EventType,
    metadata: Metadata,
    data: CallData,
) -> Result<CallEvent, Rejection> {
    let kind = match event_type {
        EventType::CallInitiated => CallEventKind::Initiated {
            is_scheduled: data.is_scheduled,
        },
        EventType::CallReceived => CallEventKind::Received,
        EventType::CallScheduled => CallEventKind::Scheduled {
            scheduled_time: required("data.scheduledTime", &data.scheduled_time, Timestamp::parse)?,
        },
        EventType::CallEnded => CallEventKind::Ended {
            call_type: required("data.callType", &data.call_type, CallType::parse)?,
            call_result: required("data.callResult", &data.call_result, CallResult::parse)?,
            is_scheduled: data.is_scheduled,
        },
        EventType::CallTransferred => CallEventKind::Transferred {
            transferred_to: required("data.transferredTo", &data.transferred_to, Phone::parse)?,
            call_type: required("data.callType", &data.call_type, TransferCallType::parse)?,
            is_scheduled: data.is_scheduled,
        },
        EventType::CallKeyPressed => CallEventKind::KeyPressed {
            call_type: required("data.callType", &data.call_type, CallType::parse)?,
            key: required("data.keypressNumber", &data.keypress_number, DtmfKey::parse)?,
            is_scheduled: data.is_scheduled,
        },
        EventType::DncCreated => CallEventKind::DncCreated {
            dnc_timestamp: required("data.dncTimestamp", &data.dnc_timestamp, Timestamp::parse)?,
        },
    };
    Ok(CallEvent {
        campaign_id: required(
            "metadata.campaignId",
            &metadata.campaign_id,
            CampaignId::parse,
        )?,
        phone: required("data.phone", &data.phone, Phone::parse)?,
        external_lead_id: external_lead_id(data.external_lead_id)?,
        event_time: required("metadata.eventTime", &metadata.event_time, Timestamp::parse)?,
        kind,
    })
}

fn external_lead_id(raw: Option<String>) -> Result<Option<ExternalLeadId>, Rejection> {
    ExternalLeadId::parse_optional(raw)
        .map_err(|broken| Rejection::new("data.externalLeadId", broken.to_string()))
}

fn required<T>(
    field: &str,
    raw: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, RuleBroken>,
) -> Result<T, Rejection> {
    let raw = raw
        .as_deref()
        .ok_or_else(|| Rejection::new(field, "is required"))?;
    parse(raw).map_err(|broken| Rejection::new(field, broken.to_string()))
}

/// Deserializes JSON, naming the field on failure. serde_json's own messages can quote
/// the offending value, so only the part that says what was expected is kept.
fn from_json<'de, T: Deserialize<'de>>(json: &'de [u8], prefix: &str) -> Result<T, Rejection> {
    let de = &mut serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(de).map_err(|err| {
        if !err.inner().is_data() {
            return Rejection::new("body", "is not valid JSON");
        }
        let path = err.path().to_string();
        let field = match (prefix, path.as_str()) {
            ("", "." | "?") => "body".to_owned(),
            (prefix, "." | "?") => prefix.to_owned(),
            ("", path) => path.to_owned(),
            (prefix, path) => format!("{prefix}.{path}"),
        };
        let inner = err.into_inner();
        let message = inner.to_string();
        let problem = if let Some(missing) = message.strip_prefix("missing field ") {
            let name = missing.split(" at line").next().unwrap_or(missing);
            format!("is missing the required field {name}")
        } else if let Some((_, expected)) = message.split_once(", expected ") {
            let expected = expected.split(" at line").next().unwrap_or(expected);
            format!("has the wrong type: expected {expected}")
        } else {
            "has an invalid value".to_owned()
        };
        Rejection { field, problem }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(body: &str) -> CallEvent {
        match parse_body(body.as_bytes()) {
            Ok(Inbound::Call(event)) => event,
            other => panic!("expected a call event, got {other:?}"),
        }
    }

    fn rejected(body: &str) -> Rejection {
        match parse_body(body.as_bytes()) {
            Err(rejection) => rejection,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    fn envelope(event_type: &str, data: &str) -> String {
        format!(
            r#"{{"metadata":{{"apiVersion":"2026-02-09","eventType":"{event_type}","campaignId":"abc456xyz","eventTime":"2024-01-28T12:00:00.000Z"}},"data":{data}}}"#
        )
    }

    #[test]
    fn every_example_payload_of_the_senders_documentation_parses() {
        let examples = [
            (
                EventType::CallInitiated,
                r#"{"phone":"+1234567890","externalLeadId":"abc123","isScheduled":true}"#,
            ),
            (
                EventType::CallReceived,
                r#"{"phone":"+1234567890","externalLeadId":"abc123"}"#,
            ),
            (
                EventType::CallScheduled,
                r#"{"phone":"+1234567890","externalLeadId":"abc123","scheduledTime":"2024-01-28T14:00:00.000Z"}"#,
            ),
            (
                EventType::CallEnded,
                r#"{"phone":"+1234567890","externalLeadId":"abc123","callType":"inbound","callResult":"transfer","isScheduled":false}"#,
            ),
            (
                EventType::CallTransferred,
                r#"{"phone":"+1234567890","externalLeadId":"abc123","transferredTo":"+1987654321","callType":"inbound","isScheduled":false}"#,
            ),
            (
                EventType::CallKeyPressed,
                r#"{"phone":"+1234567890","externalLeadId":"abc123","callType":"scheduled","isScheduled":true,"keypressNumber":"1"}"#,
            ),
        ];
        for (event_type, data) in examples {
            let event = call(&envelope(event_type.as_str(), data));
            assert_eq!(event.event_type(), event_type);
            assert_eq!(event.phone.as_str(), "+1234567890");
            assert_eq!(event.campaign_id.as_str(), "abc456xyz");
            assert_eq!(
                event.external_lead_id.as_ref().map(|id| id.as_str()),
                Some("abc123")
            );
        }
    }

    #[test]
    fn a_dnc_signal_is_read_from_a_body_that_breaks_another_rule() {
        let received = Timestamp::parse("2024-02-01T00:00:00Z").unwrap();
        let body = envelope(
            "lead.call_key_pressed",
            r#"{"phone":"+1234567890","callType":"robocall","keypressNumber":"9","isScheduled":"no"}"#,
        );
        assert!(parse_body(body.as_bytes()).is_err());
        let signal = readable_dnc_signal(body.as_bytes(), received).unwrap();
        assert_eq!(signal.reason, DncReason::Keypress9);
        assert_eq!(signal.phone.as_str(), "+1234567890");
        assert_eq!(signal.at, Timestamp::parse("2024-01-28T12:00:00Z").unwrap());
        assert_eq!(signal.campaign_id.unwrap().as_str(), "abc456xyz");
        // The same body again: the same signal id.
        let again = readable_dnc_signal(body.as_bytes(), received).unwrap();
        assert_eq!(again.source.event_id, signal.source.event_id);
    }

    #[test]
    fn a_lenient_signals_time_is_dnc_timestamp_else_event_time_else_the_time_received() {
        let received = Timestamp::parse("2024-02-01T00:00:00Z").unwrap();
        let at = |body: &str| readable_dnc_signal(body.as_bytes(), received).map(|s| s.at);
        let created = r#"{"metadata":{"eventType":"dnc.created","campaignId":"c","eventTime":"2024-01-28T12:00:00Z"},"data":{"phone":"+1234567890","dncTimestamp":"2024-01-27T00:00:00Z","extra":"x"}}"#;
        assert_eq!(at(created), Timestamp::parse("2024-01-27T00:00:00Z").ok());
        let no_stamp = created.replace(r#""dncTimestamp":"2024-01-27T00:00:00Z","#, "");
        assert_eq!(at(&no_stamp), Timestamp::parse("2024-01-28T12:00:00Z").ok());
        let no_time = r#"{"metadata":{"eventType":"dnc.created"},"data":{"phone":"+1234567890"}}"#;
        assert_eq!(at(no_time), Some(received));
        let legacy = r#"{"type":"dnc.created","data":{"phoneNumber":"+1234567890","dncTimestamp":"2021-11-16T16:00:47.293338"}}"#;
        assert_eq!(
            at(legacy),
            Timestamp::parse("2021-11-16T16:00:47.293338Z").ok()
        );
    }

    #[test]
    fn no_signal_is_read_without_its_event_type_phone_or_signal() {
        let now = Timestamp::now();
        for body in [
            "{not json",
            r#"{"metadata":{"eventType":"lead.call_key_pressed"},"data":{"phone":"+1234567890","keypressNumber":"1"}}"#,
            r#"{"metadata":{"eventType":"lead.call_key_pressed"},"data":{"phone":"1234567890","keypressNumber":"9"}}"#,
            r#"{"metadata":{"eventType":"lead.call_ended"},"data":{"phone":"+1234567890","callResult":"transfer"}}"#,
            r#"{"metadata":{"eventType":"lead.call_received"},"data":{"phone":"+1234567890","keypressNumber":"9"}}"#,
            r#"{"metadata":{},"data":{"phone":"+1234567890","keypressNumber":"9"}}"#,
            r#"{"type":"webchat.lead.created","data":{"phoneNumber":"+1234567890"}}"#,
        ] {
            assert_eq!(readable_dnc_signal(body.as_bytes(), now), None, "{body}");
        }
    }

    #[test]
    fn unknown_event_type_is_not_handled_rather_than_broken() {
        let body =
            r#"{"metadata":{"eventType":"sms.received","campaignId":"c"},"data":{"text":"hi"}}"#;
        assert_eq!(
            parse_body(body.as_bytes()),
            Ok(Inbound::NotHandled {
                event_type: "sms.received".into()
            })
        );
    }

    #[test]
    fn unknown_extra_fields_are_ignored() {
        let body = r#"{"metadata":{"eventType":"lead.call_received","campaignId":"c","eventTime":"2024-01-28T12:00:00Z","new":1},"data":{"phone":"+1234567890","future":{"x":[1,2]}},"extra":true}"#;
        assert_eq!(call(body).event_type(), EventType::CallReceived);
    }

    #[test]
    fn external_lead_id_may_be_absent_or_null() {
        let absent = call(&envelope(
            "lead.call_received",
            r#"{"phone":"+1234567890"}"#,
        ));
        let null = call(&envelope(
            "lead.call_received",
            r#"{"phone":"+1234567890","externalLeadId":null}"#,
        ));
        assert_eq!(absent.external_lead_id, None);
        assert_eq!(null.external_lead_id, None);
    }

    #[test]
    fn body_that_is_not_json_is_rejected_as_such() {
        let r = rejected("{not json");
        assert_eq!(
            (r.field.as_str(), r.problem.as_str()),
            ("body", "is not valid JSON")
        );
        assert_eq!(rejected("").field, "body");
    }

    #[test]
    fn rejection_names_the_field_and_the_rule() {
        let cases = [
            (r#"{"phone":"12345"}"#, "lead.call_received", "data.phone"),
            (r#"{}"#, "lead.call_received", "data.phone"),
            (r#"{"phone":5}"#, "lead.call_received", "data.phone"),
            (
                r#"{"phone":"+1234567890","scheduledTime":"tomorrow"}"#,
                "lead.call_scheduled",
                "data.scheduledTime",
            ),
            (
                r#"{"phone":"+1234567890","callType":"outbound","callResult":"dnc"}"#,
                "lead.call_ended",
                "data.callType",
            ),
            (
                r#"{"phone":"+1234567890","callType":"inbound","callResult":"hangup"}"#,
                "lead.call_ended",
                "data.callResult",
            ),
            (
                r#"{"phone":"+1234567890","callType":"scheduled","transferredTo":"+1987654321"}"#,
                "lead.call_transferred",
                "data.callType",
            ),
            (
                r#"{"phone":"+1234567890","callType":"inbound","transferredTo":"agent"}"#,
                "lead.call_transferred",
                "data.transferredTo",
            ),
            (
                r#"{"phone":"+1234567890","callType":"inbound","keypressNumber":"12"}"#,
                "lead.call_key_pressed",
                "data.keypressNumber",
            ),
            (
                r#"{"phone":"+1234567890","callType":"inbound","keypressNumber":1}"#,
                "lead.call_key_pressed",
                "data.keypressNumber",
            ),
            (
                r#"{"phone":"+1234567890","isScheduled":"yes"}"#,
                "lead.call_initiated",
                "data.isScheduled",
            ),
        ];
        for (data, event_type, field) in cases {
            let r = rejected(&envelope(event_type, data));
            assert_eq!(r.field, field, "{data}: {r}");
        }
    }

    #[test]
    fn metadata_rules_are_enforced() {
        let no_campaign = r#"{"metadata":{"eventType":"lead.call_received","eventTime":"2024-01-28T12:00:00Z"},"data":{"phone":"+1234567890"}}"#;
        assert_eq!(rejected(no_campaign).field, "metadata.campaignId");
        let empty_campaign = r#"{"metadata":{"eventType":"lead.call_received","campaignId":"","eventTime":"2024-01-28T12:00:00Z"},"data":{"phone":"+1234567890"}}"#;
        assert_eq!(rejected(empty_campaign).field, "metadata.campaignId");
        let bad_time = r#"{"metadata":{"eventType":"lead.call_received","campaignId":"c","eventTime":"28/01/2024"},"data":{"phone":"+1234567890"}}"#;
        assert_eq!(rejected(bad_time).field, "metadata.eventTime");
        let no_type = r#"{"metadata":{"campaignId":"c"},"data":{}}"#;
        assert_eq!(rejected(no_type).field, "metadata");
        let no_data = r#"{"metadata":{"eventType":"lead.call_received","campaignId":"c","eventTime":"2024-01-28T12:00:00Z"}}"#;
        assert_eq!(rejected(no_data).field, "data");
    }

    #[test]
    fn rejection_never_repeats_the_offending_value() {
        let r = rejected(&envelope("lead.call_received", r#"{"phone":15551234567}"#));
        assert!(!r.to_string().contains("15551234567"), "{r}");
        let r = rejected(&envelope(
            "lead.call_received",
            r#"{"phone":"+0555123456"}"#,
        ));
        assert!(!r.to_string().contains("0555123456"), "{r}");
    }

    #[test]
    fn dnc_created_v2_parses_into_a_lead_event_with_its_dnc_timestamp() {
        let event = call(&envelope(
            "dnc.created",
            r#"{"externalLeadId":"abc123","phone":"+1234567890","dncTimestamp":"2024-01-28T12:00:00.000Z"}"#,
        ));
        assert_eq!(event.event_type(), EventType::DncCreated);
        assert_eq!(event.campaign_id.as_str(), "abc456xyz");
        assert!(matches!(event.kind, CallEventKind::DncCreated { .. }));
    }

    #[test]
    fn dnc_created_v2_rejections_name_the_field() {
        let missing = rejected(&envelope("dnc.created", r#"{"phone":"+1234567890"}"#));
        assert_eq!(missing.field, "data.dncTimestamp");
        let naive = rejected(&envelope(
            "dnc.created",
            r#"{"phone":"+1234567890","dncTimestamp":"2024-01-28T12:00:00"}"#,
        ));
        assert_eq!(
            naive.field, "data.dncTimestamp",
            "v2 timestamps carry an offset"
        );
        let phone = rejected(&envelope(
            "dnc.created",
            r#"{"phone":"1234567890","dncTimestamp":"2024-01-28T12:00:00Z"}"#,
        ));
        assert_eq!(phone.field, "data.phone");
    }

    fn legacy(event_type: &str, data: &str) -> String {
        format!(r#"{{"apiVersion":"2021-08-23","type":"{event_type}","data":{data}}}"#)
    }

    #[test]
    fn the_senders_legacy_dnc_created_example_parses_with_its_timestamp_read_as_utc() {
        let body = legacy(
            "dnc.created",
            r#"{"phoneNumber":"+19995550000","dncTimestamp":"2021-11-16T16:00:47.293338","externalLeadId":"lead-12345"}"#,
        );
        let Ok(Inbound::LegacyDnc(event)) = parse_body(body.as_bytes()) else {
            panic!("expected a legacy dnc.created")
        };
        assert_eq!(event.phone.as_str(), "+19995550000");
        assert_eq!(
            event.dnc_timestamp.to_rfc3339_exact(),
            "2021-11-16T16:00:47.293338000Z"
        );
        assert_eq!(
            event.external_lead_id.as_ref().map(|e| e.as_str()),
            Some("lead-12345")
        );
    }

    #[test]
    fn legacy_dnc_created_rejections_name_the_field() {
        let phone = rejected(&legacy(
            "dnc.created",
            r#"{"dncTimestamp":"2021-11-16T16:00:47"}"#,
        ));
        assert_eq!(phone.field, "data.phoneNumber");
        let time = rejected(&legacy(
            "dnc.created",
            r#"{"phoneNumber":"+19995550000","dncTimestamp":"yesterday"}"#,
        ));
        assert_eq!(time.field, "data.dncTimestamp");
        assert!(!time.to_string().contains("yesterday"));
        let data = rejected(r#"{"apiVersion":"2021-08-23","type":"dnc.created"}"#);
        assert_eq!(data.field, "data");
    }

    #[test]
    fn other_legacy_types_are_not_handled_and_a_body_with_neither_envelope_is_rejected() {
        assert_eq!(
            parse_body(legacy("webchat.lead.created", "{}").as_bytes()),
            Ok(Inbound::NotHandled {
                event_type: "webchat.lead.created".into()
            })
        );
        assert_eq!(rejected(r#"{"data":{}}"#).field, "body");
    }
}
