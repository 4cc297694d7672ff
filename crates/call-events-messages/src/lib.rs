//! The messages the call-events receiver puts on its queues, for the receiver that builds
//! them and the services that consume them (CONTRACT §5):
//!
//! - [`CallbackScheduled`] on the callback queue: a lead asked to be called back;
//! - [`DncRequested`] on the DNC queue: a phone number must not be called again, with the
//!   signed request that said so ([`Evidence`]);
//! - [`QuarantineRecord`] on the quarantine queue: an authentic body that could not be
//!   recorded, kept for replay.
//!
//! Parse a queue message with [`Message::from_json`]. Every message has a stable `id`, the
//! same on every redelivery: deduplicate by it ([`ids`] documents how ids are made).
//!
//! The JSON Schemas in the project's `schemas/` folder are generated from these types
//! ([`schemas`]); a test fails when the checked-in files differ. Readers ignore fields they
//! do not know, so a field may be added within `schemaVersion` 1; anything else is a new
//! version, which [`SchemaVersion`] refuses to read.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub mod ids;
mod schema;

pub use schema::{SCHEMA_FILES, schemas};

/// The `type` of a [`CallbackScheduled`].
pub const CALLBACK_TYPE: &str = "callback.scheduled";
/// The `type` of a [`DncRequested`].
pub const DNC_TYPE: &str = "dnc.requested";

/// E.164: `+`, a non-zero digit, then up to 14 digits.
pub const PHONE_PATTERN: &str = r"^\+[1-9][0-9]{1,14}$";
/// An event id: `evt_` and 32 lower-case hex digits.
pub const EVENT_ID_PATTERN: &str = r"^evt_[0-9a-f]{32}$";

/// The version of the message bodies: 1. A reader of this crate refuses any other, so a
/// consumer fails loudly (and its queue's redrive policy keeps the message) rather than
/// misread a body it does not know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SchemaVersion;

impl SchemaVersion {
    pub const NUMBER: u8 = 1;
}

impl Serialize for SchemaVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(Self::NUMBER)
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u64::deserialize(deserializer)? {
            1 => Ok(Self),
            other => Err(D::Error::custom(format!(
                "schemaVersion {other}: this reader knows version {}",
                Self::NUMBER
            ))),
        }
    }
}

impl JsonSchema for SchemaVersion {
    fn schema_name() -> Cow<'static, str> {
        "SchemaVersion".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "const": 1 })
    }
}

/// The type of a callback.scheduled message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum CallbackType {
    #[default]
    #[serde(rename = "callback.scheduled")]
    CallbackScheduled,
}

/// The type of a dnc.requested message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DncType {
    #[default]
    #[serde(rename = "dnc.requested")]
    DncRequested,
}

/// The event type of a callback's source: always `lead.call_scheduled`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum CallbackEventType {
    #[default]
    #[serde(rename = "lead.call_scheduled")]
    CallScheduled,
}

/// The sender's event a callback comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallbackSource {
    pub event_type: CallbackEventType,
    #[schemars(extend("format" = "date-time"))]
    pub event_time: String,
    #[schemars(pattern(EVENT_ID_PATTERN))]
    pub event_id: String,
}

/// A lead asked to be called back. One message per distinct lead.call_scheduled event;
/// not sent for a phone that is DNC in any campaign when it would be sent. A consumer
/// still asks the DNC register before it dials: a DNC may arrive after the message left.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(
    title = "callback.scheduled",
    extend("$id" = "callback.scheduled.schema.json")
)]
pub struct CallbackScheduled {
    pub schema_version: SchemaVersion,
    #[serde(rename = "type")]
    pub message_type: CallbackType,
    /// Idempotency key: the same for every retry of this message (`callback-` + the hex of
    /// the source event's id).
    #[schemars(pattern(ids::CALLBACK_ID_PATTERN))]
    pub id: String,
    #[schemars(length(min = 1))]
    pub campaign_id: String,
    #[schemars(pattern(PHONE_PATTERN))]
    pub phone: String,
    #[schemars(required, length(min = 1), extend("type" = ["string", "null"]))]
    pub external_lead_id: Option<String>,
    /// When the lead asked to be called (RFC 3339, UTC).
    #[schemars(extend("format" = "date-time"))]
    pub scheduled_time: String,
    pub source: CallbackSource,
}

/// Why a number went on the DNC list.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum DncReason {
    /// The lead pressed 9.
    #[serde(rename = "keypress_9")]
    Keypress9,
    /// A call ended with `callResult: dnc`.
    #[serde(rename = "call_result_dnc")]
    CallResultDnc,
    /// The platform's own `dnc.created` (v2, or legacy v1).
    #[serde(rename = "dnc_created")]
    DncCreated,
}

impl DncReason {
    pub const ALL: [Self; 3] = [Self::Keypress9, Self::CallResultDnc, Self::DncCreated];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keypress9 => "keypress_9",
            Self::CallResultDnc => "call_result_dnc",
            Self::DncCreated => "dnc_created",
        }
    }

    /// The type of the event that carries a signal of this reason.
    pub fn event_type(self) -> DncEventType {
        match self {
            Self::Keypress9 => DncEventType::CallKeyPressed,
            Self::CallResultDnc => DncEventType::CallEnded,
            Self::DncCreated => DncEventType::DncCreated,
        }
    }
}

/// The event types that carry a DNC signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DncEventType {
    #[serde(rename = "lead.call_key_pressed")]
    CallKeyPressed,
    #[serde(rename = "lead.call_ended")]
    CallEnded,
    #[serde(rename = "dnc.created")]
    DncCreated,
}

/// The sender's event a DNC signal comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DncSource {
    pub event_type: DncEventType,
    #[schemars(extend("format" = "date-time"))]
    pub event_time: String,
    #[schemars(pattern(EVENT_ID_PATTERN))]
    pub event_id: String,
}

/// The exact signed request a DNC signal arrived in: anyone holding the webhook secret can
/// verify it years later (README, "The DNC register").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// When the webhook received it (RFC 3339, UTC).
    #[schemars(extend("format" = "date-time"))]
    pub received_at: String,
    /// The aktify-signature header as received: `t=<ms>,v2=<hex>` (or `v1=<hex>` for legacy
    /// webhooks).
    pub signature_header: String,
    /// The raw request body.
    pub body: String,
}

/// A phone number must not be called again: key 9, a call that ended with callResult dnc,
/// or the platform's dnc.created (v2 or legacy v1). At most one per phone number, ever,
/// company-wide, for the phone's first DNC signal; it carries the earliest signal known
/// when it was sent, with the signed request that carried it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "dnc.requested", extend("$id" = "dnc.requested.schema.json"))]
pub struct DncRequested {
    pub schema_version: SchemaVersion,
    #[serde(rename = "type")]
    pub message_type: DncType,
    /// Idempotency key: one per phone number, ever (see `ids::dnc_request_id`).
    #[schemars(pattern(ids::DNC_REQUEST_ID_PATTERN))]
    pub id: String,
    /// Where the signal came from; null for a legacy (v1) dnc.created, which names no
    /// campaign. A DNC applies to every campaign.
    #[schemars(required, length(min = 1), extend("type" = ["string", "null"]))]
    pub campaign_id: Option<String>,
    #[schemars(pattern(PHONE_PATTERN))]
    pub phone: String,
    #[schemars(required, length(min = 1), extend("type" = ["string", "null"]))]
    pub external_lead_id: Option<String>,
    pub reason: DncReason,
    /// When the number was put on the list: the signal's eventTime, or its dncTimestamp
    /// for dnc.created.
    #[schemars(extend("format" = "date-time"))]
    pub requested_at: String,
    pub source: DncSource,
    pub evidence: Evidence,
}

/// An authentic webhook body that could not be parsed, broke a field rule or could never
/// be stored, or something the relay could never send (reason `relay: ...`), kept on the
/// quarantine queue for replay (`call-events-replay`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "quarantine record", extend("$id" = "quarantine.schema.json"))]
pub struct QuarantineRecord {
    /// When it was received (RFC 3339, UTC).
    #[schemars(extend("format" = "date-time"))]
    pub received_at: String,
    /// The field and the rule it broke, e.g. `data.phone: must be an E.164 number ...`.
    #[schemars(length(min = 1))]
    pub reason: String,
    /// The raw request body as received (bytes that are not UTF-8 replaced by U+FFFD).
    pub body: String,
    /// The aktify-signature header of the request, when it was one: a replayed DNC signal
    /// keeps it as its evidence. Absent in records of the first release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_header: Option<String>,
}

impl QuarantineRecord {
    pub fn new(received_at: impl Into<String>, reason: impl Into<String>, body: &[u8]) -> Self {
        Self {
            received_at: received_at.into(),
            reason: reason.into(),
            body: String::from_utf8_lossy(body).into_owned(),
            signature_header: None,
        }
    }

    /// The record of a webhook request, with the header it was signed with.
    pub fn signed(mut self, signature_header: Option<&str>) -> Self {
        self.signature_header = signature_header.map(str::to_owned);
        self
    }
}

/// A message from the callback or DNC queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    Callback(CallbackScheduled),
    Dnc(DncRequested),
}

/// Why a body is not a message this crate knows.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not JSON, or a known type with a field missing or wrong.
    #[error("not a valid message: {0}")]
    Invalid(#[source] serde_json::Error),
    /// A `type` this reader does not know.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
}

impl Message {
    /// Reads a queue message's body, by its `type`.
    pub fn from_json(body: &str) -> Result<Self, ParseError> {
        #[derive(Deserialize)]
        struct Tag<'a> {
            #[serde(rename = "type", borrow)]
            message_type: Cow<'a, str>,
        }
        let tag: Tag = serde_json::from_str(body).map_err(ParseError::Invalid)?;
        match &*tag.message_type {
            CALLBACK_TYPE => serde_json::from_str(body)
                .map(Self::Callback)
                .map_err(ParseError::Invalid),
            DNC_TYPE => serde_json::from_str(body)
                .map(Self::Dnc)
                .map_err(ParseError::Invalid),
            other => Err(ParseError::UnknownType(other.to_owned())),
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Self::Callback(m) => &m.id,
            Self::Dnc(m) => &m.id,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Callback(_) => CALLBACK_TYPE,
            Self::Dnc(_) => DNC_TYPE,
        }
    }
}

/// Serializes a message body. These types hold only strings, enums and options, so JSON
/// serialization cannot fail; the fallback is unreachable.
pub fn to_json<T: Serialize>(message: &T) -> String {
    serde_json::to_string(message).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLBACK: &str = r#"{"schemaVersion":1,"type":"callback.scheduled","id":"callback-0123456789abcdef0123456789abcdef","campaignId":"c1","phone":"+12025550100","externalLeadId":null,"scheduledTime":"2024-01-28T14:00:00.000Z","source":{"eventType":"lead.call_scheduled","eventTime":"2024-01-28T12:00:00.000Z","eventId":"evt_0123456789abcdef0123456789abcdef"}}"#;

    #[test]
    fn a_callback_reads_and_writes_back_the_same_bytes() {
        let Ok(Message::Callback(callback)) = Message::from_json(CALLBACK) else {
            panic!("not read as a callback");
        };
        assert_eq!(callback.external_lead_id, None);
        assert_eq!(to_json(&callback), CALLBACK);
    }

    #[test]
    fn a_field_added_within_version_1_is_ignored() {
        let body = CALLBACK.replacen('{', r#"{"priority":"high","#, 1);
        assert!(matches!(
            Message::from_json(&body),
            Ok(Message::Callback(_))
        ));
    }

    #[test]
    fn another_schema_version_is_refused() {
        let body = CALLBACK.replace(r#""schemaVersion":1"#, r#""schemaVersion":2"#);
        let error = Message::from_json(&body).unwrap_err().to_string();
        assert!(error.contains("schemaVersion 2"), "{error}");
    }

    #[test]
    fn an_unknown_type_or_a_broken_body_is_an_error_not_a_panic() {
        let body = CALLBACK.replace("callback.scheduled", "lead.deleted");
        assert!(
            matches!(Message::from_json(&body), Err(ParseError::UnknownType(t)) if t == "lead.deleted")
        );
        for broken in [
            "",
            "null",
            "[]",
            r#"{"type":1}"#,
            r#"{"type":"dnc.requested"}"#,
        ] {
            assert!(
                matches!(Message::from_json(broken), Err(ParseError::Invalid(_))),
                "{broken}"
            );
        }
    }

    #[test]
    fn the_type_constants_are_what_the_types_write() {
        assert_eq!(
            to_json(&CallbackType::CallbackScheduled),
            format!("\"{CALLBACK_TYPE}\"")
        );
        assert_eq!(to_json(&DncType::DncRequested), format!("\"{DNC_TYPE}\""));
    }

    #[test]
    fn reasons_name_the_event_type_that_carries_them() {
        let names: Vec<String> = DncReason::ALL
            .iter()
            .map(|r| to_json(&r.event_type()))
            .collect();
        assert_eq!(
            names,
            [
                r#""lead.call_key_pressed""#,
                r#""lead.call_ended""#,
                r#""dnc.created""#
            ]
        );
        for reason in DncReason::ALL {
            assert_eq!(to_json(&reason), format!("\"{}\"", reason.as_str()));
        }
    }
}
